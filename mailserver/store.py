"""The mail store: accounts, folders and messages of every sandbox, and the actions that
change them. Every door (SMTP, webmail, IMAP, CLI) changes mail only through these actions,
dispatched by ``sandbox.kernel.actions.Dispatcher``; reads go through ``MailView``, the one place
that scopes queries to a sandbox and an account.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sandbox.kernel.actions import ActionContext, action, id_kinds
from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import NotFound

from . import mime
from .addresses import domain_of, normalize_address
from .errors import MailError
from .models import MailAccount, Mailbox, MailDomain, MailItem, MailOpen, MessageData, Submission

# (name, special-use) of the folders every account starts with, in display order.
DEFAULT_FOLDERS = [("INBOX", None), ("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Junk", "\\Junk"), ("Trash", "\\Trash")]
FOLDER_LABELS_VI = {"INBOX": "Hộp thư đến", "\\Drafts": "Thư nháp", "\\Sent": "Thư đã gửi",
                    "\\Junk": "Thư rác", "\\Trash": "Thùng rác"}
SYSTEM_FLAGS = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"}
#: the id kinds of the mail rows that actions name
id_kinds({"account": "mail_accounts", "mailbox": "mailboxes", "item": "mail_items", "open": "mail_opens",
          "submission": "mail_submissions"})


def folder_label(box: Mailbox) -> str:
    """The Vietnamese name shown for a folder (special folders are named by role)."""
    if box.name == "INBOX":
        return FOLDER_LABELS_VI["INBOX"]
    return FOLDER_LABELS_VI.get(box.special_use or "", box.name)


def _flags_set(text: str) -> set[str]:
    return set(text.split()) if text else set()


def _flags_text(flags: set[str]) -> str:
    return " ".join(sorted(flags))


def _clean_flags(flags) -> set[str]:
    out = set()
    for f in flags or []:
        if not isinstance(f, str) or not f or any(c in f for c in ' ()"{%*]') or any(ord(c) < 33 or ord(c) > 126 for c in f):
            raise MailError(f"Cờ thư không hợp lệ: {f!r}.", f"bad flag {f!r}", code=501)
        canon = next((s for s in SYSTEM_FLAGS if s.lower() == f.lower()), f)
        if canon.startswith("\\") and canon not in SYSTEM_FLAGS:
            raise MailError(f"Cờ thư không hợp lệ: {f}.", f"unknown system flag {f!r}", code=501)
        out.add(canon)
    return out


# --- reading -----------------------------------------------------------------------------

def _loose_address(value: str) -> str:
    """An address from a header as written, normalised when it is well-formed."""
    try:
        return normalize_address(value)
    except MailError:
        return unicodedata.normalize("NFC", value.strip()).lower()


@dataclass(frozen=True)
class SentAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SentMail:
    """One message an account handed to the mail system (SMTP or webmail), as the grader
    reads it: the addresses of the headers and of the envelope, what bounced, the text,
    and the attachments by content hash."""

    submission_id: int
    at: datetime
    via: str
    message_id: str
    subject: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]          # envelope recipients named in neither To nor Cc
    delivered: tuple[str, ...]
    bounced: tuple[str, ...]
    text: str
    attachments: tuple[SentAttachment, ...]
    in_reply_to: str
    references: str

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.to + self.cc + self.bcc))


@dataclass
class FolderInfo:
    box: Mailbox
    label: str
    total: int
    unread: int


class MailView:
    """Read access to one account's mail, and nothing else: every query here filters by the
    sandbox and the account, so no id taken from a URL or a command can reach another world."""

    def __init__(self, session: Session, sandbox_id: int, account_id: int):
        self.session = session
        self.sandbox_id = sandbox_id
        self.account_id = account_id

    @property
    def account(self) -> MailAccount:
        acc = self.session.get(MailAccount, self.account_id)
        if acc is None or acc.sandbox_id != self.sandbox_id:
            raise NotFound("Không tìm thấy tài khoản thư.", f"account {self.account_id}")
        return acc

    def folders(self) -> list[FolderInfo]:
        boxes = self.session.scalars(
            select(Mailbox).where(Mailbox.sandbox_id == self.sandbox_id, Mailbox.account_id == self.account_id)
        ).all()
        counts = dict(
            (row[0], (row[1], row[2] or 0))
            for row in self.session.execute(
                select(MailItem.mailbox_id, func.count(),
                       func.sum(case((MailItem.flags.contains("\\Seen", autoescape=True), 0), else_=1)))
                .where(MailItem.sandbox_id == self.sandbox_id, MailItem.mailbox_id.in_([b.id for b in boxes]))
                .group_by(MailItem.mailbox_id)
            )
        ) if boxes else {}
        order = {name: i for i, (name, _) in enumerate(DEFAULT_FOLDERS)}
        boxes = sorted(boxes, key=lambda b: (order.get(b.name, len(order)), b.name.casefold()))
        return [FolderInfo(b, folder_label(b), *counts.get(b.id, (0, 0))) for b in boxes]

    def mailbox(self, mailbox_id: int) -> Mailbox:
        box = self.session.get(Mailbox, mailbox_id)
        if box is None or box.sandbox_id != self.sandbox_id or box.account_id != self.account_id:
            raise NotFound("Không tìm thấy thư mục.", f"mailbox {mailbox_id} not in account {self.account_id}")
        return box

    def mailbox_by_name(self, name: str) -> Mailbox | None:
        if name.upper() == "INBOX":
            name = "INBOX"
        return self.session.scalar(select(Mailbox).where(
            Mailbox.sandbox_id == self.sandbox_id, Mailbox.account_id == self.account_id, Mailbox.name == name))

    def special(self, use: str | None) -> Mailbox:
        """The folder with a special use (``"\\Sent"``...), or INBOX for ``None``."""
        cond = Mailbox.name == "INBOX" if use is None else Mailbox.special_use == use
        box = self.session.scalar(select(Mailbox).where(
            Mailbox.sandbox_id == self.sandbox_id, Mailbox.account_id == self.account_id, cond))
        if box is None:
            raise NotFound("Không tìm thấy thư mục.", f"no folder {use or 'INBOX'}")
        return box

    def items(self, box: Mailbox, *, query: str = "", offset: int = 0, limit: int = 50) -> tuple[list[tuple[MailItem, MessageData]], int]:
        """A page of a folder, newest first, optionally filtered by a Vietnamese
        case-insensitive search over subject, people and text."""
        conds = [MailItem.sandbox_id == self.sandbox_id, MailItem.mailbox_id == box.id]
        folded = mime.search_fold(query.strip()) if query else ""
        if folded:
            pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(MessageData.search_text.like(pattern, escape="\\"))
        base = select(MailItem, MessageData).join(MessageData, MessageData.id == MailItem.data_id).where(*conds)
        total = self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = self.session.execute(base.order_by(MailItem.uid.desc()).offset(offset).limit(limit)).all()
        return [(r[0], r[1]) for r in rows], total

    def item(self, item_id: int) -> tuple[MailItem, MessageData, Mailbox]:
        it = self.session.get(MailItem, item_id)
        if it is None or it.sandbox_id != self.sandbox_id:
            raise NotFound("Không tìm thấy thư.", f"item {item_id}")
        box = self.mailbox(it.mailbox_id)  # raises if the folder is another account's
        return it, self.session.get(MessageData, it.data_id), box

    def raw(self, data: MessageData, blobs) -> bytes:
        if data.sandbox_id != self.sandbox_id:
            raise NotFound("Không tìm thấy thư.", f"data {data.id}")
        return blobs.get(data.blob)

    def sent(self, blobs) -> list[SentMail]:
        """Every message this account submitted, oldest first (the grader's source of truth
        for what a person sent, whatever their client did with its Sent folder)."""
        rows = self.session.execute(
            select(Submission, MessageData).join(MessageData, MessageData.id == Submission.data_id)
            .where(Submission.sandbox_id == self.sandbox_id, Submission.account_id == self.account_id)
            .order_by(Submission.at, Submission.id)).all()
        out = []
        for sub, data in rows:
            raw = blobs.get(data.blob)
            hdrs = mime.decoded_headers(raw)
            body = mime.body_parts(raw, data.structure)
            to = tuple(dict.fromkeys(_loose_address(a) for _, a in hdrs["to"] if "@" in a))
            cc = tuple(dict.fromkeys(_loose_address(a) for _, a in hdrs["cc"] if "@" in a))
            env = [r["address"] for r in sub.recipients]
            atts = []
            for a in body["attachments"]:
                payload = mime.part_payload(raw, data.structure, a["part"])
                atts.append(SentAttachment(unicodedata.normalize("NFC", a["filename"]), a["content_type"],
                                           len(payload), hashlib.sha256(payload).hexdigest()))
            out.append(SentMail(
                sub.id, as_utc(sub.at), sub.via, (hdrs["message_id"] or "").strip(),
                unicodedata.normalize("NFC", hdrs["subject"] or ""), to, cc,
                tuple(a for a in env if a not in to and a not in cc),
                tuple(r["address"] for r in sub.recipients if r.get("status") != "bounced"),
                tuple(r["address"] for r in sub.recipients if r.get("status") == "bounced"),
                body["text"] or "", tuple(atts), hdrs["in_reply_to"] or "", hdrs["references"] or ""))
        return out

    def opens(self) -> list[MailOpen]:
        """Links clicked and attachments downloaded in the webmail, oldest first."""
        return list(self.session.scalars(select(MailOpen).where(
            MailOpen.sandbox_id == self.sandbox_id, MailOpen.account_id == self.account_id)
            .order_by(MailOpen.at, MailOpen.id)))

    def directory(self, prefix: str = "", limit: int = 20) -> list[tuple[str, str]]:
        """People of this world (for address autocomplete), by name or address prefix."""
        q = select(MailAccount.display_name, MailAccount.address).where(MailAccount.sandbox_id == self.sandbox_id)
        rows = self.session.execute(q.order_by(MailAccount.address)).all()
        p = mime.search_fold(prefix.strip())
        out = [(n, a) for n, a in rows if not p or p in mime.search_fold(n) or p in a]
        return out[:limit]


def account_in_sandbox(session: Session, sandbox_id: int, address: str) -> MailAccount | None:
    return session.scalar(select(MailAccount).where(MailAccount.sandbox_id == sandbox_id, MailAccount.address == address))


def inboxes_of(session: Session, sandbox_id: int, addresses: list[str]) -> dict[str, Mailbox]:
    """The INBOX of each address that has an account in this sandbox, in one query."""
    rows = session.execute(
        select(MailAccount.address, Mailbox).join(Mailbox, Mailbox.account_id == MailAccount.id)
        .where(MailAccount.sandbox_id == sandbox_id, MailAccount.address.in_(addresses), Mailbox.name == "INBOX")
    ).all()
    return {address: box for address, box in rows}


def world_domains(session: Session, sandbox_id: int) -> set[str]:
    return set(session.scalars(select(MailDomain.domain).where(MailDomain.sandbox_id == sandbox_id)))


# --- writing: helpers used inside actions -------------------------------------------------

def _account(ctx: ActionContext, account_id: int) -> MailAccount:
    acc = ctx.session.get(MailAccount, account_id)
    if acc is None or acc.sandbox_id != ctx.sandbox.id:
        raise NotFound("Không tìm thấy tài khoản thư.", f"account {account_id} not in sandbox {ctx.sandbox.id}")
    return acc


def _view(ctx: ActionContext, account_id: int) -> MailView:
    _account(ctx, account_id)
    return MailView(ctx.session, ctx.sandbox.id, account_id)


def _uidvalidity(ctx: ActionContext, account_id: int, name: str) -> int:
    # Deterministic (replay gives the same value: no database ids in it), positive 32-bit,
    # changes when a folder is deleted and made again (the log sequence differs).
    address = ctx.session.get(MailAccount, account_id).address
    h = hashlib.sha256(f"{address}/{name}/{ctx.sandbox.log_seq}/{ctx.now.isoformat()}".encode()).digest()
    return int.from_bytes(h[:4], "big") % 2_000_000_000 + 1


def _notify(ctx: ActionContext, box: Mailbox) -> None:
    notify = ctx.services.get("mail_notify")
    if notify is not None:
        ctx.after_commit(lambda mid=box.id: notify(mid))


def store_message(ctx: ActionContext, raw: bytes) -> MessageData:
    """Parse a message once and keep its bytes and structure (no folder yet)."""
    structure = mime.parse_structure(raw)
    headers = mime.decoded_headers(raw)
    parts = mime.body_parts(raw, structure)
    first_from = (headers.get("from") or [("", "")])[0]
    text = parts.get("text") or ""
    data = MessageData(
        sandbox_id=ctx.sandbox.id, blob=ctx.blobs.put(raw), size=len(raw), vsize=structure["vsize"], structure=structure,
        subject=(headers.get("subject") or "")[:2000],
        from_name=(first_from[0] or "")[:300], from_address=(first_from[1] or "")[:320],
        to_text=", ".join(f"{n} <{a}>" if n else a for n, a in headers.get("to") or [])[:4000],
        cc_text=", ".join(f"{n} <{a}>" if n else a for n, a in headers.get("cc") or [])[:4000],
        date=as_utc(headers["date"]) if headers.get("date") else None, message_id=(headers.get("message_id") or "")[:998],
        has_attachments=any(not a.get("inline") for a in parts.get("attachments", [])),
        search_text=mime.searchable_text(raw, structure),
        preview=" ".join(text.split())[:200],
    )
    ctx.session.add(data)
    ctx.session.flush()
    return data


def append_item(ctx: ActionContext, box: Mailbox, data: MessageData, flags: set[str], internal_date: datetime | None = None) -> MailItem:
    """Put a stored message in a folder under the folder's next UID."""
    box.modseq += 1
    item = MailItem(sandbox_id=ctx.sandbox.id, mailbox_id=box.id, uid=box.uidnext, data_id=data.id,
                    flags=_flags_text(flags), internal_date=internal_date or ctx.now, modseq=box.modseq)
    box.uidnext += 1
    ctx.session.add(item)
    ctx.session.flush()
    _notify(ctx, box)
    return item


