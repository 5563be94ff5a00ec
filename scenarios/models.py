"""What a sandbox built from a scenario remembers: which scenario, seed and values, who the
candidate is, and where the initial state's objects went (the grader's anchors)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class ScenarioInstance(Base):
    __tablename__ = "scenario_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), unique=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(1000), default="")  # the file, when not from the library
    title: Mapped[str] = mapped_column(String(300))
    seed: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)        # variant values, JSON form (dates ISO)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    candidate: Mapped[str] = mapped_column(String(40))        # person id
    candidate_address: Mapped[str] = mapped_column(String(320))
    anchors: Mapped[dict] = mapped_column(JSON)       # {"mail": {seed id: {...}}, "incoming": {...}, ...}
    rubric_version: Mapped[int] = mapped_column(Integer)
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
