"""The `sandbox contest` click group; the command modules beside it attach their commands."""
from __future__ import annotations

import click


@click.group()
def contest():
    """Contest operations: create, roster, shifts, provisioning, scores, grading, report."""
