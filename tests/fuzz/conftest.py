"""Fuzzing with hypothesis (issue 16). Two settings profiles:

* ``default`` (``make test``): a few hundred inputs per target;
* ``fuzz`` (``make fuzz``, ``HYPOTHESIS_PROFILE=fuzz``): 10,000 inputs per target.

No example database is written (nothing lands in the working tree) and there is no deadline
(the suite never asserts timings). Each target counts the inputs it was given
(``count(target)``); the summary at the end prints, per target, the inputs tried and the
crashes (a crash is an exception outside the target's documented contract: hypothesis
shrinks it and the test fails with the minimal input)."""
from __future__ import annotations

import collections
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("default", max_examples=300, **_COMMON)
settings.register_profile("fuzz", max_examples=10_000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

INPUTS: collections.Counter = collections.Counter()
CRASHES: collections.Counter = collections.Counter()


def count(target: str) -> None:
    INPUTS[target] += 1


def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed and "tests/fuzz/" in report.nodeid:
        CRASHES[report.nodeid.split("::")[-1]] += 1


def pytest_terminal_summary(terminalreporter):
    if not INPUTS and not CRASHES:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
    tr = terminalreporter
    tr.section(f"fuzzing (hypothesis profile {profile!r})")
    for target in sorted(set(INPUTS) | set(CRASHES)):
        tr.write_line(f"{target:<40} inputs {INPUTS[target]:>7,}   crashes {CRASHES[target]}")


PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")


def budget(n: int):
    """``@budget(n)``: at most ``n`` inputs in ``make test`` for a slow target (about 20 ms an
    input); the fuzz profile keeps its 10,000."""
    if PROFILE == "default":
        return settings(max_examples=n)
    return lambda fn: fn
