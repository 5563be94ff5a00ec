"""Commands of `sandbox contest` (see sandbox/cli_contest.py) for the organiser, and the
`sandbox admin` group (organiser, examiner and trainer logins for /quan-tri)."""
from __future__ import annotations

import sys

import click

from sandbox.cli_contest import contest  # noqa: F401
from sandbox.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.group()
def admin():
    """Logins of organisers, examiners and trainers (the /quan-tri pages)."""


@admin.command("add")
@click.argument("login")
@click.option("--name", "full_name", required=True, help='Full name, e.g. "Nguyễn Văn An".')
@click.option("--role", type=click.Choice(["organiser", "examiner", "trainer"]), required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.pass_obj
def admin_add(obj, login, full_name, role, password):
    """Create (or reset) the admin login LOGIN."""
    from .api import add_admin
    rt = obj.runtime()
    try:
        ref = add_admin(rt, login, full_name, role, password)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã tạo tài khoản quản trị {ref.login} ({ref.full_name}, {ref.role_vi}).")


@admin.command("list")
@click.pass_obj
def admin_list(obj):
    """The admin logins."""
    from .api import list_admins
    rt = obj.runtime()
    try:
        for ref in list_admins(rt):
            click.echo(f"{ref.login:24} {ref.role_vi:12} {ref.full_name}")
    finally:
        rt.close()
