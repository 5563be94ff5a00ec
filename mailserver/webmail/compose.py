"""What the compose form holds, how it starts (new, reply, reply all, forward, draft) and
the RFC 5322 message it becomes."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, default

#: Long Vietnamese subjects folded at 78 columns lose the space between two encoded words
#: (a CPython folding bug: "hưởng ứng Ngày" came back as "hưởng ứngNgày"); lines of up to 998
#: characters (RFC 5322) keep every space.
OUTGOING = SMTP.clone(max_line_length=998)
from email.utils import format_datetime, getaddresses, make_msgid

from sandbox.kernel.clock import VN_TZ
from sandbox.kernel.vnformat import date_time

from ..accounts import AccountRef
from ..addresses import domain_of, parse_address_list

REPLY_PREFIX = re.compile(r"^\s*(re|tl|trả lời)\s*:", re.IGNORECASE)
FORWARD_PREFIX = re.compile(r"^\s*(fwd?|tv|chuyển tiếp)\s*:", re.IGNORECASE)
MAX_REFERENCES = 20


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ComposeForm:
    """The fields of the compose page, as typed (addresses are parsed only when sending).

    ``source_id`` is the message whose attachments travel with this one (the forwarded
    message or the draft being edited); ``kept_parts`` are the part numbers still ticked.
    """

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: str = ""
    draft_id: int | None = None
    source_id: int | None = None
    kept_parts: list[str] = field(default_factory=list)
    answered_id: int | None = None

    @classmethod
    def from_request(cls, form) -> "ComposeForm":
        def one_line(name: str) -> str:
            return " ".join(form.get(name, "").split())

        def optional_id(name: str) -> int | None:
            value = form.get(name, "")
            return int(value) if value.isdigit() else None

        return cls(
            to=one_line("to"), cc=one_line("cc"), bcc=one_line("bcc"), subject=one_line("subject"),
            body=form.get("body", "").replace("\r\n", "\n").replace("\r", "\n"),
            in_reply_to=one_line("in_reply_to"), references=one_line("references"),
            draft_id=optional_id("draft_id"), source_id=optional_id("source_id"),
            kept_parts=[p for p in form.getlist("keep") if re.fullmatch(r"\d+(\.\d+)*", p)],
            answered_id=optional_id("answered_id"),
        )

    def recipients(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
        """(To, CC, BCC) as validated (name, address) pairs; raises ``MailError`` naming a bad one."""
        return parse_address_list(self.to), parse_address_list(self.cc), parse_address_list(self.bcc)


def clean_filename(name: str, fallback: str = "tep-dinh-kem") -> str:
    """NFC, no path, no control characters: what a browser sends is not trusted."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    return name[:200] or fallback


def format_addresses(pairs) -> str:
    """(name, address) pairs as a person would type them: ``Tên <a@b>, c@d``."""
    out = []
    for name, address in pairs:
        if not name:
            out.append(address)
        elif any(c in name for c in ',;<>"@()[]:\\'):
            out.append('"{}" <{}>'.format(name.replace("\\", "\\\\").replace('"', '\\"'), address))
        else:
            out.append(f"{name} <{address}>")
    return ", ".join(out)


def reply_subject(subject: str) -> str:
    return subject if REPLY_PREFIX.match(subject or "") else f"Re: {subject or ''}".rstrip()


def forward_subject(subject: str) -> str:
    return subject if FORWARD_PREFIX.match(subject or "") else f"Fwd: {subject or ''}".rstrip()


def header_addresses(raw: bytes, name: str) -> list[tuple[str, str]]:
    """Addresses of one header read straight from the message (Bcc is kept only in our own copies)."""
    values = BytesHeaderParser(policy=default).parsebytes(raw).get_all(name) or []
    return [(n, a.lower()) for n, a in getaddresses([str(v) for v in values]) if a]


def _quoted(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in (text or "").rstrip("\n").split("\n"))


def _who(pairs) -> str:
    return format_addresses(pairs[:1]) if pairs else ""


def _references(headers: dict) -> str:
    refs = (headers.get("references") or "").split()
    own = headers.get("message_id") or ""
    if own and own not in refs:
        refs.append(own)
    return " ".join(refs[-MAX_REFERENCES:])


def _when(headers: dict) -> str:
    return date_time(headers["date"]) if headers.get("date") else ""


