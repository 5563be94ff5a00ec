"""Which sent mail the candidate meant for which task (``rubric.mails``).

A candidate sends several mails: the task-1 mail (perhaps twice, the second time
corrected), the status report of task 4, a phishing report. A criterion about "the mail of
task 1" must be judged on that mail, whatever its mistakes: a wrong To address must cost
the address point, not the subject and the attachment too.

Each sent mail is compared with every intent (what the right mail looks like): the share of
its intended recipients the mail reaches, how close its subject is, the share of the
intent's words found in its subject and body, of its files attached, and whether it replies
to the intended mail. The mail belongs to the intent it resembles most (to several on a
tie); an intent's *meant* mail is the one of its mails that resembles it most, the latest
on a tie (a corrected resend). A mail that resembles no intent at all belongs to none.
Everything here is a pure function of the sent mails and the rendered intents."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any


def fold(text: str) -> str:
    """Compare texts as a reader would: NFC, case-insensitive, whitespace folded."""
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


@dataclass(frozen=True)
class Intent:
    """A rendered ``rubric.mails`` entry; attachments as (file name, sha256 or None)."""

    id: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str | None
    phrases: tuple[str, ...]
    keywords: tuple[str, ...]
    attachments: tuple[tuple[str, str | None], ...]
    reply_to: str | None        # Message-ID of the mail to reply to

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.to + self.cc + self.bcc))


def subject_similarity(got: str, want: str) -> float:
    if fold(got) == fold(want):
        return 1.0
    a, b = words(got), words(want)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def relevance(mail, intent: Intent) -> float:
    """How much ``mail`` looks like the mail ``intent`` describes: a sum of shares, 0 when
    nothing matches."""
    score = 0.0
    recips = set(mail.recipients)
    if intent.recipients:
        score += len(recips & set(intent.recipients)) / len(intent.recipients)
    if intent.subject:
        score += subject_similarity(mail.subject, intent.subject)
    terms = intent.phrases + intent.keywords
    if terms:
        text = fold(mail.subject + "\n" + mail.text)
        score += sum(1 for t in terms if fold(t) in text) / len(terms)
    if intent.attachments:
        sent = {a.sha256 for a in mail.attachments}
        names = {fold(a.filename) for a in mail.attachments}
        score += sum(1 for name, sha in intent.attachments
                     if (sha in sent if sha else fold(name) in names)) / len(intent.attachments)
    if intent.reply_to:
        score += 1.0 if intent.reply_to in (mail.in_reply_to + " " + mail.references).split() else 0.0
    return score


def assign(mails: list, intents: dict[str, Intent]) -> dict[str, list[tuple[float, Any]]]:
    """intent id → [(relevance, mail)] of the mails that belong to it, oldest first."""
    out: dict[str, list[tuple[float, Any]]] = {i: [] for i in intents}
    for m in mails:
        scores = {i: relevance(m, intent) for i, intent in intents.items()}
        best = max(scores.values(), default=0.0)
        if best <= 0:
            continue
        for i, s in scores.items():
            if s >= best - 1e-9:
                out[i].append((s, m))
    return out


def meant(mine: list[tuple[float, Any]]):
    """The mail meant for an intent among those :func:`assign` gave it, or None."""
    if not mine:
        return None
    best = max(s for s, _m in mine)
    return [m for s, m in mine if s >= best - 1e-9][-1]
