"""Tables of the organiser side (issue 7) that are not contest data proper: the people who
run a contest (organisers, examiners, trainers) and the provisioning jobs whose progress the
admin page polls. Imported by ``sandbox.contest.models`` so the runtime creates them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base

ADMIN_ROLES = {"organiser": "Ban tổ chức", "examiner": "Giám khảo", "trainer": "Giảng viên"}


class AdminUser(Base):
    """A person who logs into /quan-tri: organiser, examiner or trainer (Argon2 hash)."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))            # organiser | examiner | trainer
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(default=False)


class ProvisionJob(Base):
    """Building one shift's sandboxes: how far it got, so a page can show a progress bar."""

    __tablename__ = "contest_provision_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("contest_shifts.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")   # queued | running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    built: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    current: Mapped[str] = mapped_column(String(100), default="")
    errors: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