def reply_form(headers: dict, text: str, item_id: int, me: str, *, reply_all: bool) -> ComposeForm:
    """Trả lời / Trả lời tất cả: to the Reply-To (or sender), quoting the text."""
    author = headers.get("reply_to") or headers.get("from") or []
    to = [p for p in author if p[1].lower() != me] or list(author)
    cc: list[tuple[str, str]] = []
    if reply_all:
        seen = {a.lower() for _, a in to} | {me}
        for name, address in (headers.get("to") or []) + (headers.get("cc") or []):
            if address.lower() not in seen:
                seen.add(address.lower())
                cc.append((name, address))
    when = _when(headers)
    attribution = f"{'Vào lúc ' + when + ', ' if when else ''}{_who(headers.get('from') or [])} đã viết:"
    return ComposeForm(
        to=format_addresses(to), cc=format_addresses(cc), subject=reply_subject(headers.get("subject") or ""),
        body=f"\n\n{attribution}\n{_quoted(text)}\n", in_reply_to=headers.get("message_id") or "",
        references=_references(headers), answered_id=item_id,
    )


def forward_form(headers: dict, text: str, item_id: int, attachment_parts: list[str]) -> ComposeForm:
    """Chuyển tiếp: the original's text below a short header block, its attachments carried along."""
    block = [
        "---------- Thư chuyển tiếp ----------",
        f"Từ: {format_addresses(headers.get('from') or [])}",
        f"Ngày: {_when(headers)}",
        f"Tiêu đề: {headers.get('subject') or ''}",
        f"Đến: {format_addresses(headers.get('to') or [])}",
    ]
    if headers.get("cc"):
        block.append(f"CC: {format_addresses(headers['cc'])}")
    return ComposeForm(
        subject=forward_subject(headers.get("subject") or ""),
        body="\n\n" + "\n".join(block) + "\n\n" + (text or "").rstrip("\n") + "\n",
        source_id=item_id, kept_parts=list(attachment_parts),
    )


def draft_form(raw: bytes, headers: dict, text: str, item_id: int, attachment_parts: list[str]) -> ComposeForm:
    """Tiếp tục soạn một thư nháp, with its attachments."""
    return ComposeForm(
        to=format_addresses(headers.get("to") or []), cc=format_addresses(headers.get("cc") or []),
        bcc=format_addresses(header_addresses(raw, "Bcc")), subject=headers.get("subject") or "",
        body=text or "", in_reply_to=headers.get("in_reply_to") or "", references=headers.get("references") or "",
        draft_id=item_id, source_id=item_id, kept_parts=list(attachment_parts),
    )


def new_message_id(sender: str) -> str:
    return make_msgid(domain=domain_of(sender))


def _address_header(pairs) -> list[Address]:
    return [Address(display_name=name, addr_spec=address) for name, address in pairs]


def build_message(sender: AccountRef, form: ComposeForm, attachments: list[Attachment], *, now: datetime,
                  message_id: str, include_bcc: bool, as_draft: bool = False) -> bytes:
    """The message as bytes (CRLF, UTF-8 text, RFC 2231 file names).

    A draft keeps the address fields exactly as typed (they may not be valid yet); a message
    to send takes them parsed. ``include_bcc`` is for the sender's own copy only.
    """
    msg = EmailMessage(policy=OUTGOING)
    msg["From"] = Address(display_name=sender.display_name or "", addr_spec=sender.address)
    if as_draft:
        fields = {"To": form.to, "Cc": form.cc, "Bcc": form.bcc}
    else:
        to, cc, bcc = form.recipients()
        fields = {"To": _address_header(to), "Cc": _address_header(cc), "Bcc": _address_header(bcc)}
    for name, value in fields.items():
        if value and (name != "Bcc" or include_bcc):
            msg[name] = value
    msg["Subject"] = form.subject
    msg["Date"] = format_datetime(now.astimezone(VN_TZ))
    msg["Message-ID"] = message_id
    if form.in_reply_to:
        msg["In-Reply-To"] = form.in_reply_to
    if form.references:
        msg["References"] = form.references
    msg.set_content(form.body or "", charset="utf-8", cte="quoted-printable")
    for att in attachments:
        maintype, _, subtype = att.content_type.partition("/")
        if not re.fullmatch(r"[\w.+-]+", maintype) or not re.fullmatch(r"[\w.+-]+", subtype or ""):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg.as_bytes()
