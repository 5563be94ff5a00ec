"""Mail checks: what the candidate sent (``MailView.sent``: every submission, by SMTP or
webmail, whatever the client did with its Sent folder)."""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, field_validator, model_validator

from ..intents import fold
from .base import Check, Outcome, Params, Ref, register


def _addr(value: str) -> str:
    return unicodedata.normalize("NFC", value.strip()).lower()


def _evidence(m) -> dict:
    return {"message_id": m.message_id, "at": m.at.isoformat(), "subject": m.subject,
            "to": list(m.to), "cc": list(m.cc), "bcc": list(m.bcc), "bounced": list(m.bounced)}


def _address(v: str) -> str:
    if "@" not in v:
        raise ValueError(f"'{v}' không phải địa chỉ thư")
    return _addr(v)


Address = Annotated[str, Ref("address"), AfterValidator(_address)]
#: words, given as a list or (from a placeholder) as one string
Words = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
#: a mail of ``rubric.mails``: the criterion is judged on the mail the candidate meant for it
IntentRef = Annotated[str, Ref("intent")]

#: the outcome when a task's mail was never sent: the criterion is not reached, and says so
_NOT_SENT = "Chưa gửi thư của nhiệm vụ này nên tiêu chí này chưa được xét."


def _not_sent(state, intent_id: str) -> Outcome:
    others = len(state.sent_mail())
    detail = ("Chưa gửi thư nào." if not others else
              f"Trong {others} thư đã gửi, không thư nào là thư của nhiệm vụ này.")
    return Outcome.failed(detail, message=_NOT_SENT, sent=others)


class _To(Params):
    """Which mail: the one meant for ``mail`` (preferred), else every mail that reached ``to``."""

    to: Address | None = None
    mail: IntentRef | None = None

    @model_validator(mode="after")
    def _which(self):
        if self.to is None and self.mail is None:
            raise ValueError("cần 'mail' (thư trong rubric.mails) hoặc 'to' (địa chỉ nhận)")
        return self


def _to(state, address: str) -> list:
    """The candidate's messages that reached ``address`` in any field, oldest first."""
    return [m for m in state.sent_mail() if address in m.recipients]


def _candidates(state, p) -> list | Outcome:
    """The mails a criterion judges, best first: the meant mail, or those sent to ``to``."""
    if p.mail is not None:
        m = state.meant_mail(p.mail)
        return [m] if m is not None else _not_sent(state, p.mail)
    msgs = _to(state, p.to)
    return msgs if msgs else Outcome.failed(f"Không có thư nào gửi tới {p.to}.")


def _names(addresses) -> str:
    return ", ".join(addresses) or "không ai"


@register
class SentTo(Check):
    type = "mail.sent_to"
    summary_vi = "thư gửi tới đúng người, đúng trường (Đến/CC/BCC)"

    class Params(Params):
        address: Address
        field: Literal["to", "cc", "bcc", "any"] = "to"
        mail: IntentRef | None = None
        #: nobody else in that field (putting everyone everywhere is not knowing who goes where)
        only: bool = False

    def run(self, state, p) -> Outcome:
        label = {"to": "ô Đến (To)", "cc": "ô Đồng gửi (CC)", "bcc": "ô Gửi ẩn (BCC)", "any": "người nhận"}[p.field]

        def fields(m):
            return {"to": m.to, "cc": m.cc, "bcc": m.bcc, "any": m.recipients}[p.field]

        if p.mail is not None:
            m = state.meant_mail(p.mail)
            if m is None:
                return _not_sent(state, p.mail)
            others = [a for a in fields(m) if a != p.address]
            if p.address in fields(m) and p.only and others:
                return Outcome.failed(f"Thư «{m.subject}» có {p.address} ở {label} nhưng còn thêm "
                                      f"{', '.join(others)}.", extra=others, **_evidence(m))
            if p.address in fields(m) and p.address not in m.bounced:
                return Outcome.passed(f"Thư «{m.subject}» có {p.address} ở {label}.", **_evidence(m))
            if p.address in m.recipients:
                where = "Đến (To)" if p.address in m.to else "CC" if p.address in m.cc else "BCC"
                return Outcome.failed(f"Thư «{m.subject}»: {p.address} được đặt ở ô {where}, không phải {label}.",
                                      **_evidence(m))
            got = {"to": m.to, "cc": m.cc, "bcc": m.bcc, "any": m.recipients}[p.field]
            return Outcome.failed(f"Thư «{m.subject}» có ở {label}: {_names(got)}; thiếu {p.address}.",
                                  **_evidence(m))
        for m in state.sent_mail():
            if p.address in fields(m) and p.address not in m.bounced:
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
        msgs = _candidates(state, p)
        if isinstance(msgs, Outcome):
            return msgs
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
        phrases: Words
        mode: Literal["all", "any"] = "all"
        #: wrong answers that must not be there (naming every document is not knowing which)
        none_of: Words = []

    def run(self, state, p) -> Outcome:
        msgs = _candidates(state, p)
        if isinstance(msgs, Outcome):
            return msgs
        best, best_found = msgs[-1], []
        for m in msgs:
            body = fold(m.text)
            found = [ph for ph in p.phrases if fold(ph) in body]
            wrong = [ph for ph in p.none_of if fold(ph) in body]
            if wrong and found:
                return Outcome.failed(f"Nội dung có {', '.join('«%s»' % f for f in found)} nhưng nêu thêm "
                                      f"{', '.join('«%s»' % w for w in wrong)} (không đúng).", wrong=wrong,
                                      **_evidence(m))
            if (p.mode == "all" and len(found) == len(p.phrases)) or (p.mode == "any" and found):
                line = next((ln.strip() for ln in m.text.splitlines() if fold(found[0]) in fold(ln)), "")
                return Outcome.passed(f"Nội dung có: {', '.join('«%s»' % f for f in found)}.",
                                      matching_line=line, **_evidence(m))
            if len(found) > len(best_found):
                best, best_found = m, found
        missing = [ph for ph in p.phrases if ph not in best_found]
        return Outcome.failed(f"Nội dung thư thiếu: {', '.join('«%s»' % x for x in missing)}.", **_evidence(best))