def _remove_items(ctx: ActionContext, items: list[MailItem]) -> None:
    boxes = {}
    for it in items:
        boxes.setdefault(it.mailbox_id, ctx.session.get(Mailbox, it.mailbox_id))
        ctx.session.delete(it)
    for box in boxes.values():
        box.modseq += 1
        _notify(ctx, box)
    ctx.session.flush()


def _items(ctx: ActionContext, view: MailView, item_ids: list[int]) -> list[MailItem]:
    if not item_ids:
        raise MailError("Chưa chọn thư nào.", "empty item list", code=501)
    return [view.item(int(i))[0] for i in item_ids]


# --- actions ------------------------------------------------------------------------------

@action("mail.create_account", ids={}, result_ids={"account_id": "account", "mailbox_ids[]": "mailbox"})
def create_account(ctx: ActionContext, *, address: str, display_name: str = "", password_hash: str | None = None,
                   password_tag: str | None = None) -> dict:
    address = normalize_address(address)
    if account_in_sandbox(ctx.session, ctx.sandbox.id, address):
        raise MailError(f"Tài khoản {address} đã có trong sandbox này.", f"duplicate {address}", code=550)
    domain = domain_of(address)
    if domain not in world_domains(ctx.session, ctx.sandbox.id):
        ctx.session.add(MailDomain(sandbox_id=ctx.sandbox.id, domain=domain))
    acc = MailAccount(sandbox_id=ctx.sandbox.id, address=address,
                      display_name=unicodedata.normalize("NFC", display_name or ""),
                      password_hash=password_hash, password_tag=password_tag, created_at=ctx.now)
    ctx.session.add(acc)
    ctx.session.flush()
    boxes = [Mailbox(sandbox_id=ctx.sandbox.id, account_id=acc.id, name=name, special_use=use,
                     uidvalidity=_uidvalidity(ctx, acc.id, name), uidnext=1, modseq=1, subscribed=True)
             for name, use in DEFAULT_FOLDERS]
    ctx.session.add_all(boxes)
    ctx.session.flush()
    # the folders' ids, in DEFAULT_FOLDERS order: a replay maps later references to them
    return {"account_id": acc.id, "address": address, "mailbox_ids": [b.id for b in boxes]}


