"""Injectable clocks: code asks a clock for the time, never ``datetime.now()`` directly,
so tests and replay can pin it."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")


class Clock:
    """The real wall clock, in UTC (aware datetimes)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    """A clock that only moves when told to (tests, replay)."""

    def __init__(self, at: datetime | None = None):
        self._at = at or datetime(2024, 6, 3, 1, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at

    def advance(self, **delta) -> datetime:
        with self._lock:
            self._at += timedelta(**delta)
            return self._at


def as_utc(value: datetime) -> datetime:
    """Databases may hand naive datetimes back (SQLite); all stored times are UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
