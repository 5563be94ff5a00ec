"""Mail checks: what the candidate sent (``MailView.sent``: every submission, by SMTP or
webmail, whatever the client did with its Sent folder)."""
from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import field_validator

from .base import Check, Outcome, Params, register


def fold(text: str) -> str:
    """Compare texts as a reader would: NFC, case-insensitive, whitespace folded."""
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def _addr(value: str) -> str:
    return unicodedata.normalize("NFC", value.strip()).lower()


def _evidence(m) -> dict:
    return {"message_id": m.message_id, "at": m.at.isoformat(), "subject": m.subject,
            "to": list(m.to), "cc": list(m.cc), "bcc": list(m.bcc), "bounced": list(m.bounced)}


class _To(Params):
    to: str

    @field_validator("to")
    @classmethod
    def _valid(cls, v: str) -> str:
        if "@" not in v:
            raise ValueError(f"'{v}' không phải địa chỉ thư")
        return _addr(v)


def _to(state, address: str) -> list:
    """The candidate's messages that reached ``address`` in any field, oldest first."""
    return [m for m in state.sent_mail() if address in m.recipients]


@register
class SentTo(Check):
    type = "mail.sent_to"
    summary_vi = "thư gửi tới đúng người, đúng trường (Đến/CC/BCC)"

    class Params(Params):
        address: str
        field: Literal["to", "cc", "bcc", "any"] = "to"

        @field_validator("address")
        @classmethod
        def _valid(cls, v: str) -> str:
            if "@" not in v:
                raise ValueError(f"'{v}' không phải địa chỉ thư")
            return _addr(v)

    def run(self, state, p) -> Outcome:
        label = {"to": "ô Đến (To)", "cc": "ô Đồng gửi (CC)", "bcc": "ô Gửi ẩn (BCC)", "any": "người nhận"}[p.field]
        for m in state.sent_mail():
            fields = {"to": m.to, "cc": m.cc, "bcc": m.bcc, "any": m.recipients}[p.field]
            if p.address in fields and p.address not in m.bounced:
                return Outcome.passed(f"Thư «{m.subject}» có {p.address} ở {label}.", **_evidence(m))
        near = _to(state, p.address)
        if near:
            m = near[0]
            where = "Đến (To)" if p.address in m.to else "CC" if p.address in m.cc else "BCC"
            return Outcome.failed(f"{p.address} được đặt ở ô {where}, không phải {label}.", **_evidence(m))
        return Outcome.failed(f"Không có thư nào gửi tới {p.address}.", sent=len(state.sent_mail()))


@register
class Subject(Check):
    type = "mail.subject"
    summary_vi = "tiêu đề thư đúng yêu cầu"

    class Params(_To):
        equals: str | None = None
        contains: list[str] | None = None

    def run(self, state, p) -> Outcome:
        msgs = _to(state, p.to)
        if not msgs:
            return Outcome.failed(f"Không có thư nào gửi tới {p.to}.")
        for m in msgs:
            ok = True
            if p.equals is not None:
                ok = fold(m.subject) == fold(p.equals)
            if ok and p.contains:
                ok = all(fold(w) in fold(m.subject) for w in p.contains)
            if ok:
                return Outcome.passed(f"Tiêu đề «{m.subject}».", **_evidence(m))
        return Outcome.failed(f"Tiêu đề thư là «{msgs[-1].subject}».", **_evidence(msgs[-1]))


@register
class BodyContains(Check):
    type = "mail.body_contains"
    summary_vi = "nội dung thư có các ý được yêu cầu"

    class Params(_To):
        phrases: list[str]
        mode: Literal["all", "any"] = "all"

    def run(self, state, p) -> Outcome:
        msgs = _to(state, p.to)
        if not msgs:
            return Outcome.failed(f"Không có thư nào gửi tới {p.to}.")
        best, best_found = msgs[-1], []
        for m in msgs:
            body = fold(m.text)
            found = [ph for ph in p.phrases if fold(ph) in body]
            if (p.mode == "all" and len(found) == len(p.phrases)) or (p.mode == "any" and found):
                line = next((ln.strip() for ln in m.text.splitlines() if fold(found[0]) in fold(ln)), "")
                return Outcome.passed(f"Nội dung có: {', '.join('«%s»' % f for f in found)}.",
                                      matching_line=line, **_evidence(m))
            if len(found) > len(best_found):
                best, best_found = m, found
        missing = [ph for ph in p.phrases if ph not in best_found]
        return Outcome.failed(f"Nội dung thư thiếu: {', '.join('«%s»' % x for x in missing)}.", **_evidence(best))