@action("mail.set_password", ids={"account_id": "account"}, result_ids={"account_id": "account"})
def set_password(ctx: ActionContext, *, account_id: int, password_hash: str, password_tag: str) -> dict:
    acc = _account(ctx, account_id)
    acc.password_hash, acc.password_tag = password_hash, password_tag
    return {"account_id": acc.id}


@action("mail.add_domain", ids={}, result_ids={})
def add_domain(ctx: ActionContext, *, domain: str) -> dict:
    domain = domain.strip().lower()
    if domain not in world_domains(ctx.session, ctx.sandbox.id):
        ctx.session.add(MailDomain(sandbox_id=ctx.sandbox.id, domain=domain))
    return {"domain": domain}


@action("mail.append", ids={"account_id": "account", "mailbox_id": "mailbox"}, result_ids={"item_id": "item"})
def append(ctx: ActionContext, *, account_id: int, mailbox_id: int, raw: str, flags: list[str] | None = None,
           internal_date: str | None = None) -> dict:
    """Put a message into one of the account's folders (IMAP APPEND, seeding)."""
    view = _view(ctx, account_id)
    box = view.mailbox(mailbox_id)
    data = store_message(ctx, ctx.blobs.get(raw))
    when = as_utc(datetime.fromisoformat(internal_date)) if internal_date else None
    item = append_item(ctx, box, data, _clean_flags(flags), when)
    return {"item_id": item.id, "uid": item.uid, "uidvalidity": box.uidvalidity}


