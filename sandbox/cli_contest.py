"""`sandbox contest …`: everything an organiser does, so a contest can be run from a script.
The commands live with their code: organiser commands in ``sandbox.contest.cli_organiser``,
results and reports in ``sandbox.contest.cli_results``."""
from __future__ import annotations

import click


@click.group()
def contest():
    """Contest operations: create, roster, shifts, provisioning, scores, grading, report."""


def register(main: click.Group) -> None:
    from .contest import cli_organiser, cli_portal, cli_results  # noqa: F401  (attach their commands)

    main.add_command(contest)
    main.add_command(cli_organiser.admin)  # `sandbox admin add …`
