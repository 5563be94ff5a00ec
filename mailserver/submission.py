"""Submission: one path for a message handed over for sending, from SMTP and from the webmail.

The ``mail.submit`` action delivers to every recipient's INBOX inside the sandbox, files a
copy in the sender's Sent folder when the door asks for it (the webmail does; SMTP clients
file their own copy over IMAP, as with any real server), answers unknown recipients of the
world's domains with a delivery status notification in the sender's INBOX, and records a
``Submission``: the grader's evidence of what was sent, whatever the client's folders say.
"""
from __future__ import annotations

import hashlib
import base64
from email.header import Header
from email.utils import format_datetime, formataddr

from sandbox.kernel.actions import ActionContext, action
from sandbox.kernel.clock import VN_TZ

from . import mime
from .addresses import domain_of, normalize_address
from .errors import MailError
from .models import Submission
from .store import MailView, _account, _remove_items, append_item, inboxes_of, store_message, world_domains

MAX_RECIPIENTS = 100


def _header_end(raw: bytes) -> int:
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return i + len(sep) // 2
    return len(raw)


def _has_header(raw: bytes, name: bytes) -> bool:
    head = raw[:_header_end(raw)]
    lname = name.lower() + b":"
    return any(line.lower().startswith(lname) for line in head.splitlines())


def complete_headers(raw: bytes, ctx: ActionContext, sender: str) -> bytes:
    """Add Date and Message-ID when the client left them out, as a submission server does
    (RFC 6409 §8). Ids are derived from the sender, the log position, the time and the
    content, so a replay makes the same ones."""
    extra = b""
    if not _has_header(raw, b"Date"):
        extra += b"Date: " + format_datetime(ctx.now.astimezone(VN_TZ)).encode() + b"\r\n"
    if not _has_header(raw, b"Message-ID"):
        # no database id in it, so a replay makes the same id (DESIGN.md §3)
        token = hashlib.sha256(f"{sender}:{ctx.sandbox.log_seq}:{ctx.now.isoformat()}:".encode()
                               + hashlib.sha256(raw).digest()).hexdigest()[:24]
        extra += f"Message-ID: <{token}@{domain_of(sender)}>\r\n".encode()
    return extra + raw if extra else raw


def trace_header(ctx: ActionContext, sender: str, via: str, client: str | None) -> bytes:
    host = "mail." + domain_of(sender)
    when = format_datetime(ctx.now.astimezone(VN_TZ))
    src = {"smtp": f"from {client or 'client'} ({client or 'unknown'})", "webmail": "from webmail (127.0.0.1)"}.get(via, f"from {via}")
    proto = "ESMTPSA" if via == "smtp" else "HTTP"
    return (f"Return-Path: <{sender}>\r\nReceived: {src}\r\n\tby {host} (Sandbox) with {proto}\r\n"
            f"\tid {ctx.sandbox.log_seq + 1:08d}; {when}\r\n").encode()


