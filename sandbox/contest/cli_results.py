"""Commands of `sandbox contest` (see sandbox/cli_contest.py)."""
from __future__ import annotations

from sandbox.cli_contest import contest  # noqa: F401
