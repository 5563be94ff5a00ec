"""Commands of `sandbox contest` for the candidate portal: importing a theory question bank
and the deadline sweep (auto-submission of every attempt whose time is up)."""
from __future__ import annotations

import sys

import click

from sandbox.contest.cli.group import contest
from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@contest.command("import-bank")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def import_bank_cmd(obj, name, file):
    """Import the theory question bank NAME from FILE (.xlsx or .yaml); all or nothing."""
    from sandbox.contest.theory import import_bank
    rt = obj.runtime()
    try:
        n = import_bank(rt, name, file)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã nhập {n} câu hỏi vào ngân hàng «{name}».")


@contest.command("sweep")
@click.argument("contest_id")
@click.pass_obj
def sweep_cmd(obj, contest_id):
    """Finish every attempt of contest CONTEST_ID whose deadline has passed (the theory part
    is submitted and scored automatically). Safe to run every minute."""
    from sandbox.contest.session import contest_by_code, sweep
    rt = obj.runtime()
    try:
        n = sweep(rt, contest_by_code(rt, contest_id).id)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã thu bài tự động {n} thí sinh hết giờ.")
