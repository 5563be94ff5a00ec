"""`sandbox db upgrade|current`: the schema's migrations from the command line.

Every command that opens the installation (``serve`` and the others) already upgrades a
schema that is behind; ``db upgrade`` does it alone (before starting several processes, or
to see what it did), ``db current`` only looks. Exit codes: 0 up to date, 1 behind (``current``
only), 2 a schema newer than this program (refused) or another error.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from sandbox.kernel import migrations
from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    if e.detail and e.detail != e.message_vi:
        click.echo(f"({e.detail})", err=True)
    sys.exit(2)


def _sqlite_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()


@click.group("db")
def db_group():
    """The database schema: upgrade, current revision."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(obj):
    """Apply the pending migrations (a fresh database is made, one from before migrations adopted)."""
    from sandbox.runtime import register_models

    settings = obj.settings
    settings.ensure_dirs()
    try:
        before, after = migrations.upgrade(settings.database_url, register_models())
    except SandboxError as e:
        _fail(e)
    was = ", ".join(before.current) or "(chưa có)"
    now = ", ".join(after.current)
    if before.current == after.current:
        click.echo(f"Lược đồ cơ sở dữ liệu đã ở phiên bản mới nhất: {now}.")
    elif before.kind == "fresh":
        click.echo(f"Đã tạo lược đồ cơ sở dữ liệu: {now}.")
    elif before.kind == "premigration":
        click.echo(f"Đã nhận cơ sở dữ liệu tạo trước khi có di trú (mốc {migrations.BASELINE}) và nâng cấp lên {now}.")
    else:
        click.echo(f"Đã nâng cấp lược đồ cơ sở dữ liệu từ {was} lên {now}.")


@db_group.command("current")
@click.pass_obj
def db_current(obj):
    """Print the schema's revision and whether it is behind the code (exit 1 when behind)."""
    from sandbox.runtime import register_models

    url = obj.settings.database_url
    if _sqlite_missing(url):
        st = migrations.Status("fresh", (), migrations.heads())
    else:
        try:
            st = migrations.status(url, register_models())
        except SandboxError as e:
            _fail(e)
    words = {
        "current": "đã ở phiên bản mới nhất",
        "behind": "cũ hơn chương trình: chạy `sandbox db upgrade` (mọi lệnh mở hệ thống cũng tự nâng cấp)",
        "fresh": "chưa có lược đồ: lần chạy đầu sẽ tạo",
        "premigration": "tạo trước khi có di trú: lần chạy đầu sẽ nhận ở mốc đầu tiên rồi nâng cấp",
        "ahead": "MỚI HƠN chương trình này: chương trình sẽ không chạy",
    }
    click.echo(f"Phiên bản lược đồ: {', '.join(st.current) or '(chưa có)'}")
    click.echo(f"Phiên bản của chương trình: {', '.join(st.heads)}")
    click.echo(f"Trạng thái: {words[st.kind]}")
    sys.exit({"current": 0, "ahead": 2}.get(st.kind, 1))


def register(main: click.Group) -> None:
    main.add_command(db_group)