@action("mail.opened", ids={"account_id": "account", "item_id": "item"}, result_ids={"open_id": "open"})
def opened(ctx: ActionContext, *, account_id: int, item_id: int, kind: str, target: str) -> dict:
    """Record that the person clicked a link of a message or downloaded one of its files."""
    if kind not in ("link", "attachment"):
        raise MailError("Thao tác không hợp lệ.", f"bad open kind {kind!r}")
    view = _view(ctx, account_id)
    _item, data, _box = view.item(item_id)
    row = MailOpen(sandbox_id=ctx.sandbox.id, account_id=account_id, message_id=data.message_id or "",
                   subject=data.subject or "", kind=kind, target=unicodedata.normalize("NFC", target)[:2000],
                   at=ctx.now)
    ctx.session.add(row)
    ctx.session.flush()
    return {"open_id": row.id}


@action("mail.save_draft", ids={"account_id": "account", "replaces": "item"}, result_ids={"item_id": "item"})
def save_draft(ctx: ActionContext, *, account_id: int, raw: str, replaces: int | None = None) -> dict:
    view = _view(ctx, account_id)
    drafts = view.special("\\Drafts")
    if replaces:
        old = view.item(int(replaces))[0]
        if old.mailbox_id == drafts.id:
            _remove_items(ctx, [old])
    data = store_message(ctx, ctx.blobs.get(raw))
    item = append_item(ctx, drafts, data, {"\\Draft", "\\Seen"})
    return {"item_id": item.id, "uid": item.uid}


