"""The one place where docflow reads are scoped to a sandbox (DESIGN.md §2): every read of
the API goes through a :class:`Scoped` built from ``(session, sandbox_id)``; its methods add
``model.sandbox_id == sandbox_id`` to every query, so no view has to remember the filter."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


class Scoped:
    def __init__(self, session: Session, sandbox_id: int):
        self.session = session
        self.sandbox_id = int(sandbox_id)

    def select(self, model, *where) -> Any:
        return select(model).where(model.sandbox_id == self.sandbox_id, *where)

    def get(self, model, id_) -> Any | None:
        try:
            id_ = int(id_)
        except (TypeError, ValueError):
            return None
        row = self.session.get(model, id_)
        return row if row is not None and row.sandbox_id == self.sandbox_id else None

    def all(self, model, *where, order_by=None, limit: int | None = None, offset: int = 0) -> list:
        q = self.select(model, *where)
        if order_by is not None:
            q = q.order_by(*order_by) if isinstance(order_by, (list, tuple)) else q.order_by(order_by)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return list(self.session.scalars(q))

    def first(self, model, *where, order_by=None) -> Any | None:
        rows = self.all(model, *where, order_by=order_by, limit=1)
        return rows[0] if rows else None

    def rows(self, columns: list, models: list, *where, join=None) -> list:
        """Plain rows of ``columns`` (no ORM objects: fast for lists); every model in
        ``models`` is scoped to the sandbox; ``join`` is ``(model, onclause)``."""
        q = select(*columns)
        if join is not None:
            q = q.join(*join)
        q = q.where(*[m.sandbox_id == self.sandbox_id for m in models], *where)
        return list(self.session.execute(q).all())

    def count(self, model, *where) -> int:
        return int(self.session.scalar(select(func.count()).select_from(model).where(
            model.sandbox_id == self.sandbox_id, *where)) or 0)

    def grouped_count(self, model, column, *where) -> dict:
        rows = self.session.execute(select(column, func.count()).where(
            model.sandbox_id == self.sandbox_id, *where).group_by(column))
        return {k: int(v) for k, v in rows}
