"""Tables of re-grading and appeals (issue 8), used only by :mod:`sandbox.appeals.api`.

- ``GradeRecord``: every score report kept for a sandbox, with the rubric version it used,
  who/when/why, and which one is current. Standalone sandboxes and contest candidates alike
  (a contest candidate's ``PartScore`` mirrors the current record's points).
- ``RegradeRun``: one applied re-grade (corrected scenario file, versions, by, reason, the
  affected candidates with old and new totals): the audit of a rubric change.
- ``Appeal``: a phúc khảo from request to signed answer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class RegradeRun(Base):
    __tablename__ = "grade_regrade_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text, default="")
    new_version: Mapped[int] = mapped_column(Integer)
    old_versions: Mapped[list] = mapped_column(JSON, default=list)
    contest_code: Mapped[str] = mapped_column(String(60), default="")
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    rubric_changes: Mapped[list] = mapped_column(JSON, default=list)
    graded: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"name", "label", "old_total", "new_total", "old_max", "new_max", "changes": [...]}] affected only
    affected: Mapped[list] = mapped_column(JSON, default=list)


class GradeRecord(Base):
    __tablename__ = "grade_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))        # grade | regrade | appeal
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("grade_regrade_runs.id"), nullable=True)
    appeal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Appeal(Base):
    __tablename__ = "grade_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    contest_code: Mapped[str] = mapped_column(String(60), default="")
    candidate_number: Mapped[str] = mapped_column(String(20), default="")
    candidate_name: Mapped[str] = mapped_column(String(200), default="")
    criteria: Mapped[list] = mapped_column(JSON)                     # disputed criterion ids
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="submitted")   # submitted | reviewed | decided
    first_record_id: Mapped[int] = mapped_column(Integer)            # the report disputed
    reviewer: Mapped[str] = mapped_column(String(200), default="")
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: the disputed criteria's evidence as reviewed, and the replay's result when run
    review: Mapped[dict] = mapped_column(JSON, default=dict)
    decision: Mapped[str] = mapped_column(String(20), default="")    # upheld | changed
    decision_text: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: [{"criterion", "from", "to", "points", "reason"}]
    adjustments: Mapped[list] = mapped_column(JSON, default=list)
    old_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    new_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answer_blob: Mapped[str] = mapped_column(String(64), default="")