@action("mail.set_flags",
        ids={"account_id": "account", "item_ids[]": "item"},
        result_ids={"changed[]": "item", "flags{}": "item"})
def set_flags(ctx: ActionContext, *, account_id: int, item_ids: list[int], add: list[str] | None = None,
              remove: list[str] | None = None, replace: list[str] | None = None) -> dict:
    view = _view(ctx, account_id)
    add_s, remove_s = _clean_flags(add), _clean_flags(remove)
    replace_s = _clean_flags(replace) if replace is not None else None
    changed, flags = [], {}
    for it in _items(ctx, view, item_ids):
        before = _flags_set(it.flags)
        after = set(replace_s) if replace_s is not None else (before | add_s) - remove_s
        if after != before:
            box = ctx.session.get(Mailbox, it.mailbox_id)
            box.modseq += 1
            it.flags, it.modseq = _flags_text(after), box.modseq
            _notify(ctx, box)
            changed.append(it.id)
        flags[str(it.id)] = it.flags
    return {"changed": changed, "flags": flags}


def _move_or_copy(ctx: ActionContext, account_id: int, item_ids: list[int], target_id: int, remove: bool) -> dict:
    view = _view(ctx, account_id)
    target = view.mailbox(target_id)
    items = _items(ctx, view, item_ids)
    mapping = []
    for it in items:
        if remove and it.mailbox_id == target.id:
            continue
        flags = _flags_set(it.flags) - ({"\\Deleted"} if remove else set())
        new = append_item(ctx, target, ctx.session.get(MessageData, it.data_id), flags, as_utc(it.internal_date))
        mapping.append([it.uid, new.uid, new.id])
    if remove:
        _remove_items(ctx, [it for it in items if it.mailbox_id != target.id])
    return {"uidvalidity": target.uidvalidity, "mapping": mapping}


