"""The scenario file format (an exam set or a drill), as pydantic models.

Structure checks live here (types, required fields, allowed values); cross-references
(unknown person in a rule, points not summing, unused variants) in :mod:`scenarios.validate`.
Field names are English; every text shown to candidates is Vietnamese.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Role = Literal["lanh_dao", "chuyen_vien", "van_thu"]
AssignRole = Literal["xlc", "ph", "db"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False)


# --- world ----------------------------------------------------------------------------------
class Unit(_Model):
    id: Id
    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: Annotated[str, Field(min_length=1)]
    email: str | None = None


class Organisation(_Model):
    id: Id
    code: Annotated[str, Field(min_length=1, max_length=20, description="ký hiệu cơ quan, ví dụ UBND, SNV")]
    name: Annotated[str, Field(min_length=1)]
    parent: str | None = None
    place: str = "Cần Thơ"
    domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")]
    email: str | None = None
    clerk: Literal["auto", "candidate", "none"] = "auto"
    units: list[Unit] = []


class Person(_Model):
    id: Id
    name: Annotated[str, Field(min_length=1)]
    title: Annotated[str, Field(min_length=1)]
    org: Id
    unit: Id | None = None
    role: Role
    leads: Literal["org", "unit"] | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$")]
    certificate: bool = False
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,16}$")] = "123456"
    mailbox: bool = True


class ExtraToken(_Model):
    """A certificate visible on someone else's token list (the specialist's certificate in
    the leader's signing dialog: choosing it is the classic mistake)."""

    holder: Id
    certificate_of: Id


class World(_Model):
    organisations: Annotated[list[Organisation], Field(min_length=1)]
    people: Annotated[list[Person], Field(min_length=1)]
    candidate: Id
    extra_tokens: list[ExtraToken] = []
    revoked: list[Id] = []
    start: dt.datetime | None = Field(None, description="in-world start time; default: the build's clock")


# --- initial state --------------------------------------------------------------------------
class GeneratedPdf(_Model):
    title: str
    body: list[str] = []
    org: Id | None = None


class Attachment(_Model):
    name: Annotated[str, Field(min_length=1)]
    text: str | None = None
    pdf: GeneratedPdf | None = None
    content_type: str | None = None

    @model_validator(mode="after")
    def _one_content(self):
        if (self.text is None) == (self.pdf is None):
            raise ValueError("tệp đính kèm cần đúng một nội dung: 'text' hoặc 'pdf'")
        return self


class MailSeed(_Model):
    id: Id | None = None
    mailbox: Id = Field(description="người nhận trong thế giới (id) có hộp thư chứa thư này")
    folder: str = "INBOX"
    sender: str = Field(alias="from")
    to: list[str] = []
    cc: list[str] = []
    subject: str
    body: str = ""
    html: bool = False
    minutes_before_start: Annotated[int, Field(ge=0)] = 30
    attachments: list[Attachment] = []
    seen: bool = False
    phishing: bool = False

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AssignmentSeed(_Model):
    target: Id
    role: AssignRole
    deadline_days: int = Field(description="hạn xử lý: số ngày so với ngày bắt đầu (âm = đã qua)")
    status: Literal["unread", "read", "processing", "completed"] = "unread"


class IncomingSeed(_Model):
    id: Id
    org: Id
    sender: str
    symbol: str
    date: dt.date
    type: str
    summary: str
    urgency: Literal["thuong", "khan", "thuong_khan", "hoa_toc"] = "thuong"
    arrival_no: int | None = None
    body: list[str] = []
    attachments: list[Attachment] = []
    directive: str | None = None
    directed_by: Id | None = None
    assignments: list[AssignmentSeed] = []


class RecipientSeed(_Model):
    unit: Id | None = None
    org: Id | None = None
    email: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if sum(x is not None for x in (self.unit, self.org, self.email)) != 1:
            raise ValueError("mỗi nơi nhận cần đúng một trong 'unit', 'org', 'email'")
        return self


class DraftSeed(_Model):
    id: Id
    org: Id
    unit: Id | None = None
    type: str
    summary: str
    body: list[str]
    drafter: Id
    signer: Id
    signer_title: str
    recipients: list[RecipientSeed] = []
    status: Literal["drafting", "submitted", "approved"] = "submitted"
    attachments: list[Attachment] = []


class Initial(_Model):
    mail: list[MailSeed] = []
    incoming: list[IncomingSeed] = []
    drafts: list[DraftSeed] = []