class _Expected(Params):
    unit: Annotated[str, Ref("unit")]
    phrases: Words = []


def _mentions(text: str, folded: str, unit: dict, extra: list[str]) -> str | None:
    """The words by which ``text`` names ``unit`` (its full name, its code as a word, or one
    of ``extra``), or None."""
    for phrase in [unit.get("name", "")] + list(extra):
        if phrase and fold(phrase) in folded:
            return phrase
    code = unit.get("code", "")
    # a code as a word of its own, not inside a document symbol (``1520/UBND-KT``)
    if len(code) >= 2 and re.search(rf"(?<![\w/-]){re.escape(code)}(?![\w/-])", text):
        return code
    return None


def _near(text: str, near: list[str], apart: list[str]) -> str:
    """The parts of ``text`` an answer is read from: every sentence with a ``near`` word; a
    sentence that also has an ``apart`` word is cut at its commas, keeping the clauses with
    a ``near`` word. Without ``near``: the whole text."""
    if not near:
        return text
    has = lambda part, words: any(fold(w) in fold(part) for w in words)  # noqa: E731
    kept = []
    for sentence in re.split(r"[.;!?\n]+", text):
        if not has(sentence, near):
            continue
        if apart and has(sentence, apart):
            kept += [c for c in sentence.split(",") if has(c, near)]
        else:
            kept.append(sentence)
    return "\n".join(kept)


@register
class AnswerSet(Check):
    type = "mail.answer_set"
    summary_vi = "thư nêu đúng và đủ các đơn vị được hỏi, không nêu thừa đơn vị khác"

    class Params(_To):
        expected: list[_Expected]
        #: the units a candidate could name (default: every unit of the world)
        among: list[Annotated[str, Ref("unit")]] | None = None
        #: count only the units named in a sentence with one of these words ("quá hạn")...
        near: list[str] = []
        #: ...and, in a sentence that also has one of these ("hoàn thành"), only in its clause
        apart: list[str] = []

        @field_validator("expected", mode="before")
        @classmethod
        def _units(cls, v):
            v = [v] if isinstance(v, (str, dict)) else v
            return [{"unit": x} if isinstance(x, str) else x for x in v]

    def run(self, state, p) -> Outcome:
        msgs = _candidates(state, p)
        if isinstance(msgs, Outcome):
            return msgs
        units = state.unit_names()
        want = {e.unit: e.phrases for e in p.expected}
        among = list(p.among) if p.among is not None else list(units)
        best = None
        for m in msgs:
            text = _near(m.subject + "\n" + m.text, p.near, p.apart)
            folded = fold(text)
            named = {u: w for u in dict.fromkeys(among + list(want))
                     if (w := _mentions(text, folded, units.get(u, {}), want.get(u, []))) is not None}
            missing = [u for u in want if u not in named]
            extra = [u for u in named if u not in want]
            if not missing and not extra:
                return Outcome.passed("Nêu đúng: " + ", ".join(units.get(u, {}).get("name", u) for u in want) + ".",
                                      named=sorted(named), **_evidence(m))
            if best is None or len(missing) + len(extra) < len(best[1]) + len(best[2]):
                best = (m, missing, extra)
        m, missing, extra = best
        parts = []
        if missing:
            parts.append("chưa nêu " + ", ".join(units.get(u, {}).get("name", u) for u in missing))
        if extra:
            parts.append("nêu thừa " + ", ".join(units.get(u, {}).get("name", u) for u in extra)
                         + " (không thuộc câu trả lời đúng)")
        return Outcome.failed(f"Thư «{m.subject}»: " + "; ".join(parts) + ".",
                              missing=missing, extra=extra, **_evidence(m))