@action("mail.move",
        ids={"account_id": "account", "item_ids[]": "item", "target_mailbox_id": "mailbox"},
        result_ids={"mapping[][2]": "item"})
def move(ctx: ActionContext, *, account_id: int, item_ids: list[int], target_mailbox_id: int) -> dict:
    return _move_or_copy(ctx, account_id, item_ids, target_mailbox_id, remove=True)


@action("mail.copy",
        ids={"account_id": "account", "item_ids[]": "item", "target_mailbox_id": "mailbox"},
        result_ids={"mapping[][2]": "item"})
def copy(ctx: ActionContext, *, account_id: int, item_ids: list[int], target_mailbox_id: int) -> dict:
    return _move_or_copy(ctx, account_id, item_ids, target_mailbox_id, remove=False)


@action("mail.delete", ids={"account_id": "account", "item_ids[]": "item"}, result_ids={})
def delete(ctx: ActionContext, *, account_id: int, item_ids: list[int]) -> dict:
    """Webmail delete: to Trash; from Trash, gone for good."""
    view = _view(ctx, account_id)
    trash = view.special("\\Trash")
    items = _items(ctx, view, item_ids)
    in_trash = [it for it in items if it.mailbox_id == trash.id]
    others = [it.id for it in items if it.mailbox_id != trash.id]
    result = {"trashed": 0, "expunged": len(in_trash)}
    if others:
        result["trashed"] = len(_move_or_copy(ctx, account_id, others, trash.id, remove=True)["mapping"])
    if in_trash:
        _remove_items(ctx, in_trash)
    return result


@action("mail.expunge", ids={"account_id": "account", "mailbox_id": "mailbox"}, result_ids={}, not_ids=("uids",))
def expunge(ctx: ActionContext, *, account_id: int, mailbox_id: int, uids: list[int] | None = None) -> dict:
    """Remove the folder's messages flagged \\Deleted (only those UIDs if given)."""
    view = _view(ctx, account_id)
    box = view.mailbox(mailbox_id)
    q = select(MailItem).where(MailItem.sandbox_id == ctx.sandbox.id, MailItem.mailbox_id == box.id,
                               MailItem.flags.contains("\\Deleted", autoescape=True))
    items = [it for it in ctx.session.scalars(q.order_by(MailItem.uid)) if "\\Deleted" in _flags_set(it.flags)]
    if uids is not None:
        wanted = set(uids)
        items = [it for it in items if it.uid in wanted]
    removed = [it.uid for it in items]
    if items:
        _remove_items(ctx, items)
    return {"expunged": removed}


