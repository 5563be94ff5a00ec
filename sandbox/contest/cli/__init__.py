"""`sandbox contest …`: everything an organiser does, so a contest can be run from a script.

The group is defined in ``group.py``; the commands live beside it by audience: the organiser's
(and the `sandbox admin` group) in ``organiser.py``, the candidate portal's in ``portal.py``,
results and reports in ``results.py``. None of them imports this module."""
from __future__ import annotations

import click

from sandbox.contest.cli import organiser, portal, results  # noqa: F401  (attach their commands)
from sandbox.contest.cli.group import contest


def register(main: click.Group) -> None:
    main.add_command(contest)
    main.add_command(organiser.admin)  # `sandbox admin add …`
