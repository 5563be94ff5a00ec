"""``sandbox deploy nginx``: the nginx configuration in front of the web workers and, when
asked, the SMTP/IMAP streams (template: :mod:`sandbox.deploy.templates`)."""
from __future__ import annotations

import sys

import click

from .nginx import DEBIAN_MODULES, NginxConfig, command_line, render, stream_support, upload_limit


@click.group()
def deploy():
    """Deployment files: nginx in front of `sandbox serve web --workers N` (docs/deployment.md)."""


@deploy.command("nginx")
@click.option("--web", "webs", multiple=True, required=True, metavar="HOST:PORT",
              help="A web server (`sandbox serve web --workers N --proxy-hops 1`); repeat for each machine.")
@click.option("--smtp", default=None, metavar="HOST:PORT", help="The SMTP server to stream to (needs the stream module).")
@click.option("--imap", default=None, metavar="HOST:PORT", help="The IMAP server to stream to (needs the stream module).")
@click.option("--listen-http", default="80", show_default=True, help="Where nginx takes HTTP (port or HOST:PORT).")
@click.option("--listen-smtp", default="25", show_default=True)
@click.option("--listen-imap", default="143", show_default=True)
@click.option("--server-name", default="_", show_default=True)
@click.option("--user", default="www-data", show_default=True,
              help="nginx's worker user when started as root (empty: no `user` line).")
@click.option("--run-dir", default=None, type=click.Path(file_okay=False),
              help="Logs and temporary files in this folder (default: /var/log/nginx, nginx's own temp paths).")
@click.option("--modules-include", default=DEBIAN_MODULES, show_default=True,
              help="Dynamic modules to load (Debian's stream module is one); empty: none.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: standard output).")
@click.pass_obj
def nginx(obj, webs, smtp, imap, listen_http, listen_smtp, listen_imap, server_name, user, run_dir,
          modules_include, out_file):
    """Write nginx.conf: an upstream of the web workers (next upstream on error, timeout, 502
    for idempotent requests), X-Forwarded-For/Proto/Host, the app's upload limit, and with
    --smtp/--imap TCP streams for the mail servers. Run the web app with --proxy-hops 1."""
    from pathlib import Path

    cfg = NginxConfig(list(webs), upload_limit(obj.settings), smtp=smtp, imap=imap, listen_http=listen_http,
                      listen_smtp=listen_smtp, listen_imap=listen_imap, server_name=server_name, user=user or None,
                      run_dir=str(Path(run_dir).resolve()) if run_dir else None,
                      modules_include=modules_include or None, command=command_line(sys.argv[1:]))
    problems = cfg.problems()
    if problems:
        for p in problems:
            click.echo(f"Lỗi: {p}", err=True)
        sys.exit(2)
    text = render(cfg)
    if out_file:
        Path(out_file).write_text(text, encoding="utf-8")
        click.echo(f"Đã ghi {out_file}. Kiểm tra: nginx -t -c {Path(out_file).resolve()}", err=True)
    else:
        click.echo(text, nl=False)
    if (smtp or imap) and stream_support() == "missing":
        click.echo("Chú ý: nginx ở máy này không có mô-đun stream (nginx-light của Debian): cài "
                   "libnginx-mod-stream (hoặc nginx-full) để chuyển tiếp SMTP/IMAP, hoặc bỏ --smtp/--imap "
                   "và để máy khách thư kết nối thẳng tới `sandbox serve smtp imap`.", err=True)


def register(main: click.Group) -> None:
    main.add_command(deploy)
