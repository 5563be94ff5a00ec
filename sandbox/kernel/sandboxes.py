"""Creating and finding sandbox records."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.kernel.clock import Clock
from sandbox.kernel.db import Database
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Sandbox

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def get_or_create_sandbox(db: Database, clock: Clock, name: str, *, title: str = "", scenario: str = "", seed: int = 0) -> int:
    """Return the id of the sandbox called ``name``, creating it if missing."""
    if not _NAME_RE.match(name or ""):
        raise SandboxError(f"Tên sandbox không hợp lệ: «{name}» (chỉ dùng chữ không dấu, số, '.', '_', '-').",
                           f"bad sandbox name {name!r}")
    with db.write() as s:
        existing = s.scalar(select(Sandbox.id).where(Sandbox.name == name))
        if existing is not None:
            return existing
        sb = Sandbox(name=name, title=title, scenario=scenario, seed=seed, created_at=clock.now())
        s.add(sb)
        s.flush()
        return sb.id


def find_sandbox(session: Session, name: str) -> Sandbox | None:
    return session.scalar(select(Sandbox).where(Sandbox.name == name))


def archive_sandbox(db: Database, clock: Clock, sandbox_id: int) -> str:
    """Set a sandbox aside (a trainee's "Làm lại"): renamed ``<name>~<n>`` so its name is free
    for a fresh build, marked archived so nobody logs into it again; its log and state stay."""
    with db.write() as s:
        sb = s.get(Sandbox, sandbox_id)
        if sb is None:
            raise SandboxError("Không tìm thấy sandbox.", f"sandbox {sandbox_id}")
        base = sb.name.split("~", 1)[0]
        n = 1 + len(s.scalars(select(Sandbox.id).where(Sandbox.name.like(base + "~%"))).all())
        sb.name, sb.archived_at = f"{base}~{n}", clock.now()
        return sb.name


def set_closing_time(db: Database, sandbox_id: int, closes_at) -> None:
    """The exam's deadline for a sandbox (None: open): after it, people's actions are refused
    at every door (``Dispatcher.dispatch``)."""
    with db.write() as s:
        sb = s.get(Sandbox, sandbox_id)
        if sb is None:
            raise SandboxError("Không tìm thấy sandbox.", f"sandbox {sandbox_id}")
        sb.closes_at = closes_at


def delete_sandbox(db: Database, sandbox_id: int) -> int:
    """Remove a sandbox for good: every row of it in every package's tables (each carries
    ``sandbox_id``; dependent tables first), then its record. Returns the number of rows
    removed. Meant for throw-away copies (a replay's); blobs are shared by content and stay."""
    from sandbox.kernel.db import Base

    removed = 0
    with db.write() as s:
        if s.get(Sandbox, sandbox_id) is None:
            raise SandboxError("Không tìm thấy sandbox.", f"sandbox {sandbox_id}")
        for table in reversed(Base.metadata.sorted_tables):
            col = table.c.get("sandbox_id")
            if col is not None:
                removed += s.execute(table.delete().where(col == sandbox_id)).rowcount or 0
        s.execute(Sandbox.__table__.delete().where(Sandbox.id == sandbox_id))
    return removed + 1
