"""``auto_reply``: a colleague answers the candidate's mail.

When the candidate sends a mail (``mail.submit``, from any door: SMTP, webmail) that was
delivered to the rule's ``person`` in To and whose subject contains ``subject_contains``
(folded: case, accents and spaces do not matter), the colleague replies to the candidate
alone: "Re: " and the subject (or ``reply_subject``), ``reply_body`` and ``attachments``
with the candidate's values rendered, threaded (In-Reply-To the candidate's Message-ID,
References the thread), sent through the mail package's submission path
(``mailserver.api.send_in_action``): an ordinary delivered message in the candidate's INBOX,
a copy in the colleague's Sent, a submission record, like any mail a person sends.

Once per matching mail, as a real colleague does (asked twice, she answers twice), but
never to a mail that answers one of her own replies (a "thank you" gets no second file):
her replies' Message-IDs are ``<npc.PERSON.TOKEN@domain>`` and a mail whose In-Reply-To or
References names one of them is not a request.

Deterministic: the Message-ID derives from the rule, the log position, the time and the
candidate's Message-ID, the Date is the action's in-world time, the MIME boundary derives
from the Message-ID; nothing comes from chance, so a replay makes the same message.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from mailserver import api as mail_api
from mailserver import mime
from sandbox.kernel.clock import VN_TZ

from .. import templates
from ..build_helpers import attachment_bytes
from ..schema import AutoReply
from .base import Event, Rule, rule

#: long header lines are not folded (Python's folder can drop a space between encoded words)
OUTGOING = SMTP.clone(max_line_length=998)
_MSGID = re.compile(r"<[^<>\s]+>")
_RE = re.compile(r"^\s*(re|trả lời|tl)\s*:", re.IGNORECASE)


def fold(text: str) -> str:
    """Subject matching as a reader does it: no case, no accents (đ is d), single spaces."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def reply_subject(subject: str) -> str:
    """"Re: " and the subject, unless it already is a reply."""
    subject = " ".join((subject or "").split())
    return subject if _RE.match(subject) else f"Re: {subject}"


@dataclass(frozen=True)
class Submitted:
    """The candidate's mail of a ``mail.submit`` action, as a colleague reading it sees it."""

    sender: str
    to: tuple[str, ...]
    delivered: tuple[str, ...]
    subject: str
    message_id: str
    #: the ids of its In-Reply-To and References, in order
    thread: tuple[str, ...]


def submitted(event: Event) -> Submitted | None:
    def make():
        ref = mail_api.account_ref(event.ctx.session, event.args["account_id"])
        if ref is None or ref.sandbox_id != event.ctx.sandbox.id:
            return None
        hdrs = mime.decoded_headers(event.ctx.blobs.get(event.args["raw"]))
        to = []
        for _name, address in hdrs["to"]:
            try:
                to.append(mail_api.normalize_address(address))
            except mail_api.MailError:
                continue
        thread = []
        for mid in _MSGID.findall(f"{hdrs['references'] or ''} {hdrs['in_reply_to'] or ''}"):
            if mid not in thread:
                thread.append(mid)
        return Submitted(ref.address, tuple(to), tuple(event.result.get("delivered") or ()), hdrs["subject"] or "",
                         event.result.get("message_id") or hdrs["message_id"] or "", tuple(thread))
    return event._cached("submitted", make)


def _own_prefix(person_id: str) -> str:
    return f"<npc.{person_id}."


@rule
class AutoReplyRule(Rule):
    kind = "auto_reply"
    Params = AutoReply
    events = ("mail.submit",)
    summary_vi = "đồng nghiệp trả lời thư của thí sinh (kèm nội dung và tệp của đề)"

    def matches(self, event: Event) -> bool:
        p: AutoReply = self.params
        mail = submitted(event)
        person = event.person(p.person)
        if mail is None or person is None or mail.sender != event.candidate_address:
            return False
        address = person.email.lower()
        if address not in mail.to or address not in mail.delivered or address == mail.sender:
            return False
        if any(mid.startswith(_own_prefix(p.person)) for mid in mail.thread):
            return False  # an answer to her own reply
        if p.subject_contains:
            wanted = fold(templates.render(p.subject_contains, event.template_context))
            if wanted not in fold(mail.subject):
                return False
        return mail_api.account_by_address(event.ctx.session, event.ctx.sandbox.id, address) is not None

    def run(self, event: Event) -> dict:
        p: AutoReply = self.params
        ctx, sc, values = event.ctx, event.scenario, event.template_context
        mail, person = submitted(event), event.person(p.person)
        candidate = event.person(event.instance.candidate)
        # every text first (a placeholder error must come before any change)
        subject = templates.render(p.reply_subject, values) if p.reply_subject else reply_subject(mail.subject)
        body = templates.render(p.reply_body, values)
        files = [attachment_bytes(a, sc, values) for a in p.attachments]

        sender = person.email.lower()
        token = hashlib.sha256(f"npc:{self.index}:{ctx.sandbox.log_seq + 1}:{ctx.now.isoformat()}:"
                               f"{mail.message_id}".encode()).hexdigest()[:24]
        message_id = f"{_own_prefix(p.person)}{token}@{sender.split('@')[1]}>"
        msg = EmailMessage(policy=OUTGOING)
        msg["From"] = formataddr((person.name, sender))
        msg["To"] = formataddr((candidate.name, mail.sender)) if candidate is not None else mail.sender
        msg["Subject"] = subject
        msg["Date"] = format_datetime(ctx.now.astimezone(VN_TZ))
        msg["Message-ID"] = message_id
        if mail.message_id:
            msg["In-Reply-To"] = mail.message_id
            msg["References"] = " ".join([m for m in mail.thread if m != mail.message_id] + [mail.message_id])
        msg.set_content(body if body.endswith("\n") else body + "\n")
        for name, ctype, data in files:
            main, sub = ctype.split("/", 1)
            msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
        if files:
            msg.set_boundary(f"=_npc_{token}")
        sent = mail_api.send_in_action(ctx, sender, msg.as_bytes(), [mail.sender], via="npc")
        return {"kind": self.kind, "rule": self.index, "person": p.person, "message_id": sent["message_id"],
                "in_reply_to": mail.message_id, "files": [name for name, _c, _d in files]}
