"""`sandbox demo`: build the demo world and the demo contest, print the logins, serve."""
from __future__ import annotations

import sys

import click

from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--http-port", default=8080, show_default=True, type=int)
@click.option("--smtp-port", default=2525, show_default=True, type=int)
@click.option("--imap-port", default=1143, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only build the demo world and print the logins.")
@click.pass_obj
def demo(obj, host, http_port, smtp_port, imap_port, no_serve):
    """Build a demo world (accounts, messages, tokens), a demo contest (six candidates, their
    sandboxes, admin accounts) and a practice sandbox, and serve them."""
    from sandbox.demo.world import build_demo, describe
    from sandbox.demo.contest import build_demo_contest, describe_contest
    rt = obj.runtime()
    try:
        info = build_demo(rt)
        contest = build_demo_contest(rt)
    except SandboxError as e:
        _fail(e)
    click.echo(describe(info, host, http_port, smtp_port, imap_port, rt.settings))
    click.echo(describe_contest(contest, f"http://{host}:{http_port}"))
    if no_serve:
        rt.close()
        return
    from sandbox.server import serve as run
    run(rt, host, http_port, smtp_port, {"web", "smtp", "imap"}, imap_port=imap_port)


def register(main: click.Group) -> None:
    main.add_command(demo)