def _children_pattern(name: str) -> str:
    """A LIKE pattern (escape character backslash) for the folders under ``name``."""
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def _check_folder_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or len(name) > 200 or any(c in name for c in "\r\n\x00*%") or name.startswith("/") or name.endswith("/") or "//" in name:
        raise MailError("Tên thư mục không hợp lệ.", f"bad folder name {name!r}", code=501)
    return name


@action("mail.create_folder", ids={"account_id": "account"}, result_ids={"mailbox_id": "mailbox"})
def create_folder(ctx: ActionContext, *, account_id: int, name: str, subscribed: bool = True) -> dict:
    view = _view(ctx, account_id)
    name = _check_folder_name(name)
    if name.upper() == "INBOX" or view.mailbox_by_name(name):
        raise MailError(f"Thư mục «{name}» đã có.", f"folder {name!r} exists", code=550)
    box = Mailbox(sandbox_id=ctx.sandbox.id, account_id=account_id, name=name, special_use=None,
                  uidvalidity=_uidvalidity(ctx, account_id, name), uidnext=1, modseq=1, subscribed=bool(subscribed))
    ctx.session.add(box)
    ctx.session.flush()
    return {"mailbox_id": box.id, "name": name}


@action("mail.rename_folder", ids={"account_id": "account", "mailbox_id": "mailbox"}, result_ids={"mailbox_id": "mailbox"})
def rename_folder(ctx: ActionContext, *, account_id: int, mailbox_id: int, new_name: str) -> dict:
    view = _view(ctx, account_id)
    box = view.mailbox(mailbox_id)
    new_name = _check_folder_name(new_name)
    if box.name == "INBOX" or box.special_use:
        raise MailError("Không thể đổi tên thư mục hệ thống.", f"rename of {box.name!r}", code=550)
    if new_name.upper() == "INBOX" or view.mailbox_by_name(new_name):
        raise MailError(f"Thư mục «{new_name}» đã có.", f"folder {new_name!r} exists", code=550)
    old = box.name
    children = ctx.session.scalars(select(Mailbox).where(Mailbox.sandbox_id == ctx.sandbox.id, Mailbox.account_id == account_id,
                                                         Mailbox.name.like(_children_pattern(old), escape="\\"))).all()
    box.name = new_name
    for child in children:
        child.name = new_name + child.name[len(old):]
    return {"mailbox_id": box.id, "name": new_name}


@action("mail.delete_folder", ids={"account_id": "account", "mailbox_id": "mailbox"}, result_ids={})
def delete_folder(ctx: ActionContext, *, account_id: int, mailbox_id: int) -> dict:
    view = _view(ctx, account_id)
    box = view.mailbox(mailbox_id)
    if box.name == "INBOX" or box.special_use:
        raise MailError("Không thể xoá thư mục hệ thống.", f"delete of {box.name!r}", code=550)
    if ctx.session.scalar(select(func.count()).select_from(Mailbox).where(
            Mailbox.sandbox_id == ctx.sandbox.id, Mailbox.account_id == account_id,
            Mailbox.name.like(_children_pattern(box.name), escape="\\"))):
        raise MailError(f"Thư mục «{box.name}» còn thư mục con; hãy xoá thư mục con trước.",
                        f"{box.name!r} has children", code=550)
    ctx.session.execute(MailItem.__table__.delete().where(MailItem.mailbox_id == box.id))
    ctx.session.delete(box)
    return {"deleted": box.name}


@action("mail.subscribe", ids={"account_id": "account", "mailbox_id": "mailbox"}, result_ids={"mailbox_id": "mailbox"})
def subscribe(ctx: ActionContext, *, account_id: int, mailbox_id: int, subscribed: bool = True) -> dict:
    box = _view(ctx, account_id).mailbox(mailbox_id)
    box.subscribed = bool(subscribed)
    return {"mailbox_id": box.id, "subscribed": box.subscribed}



from . import state_digest as _state_digest  # noqa: E402,F401  (registers the mail part of the state digest)
