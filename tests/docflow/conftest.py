"""Docflow fixtures: the shared ``runtime`` (SQLite and PostgreSQL) with a pinned clock, and
a world built through the real actions with real PKI and tokens."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sandbox.kernel.clock import FixedClock

from .factories import make_docworld

#: 09:00 in Cần Thơ on Friday 14 March 2025.
START = datetime(2025, 3, 14, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(runtime):
    c = FixedClock(START)
    runtime.clock = c
    runtime.dispatcher.clock = c
    return c


@pytest.fixture
def dw(runtime, clock):
    """The docflow world with an automatic clerk."""
    return make_docworld(runtime)


@pytest.fixture
def dw_person_clerk(runtime, clock):
    """The same world where the clerk is played by a person (the candidate)."""
    return make_docworld(runtime, clerk_mode="person")
