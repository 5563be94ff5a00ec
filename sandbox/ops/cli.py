"""``sandbox backup --out FILE`` and ``sandbox restore FILE [--data-dir DIR] [--force]``: a whole
installation (database, blobs, secret, signing keys) in one ``.tar.gz`` (``sandbox.ops.backup``)."""
from __future__ import annotations

import sys

import click

from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


def _size(n: int) -> str:
    from sandbox.kernel.vnformat import file_size
    return file_size(n)


@click.command("backup")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="The archive to write (.tar.gz; it holds the secret and the CA keys: keep it safe).")
@click.pass_obj
def backup_cmd(obj, out_file):
    """Back the whole installation up (safe while it serves): SQLite online backup or pg_dump,
    the blobs, the secret key and the signing keys, with a manifest."""
    from .backup import backup

    try:
        outcome = backup(obj.settings, out_file)
    except SandboxError as e:
        _fail(e)
    click.echo(f"Đã sao lưu vào {outcome.path} ({_size(outcome.path.stat().st_size)}): {outcome.summary_vi()}.")
    click.echo("Tệp sao lưu chứa khoá bí mật và khoá ký số của cài đặt: hãy cất giữ an toàn.")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--data-dir", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Data folder to restore into (default: the installation's, --data-dir before the command).")
@click.option("--force", is_flag=True, help="Overwrite a non-empty data folder or database (its data is deleted).")
@click.pass_obj
def restore_cmd(obj, archive, data_dir, force):
    """Restore a backup into an empty data folder (and, for PostgreSQL, the database of
    --database-url, created when missing)."""
    from sandbox.kernel.settings import Settings

    from .backup import restore

    settings = obj.settings
    if data_dir:
        url = settings.database_url
        default_sqlite = url == f"sqlite:///{settings.data_dir / 'sandbox.db'}"
        settings = Settings(data_dir=data_dir, database_url=None if default_sqlite else url)
    try:
        outcome = restore(archive, settings, force=force)
    except SandboxError as e:
        _fail(e)
    m = outcome.manifest
    click.echo(f"Đã khôi phục {archive} (sao lưu lúc {m['created_at']}, phiên bản {m['version']}) vào "
               f"{outcome.path}: {outcome.summary_vi()}.")


def register(main) -> None:
    main.add_command(backup_cmd)
    main.add_command(restore_cmd)
