"""Document-workflow tables. Every row carries ``sandbox_id``; only ``docflow`` queries them
(reads go through :class:`docflow.queries.Scoped`, the one place that filters by sandbox)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base

_SB = "sandboxes.id"


def _sandbox_fk() -> Mapped[int]:
    return mapped_column(ForeignKey(_SB, ondelete="CASCADE"), index=True)


class Organisation(Base):
    """An in-world organisation (cơ quan). ``code`` is its abbreviation in symbols ("UBND").

    ``clerk_mode`` is ``"npc"`` (the clerk is automatic: she numbers, seals and releases inside
    the leader's "chuyển văn thư phát hành" action) or ``"person"`` (a candidate plays her).
    The NPC clerk uses the organisation token ``org_token_id``; its PIN sits in the blob store
    under ``npc_pin_blob`` (the log only ever holds that hash)."""

    __tablename__ = "docflow_orgs"
    __table_args__ = (UniqueConstraint("sandbox_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    parent_name: Mapped[str] = mapped_column(String(300), default="")
    place: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    clerk_mode: Mapped[str] = mapped_column(String(10), default="npc")
    org_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    npc_pin_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Unit(Base):
    __tablename__ = "docflow_units"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("docflow_orgs.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))


class Person(Base):
    """An in-world person; ``address`` (the official e-mail) is also the login identity.
    ``role``: lanh_dao | chuyen_vien | van_thu; ``leads``: org | unit | none."""

    __tablename__ = "docflow_people"
    __table_args__ = (UniqueConstraint("sandbox_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("docflow_orgs.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("docflow_units.id", ondelete="SET NULL"), nullable=True)
    address: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    leads: Mapped[str] = mapped_column(String(10), default="none")


class Register(Base):
    """A register (sổ văn bản) of one organisation, kind ``den`` or ``di``, for one year."""

    __tablename__ = "docflow_registers"
    __table_args__ = (UniqueConstraint("org_id", "kind", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("docflow_orgs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class RegisterEntry(Base):
    """One number taken in a register: the unique constraint makes reuse impossible."""

    __tablename__ = "docflow_register_entries"
    __table_args__ = (UniqueConstraint("register_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    register_id: Mapped[int] = mapped_column(ForeignKey("docflow_registers.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(100), default="")
    doc_kind: Mapped[str] = mapped_column(String(3))  # in | out
    doc_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(320))


class IncomingDoc(Base):
    """A văn bản đến of ``org_id``. ``status``: registered | assigned | in_progress | done, or
    rejected (returned to the sender by the clerk)."""

    __tablename__ = "docflow_incoming"
    __table_args__ = (Index("ix_docflow_incoming_sb_org", "sandbox_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("docflow_orgs.id", ondelete="CASCADE"))
    arrival_number: Mapped[int] = mapped_column(Integer)
    arrival_year: Mapped[int] = mapped_column(Integer)
    arrival_date: Mapped[date] = mapped_column(Date)
    sender_name: Mapped[str] = mapped_column(String(300))
    original_symbol: Mapped[str] = mapped_column(String(100), default="")
    original_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    type_code: Mapped[str] = mapped_column(String(10), default="CV")
    summary: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(20), default="thuong")
    pdf_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    directive: Mapped[str] = mapped_column(Text, default="")
    directive_by: Mapped[str] = mapped_column(String(320), default="")
    directive_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    source_outgoing_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rejected_reason: Mapped[str] = mapped_column(Text, default="")
    to_unit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # delivered to a unit (internal)
    registered_by: Mapped[str] = mapped_column(String(320), default="")
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Assignment(Base):
    """A forwarding row (phiếu giải quyết): to a unit or a person, role xlc | ph | db.
    ``parent_id``: the unit assignment a unit leader passed on to one of the unit's people
    (the second level of the phiếu giải quyết); None at the organisation level."""

    __tablename__ = "docflow_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    incoming_id: Mapped[int] = mapped_column(ForeignKey("docflow_incoming.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(3))
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="unread")
    notes: Mapped[list] = mapped_column(JSON, default=list)
    assigned_by: Mapped[str] = mapped_column(String(320))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutgoingDoc(Base):
    """A văn bản đi from its first draft to the archive (statuses in :mod:`docflow.rules`)."""

    __tablename__ = "docflow_outgoing"
    __table_args__ = (Index("ix_docflow_outgoing_sb_org", "sandbox_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("docflow_orgs.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    type_code: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[list] = mapped_column(JSON, default=list)
    addressees: Mapped[list] = mapped_column(JSON, default=list)  # công văn "Kính gửi"
    drafter: Mapped[str] = mapped_column(String(320))
    signer_id: Mapped[int] = mapped_column(Integer)
    signer_title: Mapped[str] = mapped_column(String(300))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="drafting")
    version: Mapped[int] = mapped_column(Integer, default=1)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    symbol: Mapped[str] = mapped_column(String(100), default="")
    issued_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    draft_pdf: Mapped[str | None] = mapped_column(String(64), nullable=True)   # prepared, unsigned
    pdf_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)    # current
    layout: Mapped[dict] = mapped_column(JSON, default=dict)
    leader_signature: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    org_signature: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    signatures: Mapped[list] = mapped_column(JSON, default=list)  # every signature ever made, in order
    deliveries: Mapped[list] = mapped_column(JSON, default=list)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    clerk_refusal: Mapped[str] = mapped_column(Text, default="")
    forwarded_to_clerk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DraftVersion(Base):
    __tablename__ = "docflow_versions"
    __table_args__ = (UniqueConstraint("outgoing_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    outgoing_id: Mapped[int] = mapped_column(ForeignKey("docflow_outgoing.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[list] = mapped_column(JSON, default=list)
    pdf_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class Comment(Base):
    __tablename__ = "docflow_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = _sandbox_fk()
    outgoing_id: Mapped[int] = mapped_column(ForeignKey("docflow_outgoing.id", ondelete="CASCADE"), index=True)
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)


class DocEvent(Base):
    """One line of a document's history ("in" = incoming, "out" = outgoing)."""

    __tablename__ = "docflow_events"
    __table_args__ = (Index("ix_docflow_events_doc", "sandbox_id", "doc_kind", "doc_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey(_SB, ondelete="CASCADE"))
    doc_kind: Mapped[str] = mapped_column(String(3))
    doc_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    what: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class PageView(Base):
    """A person opened a page that a task may ask about (the tracking view, a document):
    the grader's evidence that the candidate looked (DOMAIN.md "Status check")."""

    __tablename__ = "docflow_views"
    __table_args__ = (Index("ix_docflow_views_sb_actor", "sandbox_id", "actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey(_SB, ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    page: Mapped[str] = mapped_column(String(40))
    doc_kind: Mapped[str | None] = mapped_column(String(3), nullable=True)
    doc_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
