"""A candidate's activity (``Attempt.last_seen``, ``last_seat``, ``part``): what is worth a
write. Most requests of an exam change nothing the examiner sees, so they stay reads."""
from __future__ import annotations

from datetime import datetime

from sandbox.kernel.clock import as_utc

#: a page or a poll that changes nothing else records the candidate's activity at most this
#: often (well inside the examiner's ``session.ONLINE_SECONDS``)
SEEN_EVERY_SECONDS = 20


def worth_recording(now: datetime, last_seen: datetime | None, last_seat: str, part: str, finished: bool, *,
                    seat: str | None = None, new_part: str | None = None) -> dict:
    """The activity columns a request should write (empty: nothing worth a write): a new
    seat, a new part (not once finished), or the last sighting older than
    ``SEEN_EVERY_SECONDS``."""
    values: dict = {}
    if seat is not None and seat != (last_seat or ""):
        values["last_seat"] = seat
    if new_part is not None and not finished and new_part != (part or ""):
        values["part"] = new_part
    if values or last_seen is None or (as_utc(now) - as_utc(last_seen)).total_seconds() >= SEEN_EVERY_SECONDS:
        values["last_seen"] = now
    return values