# --- variants, tasks, NPCs --------------------------------------------------------------------
class Variant(_Model):
    """One parameter drawn per candidate. Exactly one source: ``choices`` (any values,
    mappings allowed for correlated values), ``person``/``unit``/``org``/``incoming``/
    ``draft`` (ids: the value is that entity), or ``days_after_start`` (a date)."""

    choices: list[Any] | None = None
    person: list[Id] | None = None
    unit: list[Id] | None = None
    org: list[Id] | None = None
    incoming: list[Id] | None = None
    draft: list[Id] | None = None
    days_after_start: list[int] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        set_ = [k for k in ("choices", "person", "unit", "org", "incoming", "draft", "days_after_start")
                if getattr(self, k) is not None]
        if len(set_) != 1:
            raise ValueError("mỗi tham số cần đúng một nguồn: choices, person, unit, org, incoming, "
                             "draft hoặc days_after_start")
        if not getattr(self, set_[0]):
            raise ValueError("danh sách lựa chọn của tham số không được rỗng")
        return self

    @property
    def source(self) -> str:
        return next(k for k in ("choices", "person", "unit", "org", "incoming", "draft", "days_after_start")
                    if getattr(self, k) is not None)


class Task(_Model):
    id: Id
    title: str
    text: str


class AutoReply(_Model):
    """A colleague (``person``) answers each mail the candidate sends with them in To whose
    subject contains ``subject_contains`` (any subject when left out; case, accents and spaces
    do not matter): a reply to the candidate alone, in the thread (In-Reply-To, References),
    subject ``reply_subject`` or "Re: " and the candidate's subject, text ``reply_body``, with
    ``attachments``. Placeholders are rendered with the candidate's values. A mail that
    answers one of the colleague's own replies (a "thank you") gets none.
    Run by :mod:`scenarios.npc` (kind ``auto_reply``)."""

    kind: Literal["auto_reply"]
    person: Id
    subject_contains: str | None = None
    reply_subject: str | None = None
    reply_body: str
    attachments: list[Attachment] = []


class AutoClerk(_Model):
    """The automatic clerk (kind ``auto_clerk``): numbers, organisation-signs and releases
    what the leader forwards to her, or sends it back with her reason. Not written under
    ``npc``: every organisation with ``clerk: auto`` has her (the document workflow keeps the
    setting as the organisation's clerk mode)."""

    kind: Literal["auto_clerk"] = "auto_clerk"


#: the rule kinds a scenario file declares under ``npc`` (``scenarios.npc`` runs them)
NpcRule = Annotated[AutoReply, Field(discriminator="kind")]


# --- rubric ---------------------------------------------------------------------------------
class Check(_Model):
    type: Annotated[str, Field(pattern=r"^[a-z]+\.[a-z_]+$")]
    params: dict[str, Any] = {}


class Partial(_Model):
    points: Annotated[float, Field(gt=0)]
    check: Check
    message: str | None = None


class Criterion(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=20)]
    task: Id | None = None
    description: Annotated[str, Field(min_length=1)]
    points: Annotated[float, Field(gt=0)]
    check: Check
    partial: list[Partial] = []
    requires: str | None = None
    pass_message: str
    fail_message: str


class IntentAttachment(_Model):
    seed_mail: Id
    name: str


class MailIntent(_Model):
    """What the mail of a task looks like when done right. The grader judges a mail
    criterion that names it (``mail: ID``) on the mail the candidate meant for that task:
    each sent mail goes to the intent it resembles most (recipients, subject, words of the
    body, attachments, the mail replied to), and the best match among them is judged. So a
    wrong address costs the address point only, and a mail of another task is never taken
    for this one."""

    task: Id | None = None
    to: list[str] | str = []
    cc: list[str] | str = []
    bcc: list[str] | str = []
    subject: str | None = None
    #: words a right answer contains (placeholders may give a list)
    phrases: list[str] | str = []
    #: words that only tell which task a mail is for (not graded)
    keywords: list[str] | str = []
    attachments: list[IntentAttachment] = []
    reply_to: Id | None = None


class Rubric(_Model):
    version: Annotated[int, Field(ge=1)] = 1
    mails: dict[Id, MailIntent] = {}
    criteria: Annotated[list[Criterion], Field(min_length=1)]


class Scenario(_Model):
    title: Annotated[str, Field(min_length=1)]
    kind: Literal["exam", "backup", "drill"]
    year: Annotated[int, Field(ge=2000, le=2100)]
    part: Literal["practical"] = "practical"
    points: Annotated[float, Field(gt=0)]
    duration_minutes: Annotated[int, Field(gt=0, le=600)]
    backup_of: str | None = None
    summary: str = ""
    skills: list[Literal["email", "docflow", "signing", "tracking", "security"]] = []
    world: World
    initial: Initial = Initial()
    variants: dict[Id, Variant] = {}
    tasks: Annotated[list[Task], Field(min_length=1)]
    npc: list[NpcRule] = []
    rubric: Rubric

    @field_validator("title")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()
