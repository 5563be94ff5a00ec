"""Kernel tables: the sandbox record and its hash-chained action log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class Sandbox(Base):
    """One candidate's (or trainee's, or demo's) isolated world."""

    __tablename__ = "sandboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    scenario: Mapped[str] = mapped_column(String(200), default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    log_seq: Mapped[int] = mapped_column(Integer, default=0)
    log_head: Mapped[str] = mapped_column(String(64), default="0" * 64)  # hash of the last log entry
    #: after this moment the sandbox is read-only for people (the exam's deadline): every door
    #: (web, SMTP, IMAP) goes through the dispatcher, which refuses their actions
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)
    #: set when a practice sandbox is restarted: kept for the record, no longer logged into
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)


class Action(Base):
    """One entry of a sandbox's action log (DESIGN.md §3)."""

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("sandbox_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON)
    result_digest: Mapped[str] = mapped_column(String(64))
    #: the door it came through: web | smtp | imap | cli (None: the system, e.g. building)
    door: Mapped[str | None] = mapped_column(String(10), nullable=True, default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    #: the sandbox's state after the action: a digest of ``state_parts`` (covered by the chain)
    #: and a short digest per package section (``sandbox.kernel.actions.state_parts``); None on entries
    #: recorded before state digests existed
    state_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    state_parts: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)
    #: the ids of the rows the action created, by id kind (``{"item": [41, 42]}``; None: none,
    #: or recorded before this existed): how a replay pairs old ids with new ones
    created: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)