@register
class AttachmentCheck(Check):
    type = "mail.attachment"
    summary_vi = "thư có đính kèm đúng tệp (so theo nội dung tệp)"

    class Params(_To):
        seed_mail: Annotated[str, Ref("mail")] | None = None   # id of a message of the initial state...
        attachment: Annotated[str, Ref("attachment", of="seed_mail")] | None = None  # ...and its file
        sha256: str | None = None
        name: str | None = None             # when set, the file name must also match
        #: no other file attached (attaching every file is not knowing which one)
        only: bool = False

    def run(self, state, p) -> Outcome:
        want = p.sha256
        if want is None and p.seed_mail:
            want = state.seed_attachment_sha256(p.seed_mail, p.attachment)
        msgs = _candidates(state, p)
        if isinstance(msgs, Outcome):
            return msgs
        for m in msgs:
            for a in m.attachments:
                if (want is None or a.sha256 == want) and (p.name is None or fold(a.filename) == fold(p.name)):
                    others = [b.filename for b in m.attachments if b is not a]
                    if p.only and others:
                        return Outcome.failed(f"Có đính kèm «{a.filename}» nhưng kèm thêm tệp không được yêu cầu: "
                                              f"{', '.join(others)}.", attachment=a.filename, extra=others,
                                              **_evidence(m))
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
        allowed: list[Address]
        #: judge the mails meant for this task only (and only once the task was attempted)
        mail: IntentRef | None = None

    def run(self, state, p) -> Outcome:
        allowed = set(p.allowed)
        msgs = state.mails_for(p.mail) if p.mail is not None else state.sent_mail()
        if p.mail is not None and not msgs:
            return _not_sent(state, p.mail)
        for m in msgs:
            wrong = [a for a in m.recipients if a not in allowed]
            if wrong:
                why = " (bị trả lại: địa chỉ không tồn tại)" if set(wrong) & set(m.bounced) else ""
                return Outcome.failed(f"Thư «{m.subject}» gửi tới {', '.join(wrong)}{why}.",
                                      wrong=wrong, **_evidence(m))
        if not msgs:
            return Outcome.failed("Chưa gửi thư nào.", message=_NOT_SENT)
        return Outcome.passed("Mọi thư chỉ gửi tới người trong yêu cầu.", messages=len(msgs))


@register
class ReplyInThread(Check):
    type = "mail.reply_in_thread"
    summary_vi = "trả lời đúng thư (giữ luồng thư)"

    class Params(Params):
        seed_mail: Annotated[str, Ref("mail")]
        to: Address | None = None

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
        seed_mail: Annotated[str, Ref("mail")]

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
        seed_mail: Annotated[str, Ref("mail")]

    def run(self, state, p) -> Outcome:
        seed = state.seed_mail(p.seed_mail)
        subject, sender = fold(seed.get("subject", "")), fold(seed.get("from", ""))
        msgs = _candidates(state, p)
        if isinstance(msgs, Outcome):
            return msgs
        where = p.to or ", ".join(msgs[0].to)
        for m in msgs:
            forwarded = any(a.content_type == "message/rfc822" for a in m.attachments)
            names_it = (subject and subject in fold(m.subject + " " + m.text)) or (sender and sender in fold(m.text))
            if forwarded or names_it:
                return Outcome.passed(f"Đã báo cáo thư đáng ngờ tới {where}.", **_evidence(m))
        return Outcome.failed(f"Thư gửi {where} không nêu rõ thư đáng ngờ (tiêu đề hoặc người gửi).",
                              **_evidence(msgs[-1]))