def build_bounce(ctx: ActionContext, sender: str, original: bytes, failed: list[str]) -> bytes:
    """A delivery status notification (RFC 3464), Vietnamese first, English below."""
    domain = domain_of(sender)
    subject = mime.decoded_headers(original).get("subject") or ""
    when = format_datetime(ctx.now.astimezone(VN_TZ))
    # From the log position, the time and the message (never the database id of the sandbox:
    # a replay copy has another one and must make the same bounce).
    seed = f"bounce:{ctx.sandbox.log_seq}:{ctx.now.isoformat()}:{sender}:".encode() + hashlib.sha256(original).digest()
    token = hashlib.sha256(seed).hexdigest()[:24]
    boundary = f"=_dsn_{token[:16]}"
    listing = "\r\n".join(f"    {a}" for a in failed)
    text = ("Thư của bạn KHÔNG được gửi tới các địa chỉ sau vì địa chỉ không tồn tại:\r\n\r\n"
            f"{listing}\r\n\r\nHãy kiểm tra lại địa chỉ (lỗi chính tả, thiếu ký tự) rồi gửi lại.\r\n"
            f"Tiêu đề thư: {subject}\r\n\r\n----- English -----\r\n"
            "Your message could not be delivered to the following addresses: the mailbox does not exist.\r\n\r\n"
            f"{listing}\r\n")
    status = f"Reporting-MTA: dns; mail.{domain}\r\nArrival-Date: {when}\r\n"
    for a in failed:
        status += (f"\r\nFinal-Recipient: rfc822; {a}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                   f"Diagnostic-Code: smtp; 550 5.1.1 <{a}>: Recipient address rejected: User unknown\r\n")
    head = original[:_header_end(original)].rstrip(b"\r\n").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    title = f"Không gửi được thư: {subject}" if subject else "Không gửi được thư"
    out = (
        f"From: {formataddr(('Hệ thống thư điện tử', f'mailer-daemon@{domain}'), charset='utf-8')}\r\n"
        f"To: <{sender}>\r\nSubject: {Header(title, 'utf-8').encode()}\r\nDate: {when}\r\n"
        f"Message-ID: <{token}@{domain}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    out += base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    out += (f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n{status}"
            f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n").encode()
    out += head + f"\r\n\r\n--{boundary}--\r\n".encode()
    return out


@action("mail.submit", ids={"account_id": "account", "replaces_draft": "item"},
        result_ids={"sent_item_id": "item", "bounce_item_id": "item", "submission_id": "submission"})
def submit(ctx: ActionContext, *, account_id: int, raw: str, rcpts: list[str], via: str,
           mail_from: str | None = None, sent_copy: str | None = None, client: str | None = None,
           replaces_draft: int | None = None) -> dict:
    """Send a message from an account of this sandbox.

    :param raw: blob hash of the message as it is delivered (no Bcc header).
    :param rcpts: envelope recipients (To, CC and BCC together).
    :param sent_copy: blob hash of the copy to file in Sent (with Bcc), or None to file none.
    :param replaces_draft: item id of a draft this message came from; it leaves Drafts.
    """
    account = _account(ctx, account_id)
    sender = normalize_address(mail_from or account.address)
    if sender != account.address:
        raise MailError(f"Bạn chỉ được gửi thư từ địa chỉ của mình ({account.address}).",
                        f"sender {sender} is not {account.address}", code=553)
    recipients = []
    for r in rcpts:
        a = normalize_address(r)
        if a not in recipients:
            recipients.append(a)
    if not recipients:
        raise MailError("Thư chưa có người nhận.", "no recipients", code=554)
    if len(recipients) > MAX_RECIPIENTS:
        raise MailError(f"Thư có quá nhiều người nhận (tối đa {MAX_RECIPIENTS}).", "too many recipients", code=452)
    domains = world_domains(ctx.session, ctx.sandbox.id)
    outside = [a for a in recipients if domain_of(a) not in domains]
    if outside:
        raise MailError(f"Không gửi được tới địa chỉ ngoài hệ thống: {', '.join(outside)}.",
                        f"relay denied for {outside}", code=554)

    original = ctx.blobs.get(raw)
    if not original.strip():
        raise MailError("Thư rỗng, không có nội dung.", "empty message", code=554)
    body = complete_headers(original, ctx, sender)
    delivered_raw = trace_header(ctx, sender, via, client) + body
    outcome, bounced = [], []
    data = store_message(ctx, delivered_raw)
    inboxes = inboxes_of(ctx.session, ctx.sandbox.id, recipients)
    for a in recipients:
        box = inboxes.get(a)
        if box is None:
            bounced.append(a)
            outcome.append({"address": a, "status": "bounced", "account_id": None})
            continue
        item = append_item(ctx, box, data, set())
        outcome.append({"address": a, "status": "delivered", "account_id": box.account_id, "item_id": item.id})
    result = {"message_id": data.message_id, "delivered": [o["address"] for o in outcome if o["status"] == "delivered"],
              "bounced": bounced}
    view = MailView(ctx.session, ctx.sandbox.id, account.id)
    if sent_copy is not None:
        copy_raw = complete_headers(ctx.blobs.get(sent_copy), ctx, sender)
        sent = append_item(ctx, view.special("\\Sent"), store_message(ctx, copy_raw), {"\\Seen"})
        result["sent_item_id"] = sent.id
    if replaces_draft:
        old, _, box = view.item(int(replaces_draft))
        if box.special_use == "\\Drafts":
            _remove_items(ctx, [old])
    if bounced:
        dsn = store_message(ctx, build_bounce(ctx, sender, body, bounced))
        result["bounce_item_id"] = append_item(ctx, view.special(None), dsn, set()).id
    sub = Submission(sandbox_id=ctx.sandbox.id, account_id=account.id, data_id=data.id, at=ctx.now, via=via,
                     mail_from=sender, recipients=outcome)
    ctx.session.add(sub)
    ctx.session.flush()
    result["submission_id"] = sub.id
    return result
