"""The ``sandbox`` command: serve, accounts, demo. Errors print one Vietnamese line and exit 2."""
from __future__ import annotations

import sys

import click

from .errors import SandboxError
from .runtime import Runtime
from .settings import Settings


class _Ctx:
    def __init__(self, data_dir, database_url):
        self.settings = Settings(**({"data_dir": data_dir} if data_dir else {}), database_url=database_url)

    def runtime(self) -> Runtime:
        return Runtime.open(self.settings)


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.group()
@click.option("--data-dir", envvar="SANDBOX_DATA_DIR", type=click.Path(file_okay=False), default=None,
              help="Data folder (default ./sandbox-data).")
@click.option("--database-url", envvar="SANDBOX_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default SQLite in the data folder).")
@click.pass_context
def main(ctx, data_dir, database_url):
    """Practical-skills sandbox: mail, document workflow and signing for public servants."""
    ctx.obj = _Ctx(data_dir, database_url)


@main.command()
@click.argument("component", type=click.Choice(["all", "web", "smtp", "imap"]), default="all")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--http-port", default=8080, show_default=True, type=int)
@click.option("--smtp-port", default=2525, show_default=True, type=int)
@click.option("--imap-port", default=1143, show_default=True, type=int)
@click.pass_obj
def serve(obj: _Ctx, component, host, http_port, smtp_port, imap_port):
    """Run the web app and the mail servers (all in one process by default)."""
    from .server import serve as run
    components = {"web", "smtp", "imap"} if component == "all" else {component}
    run(obj.runtime(), host, http_port, smtp_port, components, imap_port=imap_port)


@main.group()
def account():
    """Mail accounts."""


@account.command("add")
@click.argument("sandbox_name")
@click.argument("address")
@click.option("--password", required=True, help="Password for webmail, SMTP and IMAP.")
@click.option("--name", "display_name", default="", help='Full name, e.g. "Nguyễn Văn An".')
@click.pass_obj
def account_add(obj: _Ctx, sandbox_name, address, password, display_name):
    """Create ADDRESS in SANDBOX_NAME (the sandbox is created if missing)."""
    from mailserver import api as mail_api

    from .sandboxes import get_or_create_sandbox
    rt = obj.runtime()
    try:
        sandbox_id = get_or_create_sandbox(rt.db, rt.clock, sandbox_name)
        mail_api.add_account(rt.dispatcher, rt.secret, sandbox_id, address, password, display_name, actor="cli")
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã tạo tài khoản {address.strip().lower()} trong sandbox {sandbox_name}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--http-port", default=8080, show_default=True, type=int)
@click.option("--smtp-port", default=2525, show_default=True, type=int)
@click.option("--imap-port", default=1143, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only build the demo world and print the logins.")
@click.pass_obj
def demo(obj: _Ctx, host, http_port, smtp_port, imap_port, no_serve):
    """Build a demo world (a few accounts and messages) and serve it."""
    from .demo import build_demo, describe
    rt = obj.runtime()
    try:
        info = build_demo(rt)
    except SandboxError as e:
        _fail(e)
    click.echo(describe(info, host, http_port, smtp_port, imap_port, rt.settings))
    if no_serve:
        rt.close()
        return
    from .server import serve as run
    run(rt, host, http_port, smtp_port, {"web", "smtp", "imap"}, imap_port=imap_port)


@main.group()
def sign():
    """Digital signing (Decree 30 two-layer signing)."""


@sign.command("example")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
def sign_example(out_dir):
    """Write draft.pdf, leader-signed.pdf, issued.pdf (two layers) and root.pem of a throwaway world."""
    from pathlib import Path

    from signing.example import write_example
    try:
        paths = write_example(Path(out_dir))
    except SandboxError as e:
        _fail(e)
    for name, path in paths.items():
        click.echo(f"Đã ghi {path}")


if __name__ == "__main__":
    main()