@register
class AttachmentCheck(Check):
    type = "mail.attachment"
    summary_vi = "thư có đính kèm đúng tệp (so theo nội dung tệp)"

    class Params(_To):
        seed_mail: str | None = None        # id of a message of the initial state...
        attachment: str | None = None       # ...and the name of its attachment
        sha256: str | None = None
        name: str | None = None             # when set, the file name must also match

    def run(self, state, p) -> Outcome:
        want = p.sha256
        if want is None and p.seed_mail:
            want = state.seed_attachment_sha256(p.seed_mail, p.attachment)
        msgs = _to(state, p.to)
        if not msgs:
            return Outcome.failed(f"Không có thư nào gửi tới {p.to}.")
        for m in msgs:
            for a in m.attachments:
                if (want is None or a.sha256 == want) and (p.name is None or fold(a.filename) == fold(p.name)):
                    return Outcome.passed(f"Đính kèm «{a.filename}» ({a.size} byte).",
                                          attachment=a.filename, sha256=a.sha256, **_evidence(m))
        names = [a.filename for m in msgs for a in m.attachments]
        detail = ("Thư không có tệp đính kèm." if not names else
                  f"Tệp đính kèm ({', '.join(names)}) không phải tệp được yêu cầu.")
        return Outcome.failed(detail, attachments=names, **_evidence(msgs[-1]))


@register
class NoWrongRecipient(Check):
    type = "mail.no_wrong_recipient"
    summary_vi = "không gửi nhầm cho người ngoài yêu cầu (kể cả địa chỉ gõ sai bị trả lại)"

    class Params(Params):
        allowed: list[str]

        @field_validator("allowed")
        @classmethod
        def _valid(cls, v: list[str]) -> list[str]:
            for a in v:
                if "@" not in a:
                    raise ValueError(f"'{a}' không phải địa chỉ thư")
            return [_addr(a) for a in v]

    def run(self, state, p) -> Outcome:
        allowed = set(p.allowed)
        for m in state.sent_mail():
            wrong = [a for a in m.recipients if a not in allowed]
            if wrong:
                why = " (bị trả lại: địa chỉ không tồn tại)" if set(wrong) & set(m.bounced) else ""
                return Outcome.failed(f"Thư «{m.subject}» gửi tới {', '.join(wrong)}{why}.",
                                      wrong=wrong, **_evidence(m))
        if not state.sent_mail():
            return Outcome.failed("Chưa gửi thư nào.")
        return Outcome.passed("Mọi thư chỉ gửi tới người trong yêu cầu.", messages=len(state.sent_mail()))


@register
class ReplyInThread(Check):
    type = "mail.reply_in_thread"
    summary_vi = "trả lời đúng thư (giữ luồng thư)"

    class Params(Params):
        seed_mail: str
        to: str | None = None

    def run(self, state, p) -> Outcome:
        mid = state.seed_message_id(p.seed_mail)
        for m in state.sent_mail():
            if mid and (mid in m.in_reply_to or mid in m.references.split()) and \
                    (p.to is None or _addr(p.to) in m.recipients):
                return Outcome.passed(f"Thư «{m.subject}» trả lời đúng thư gốc.", in_reply_to=mid, **_evidence(m))
        return Outcome.failed("Không có thư trả lời (Trả lời/Trả lời tất cả) cho thư được yêu cầu.", in_reply_to=mid)



@register
class NotOpened(Check):
    type = "mail.not_opened"
    summary_vi = "không mở liên kết hay tệp đính kèm của thư lừa đảo"

    class Params(Params):
        seed_mail: str

    def run(self, state, p) -> Outcome:
        mid = state.seed_message_id(p.seed_mail)
        opened = [o for o in state.opens() if o[0] == mid]
        if opened:
            _mid, kind, target, at = opened[0]
            what = "bấm vào liên kết" if kind == "link" else "tải tệp đính kèm"
            return Outcome.failed(f"Đã {what} {target} trong thư đáng ngờ.", kind=kind, target=target,
                                  at=at.isoformat(), message_id=mid)
        return Outcome.passed("Không mở liên kết hay tệp đính kèm của thư đáng ngờ.", message_id=mid)


@register
class Reported(Check):
    type = "mail.reported"
    summary_vi = "báo cáo thư đáng ngờ cho đúng địa chỉ (chuyển tiếp hoặc nêu rõ thư)"

    class Params(_To):
        seed_mail: str

    def run(self, state, p) -> Outcome:
        seed = state.seed_mail(p.seed_mail)
        subject, sender = fold(seed.get("subject", "")), fold(seed.get("from", ""))
        msgs = _to(state, p.to)
        for m in msgs:
            forwarded = any(a.content_type == "message/rfc822" for a in m.attachments)
            names_it = (subject and subject in fold(m.subject + " " + m.text)) or (sender and sender in fold(m.text))
            if forwarded or names_it:
                return Outcome.passed(f"Đã báo cáo thư đáng ngờ tới {p.to}.", **_evidence(m))
        if msgs:
            return Outcome.failed(f"Thư gửi {p.to} không nêu rõ thư đáng ngờ (tiêu đề hoặc người gửi).",
                                  **_evidence(msgs[-1]))
        return Outcome.failed(f"Chưa báo cáo thư đáng ngờ tới {p.to}.")
