"""Contest operations tables (issue 7): the contest and its rules, units and candidates,
shifts and rooms, the theory bank and papers, part scores, and an audit of every organiser
decision. These live above the sandboxes: a candidate's practical part is one sandbox
(``Candidate.sandbox_name``), built from the shift's exam set.

Only this package queries these tables (DESIGN.md §2); other code goes through
``sandbox.contest.api``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base

TIERS = {"so": "Cấp sở", "huyen": "Cấp huyện", "xa": "Cấp xã"}
PART_KINDS = ("theory", "practical", "imported")


class Contest(Base):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)        # the CLI's ID, e.g. "cds2023"
    name: Mapped[str] = mapped_column(String(300))
    year: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    #: declared rules (shown on the contest page); see sandbox.contest.rules.DEFAULT_RULES
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContestPart(Base):
    __tablename__ = "contest_parts"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))          # "Lý thuyết", "Thực hành"
    kind: Mapped[str] = mapped_column(String(20))           # theory | practical | imported
    points: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: theory: {"bank": name, "questions": n}; practical: nothing (the shift's exam set)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)


class ContestUnit(Base):
    """A participating unit (cơ quan, đơn vị) and its tier: sở / huyện / xã."""

    __tablename__ = "contest_units"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    tier: Mapped[str] = mapped_column(String(10))            # so | huyen | xa


class Shift(Base):
    """A ca thi: when it starts, its exam set and its backup set (scenario ids)."""

    __tablename__ = "contest_shifts"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    backup_scenario_id: Mapped[str] = mapped_column(String(100), default="")


class Room(Base):
    __tablename__ = "contest_rooms"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    seats: Mapped[int] = mapped_column(Integer, default=40)


class Candidate(Base):
    """A person on the roster, with their candidate number (số báo danh)."""

    __tablename__ = "contest_candidates"
    __table_args__ = (UniqueConstraint("contest_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))                   # số báo danh
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("contest_units.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("contest_shifts.id"), nullable=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("contest_rooms.id"), nullable=True)
    seat: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the exam set actually given (the shift's, or its backup after a switch)
    scenario_id: Mapped[str] = mapped_column(String(100), default="")
    backup_reason: Mapped[str] = mapped_column(Text, default="")
    sandbox_name: Mapped[str] = mapped_column(String(100), default="")   # the practical part
    seed: Mapped[int] = mapped_column(Integer, default=0)
    attendance: Mapped[str] = mapped_column(String(10), default="")     # "" unknown | present | absent
    absence_reason: Mapped[str] = mapped_column(Text, default="")


class Attempt(Base):
    """A candidate's exam session: the server's clock decides (start, deadline, extensions),
    whatever seat or browser the candidate uses."""

    __tablename__ = "contest_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("contest_candidates.id", ondelete="CASCADE"), unique=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    part: Mapped[str] = mapped_column(String(100), default="")          # where the candidate is now
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_seat: Mapped[str] = mapped_column(String(200), default="")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Question(Base):
    """A theory question of a bank (imported from Excel): text, options, correct option(s),
    topic, and the source it is checked against."""

    __tablename__ = "contest_questions"
    __table_args__ = (UniqueConstraint("bank", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON)            # ["...", "...", ...]
    correct: Mapped[list] = mapped_column(JSON)            # indexes into options
    topic: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text, default="")


class TheoryPaper(Base):
    """The questions drawn for one candidate, each with its options' shuffled order, and the
    answers as they were autosaved."""

    __tablename__ = "contest_theory_papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("contest_candidates.id", ondelete="CASCADE"), unique=True)
    items: Mapped[list] = mapped_column(JSON)              # [{"question_id": 12, "order": [2, 0, 3, 1]}, ...]
    answers: Mapped[dict] = mapped_column(JSON, default=dict)   # {"12": [original option indexes]}
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)


class PartScore(Base):
    __tablename__ = "contest_part_scores"
    __table_args__ = (UniqueConstraint("candidate_id", "part_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("contest_candidates.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("contest_parts.id", ondelete="CASCADE"))
    points: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))        # theory | grader | import | manual
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)   # the grader's score report
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContestEvent(Base):
    """Every organiser/examiner decision, with who, when and why (backup switch, time
    extension, attendance, imports, grading)."""

    __tablename__ = "contest_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("contest_candidates.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")


from .admin_models import AdminUser, ProvisionJob  # noqa: E402,F401  (organiser tables; created with these)
