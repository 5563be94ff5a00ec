"""Tables of drill classes (lớp luyện tập, issue 8): the class a trainer runs, its trainees,
one practice sandbox per trainee and drill (a "slot"), and the trainer's resets.

Sandboxes are referred to by name, not id: a restart ("Làm lại", or the trainer's reset)
sets the old sandbox aside and builds a new one under the same name."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class TrainingClass(Base):
    """A drill class: the drills (or an exam set) in practice mode and who joins."""

    __tablename__ = "training_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: ASCII prefix of the class's sandbox names (``<slug>.hv001.1``)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    #: trainees enter it to join (upper case); None: roster only
    join_code: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    #: scenario references (library ids or .yaml paths), in order; a slot's position is its index + 1
    items: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)


class Trainee(Base):
    __tablename__ = "training_trainees"
    __table_args__ = (UniqueConstraint("class_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)             # 1, 2, … in the order they joined
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    via: Mapped[str] = mapped_column(String(10))             # code | roster
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrainingSlot(Base):
    """One trainee × one drill = one practice sandbox, named deterministically."""

    __tablename__ = "training_slots"
    __table_args__ = (UniqueConstraint("trainee_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("training_trainees.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    scenario_ref: Mapped[str] = mapped_column(String(500))
    sandbox_name: Mapped[str] = mapped_column(String(100), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    #: each criterion's outcome on the untouched sandbox (to tell "not yet" from "failed")
    baseline: Mapped[dict] = mapped_column(JSON, default=dict)
    baseline_sandbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)


class TrainingReset(Base):
    """The trainer set a trainee's drill back to its initial state: who, when, what was kept."""

    __tablename__ = "training_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("training_trainees.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("training_slots.id", ondelete="CASCADE"))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    archived_as: Mapped[str] = mapped_column(String(120), default="")   # the old attempt, kept
    new_sandbox_id: Mapped[int] = mapped_column(Integer)
