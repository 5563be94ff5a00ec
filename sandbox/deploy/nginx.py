"""Rendering the nginx configuration (template and reasons: :mod:`sandbox.deploy.templates`)."""
from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .templates import NGINX

#: where Debian's nginx packages load their dynamic modules from (the stream module among them)
DEBIAN_MODULES = "/etc/nginx/modules-enabled/*.conf"
NGINX_BIN = "/usr/sbin/nginx"
_ADDRESS = re.compile(r"^(unix:/\S+|\[[0-9a-fA-F:]+\]:\d+|[A-Za-z0-9_.-]+:\d+)$")
_LISTEN = re.compile(r"^(\d+|\[[0-9a-fA-F:]+\]:\d+|[A-Za-z0-9_.-]+:\d+|unix:/\S+)$")


@dataclass
class NginxConfig:
    webs: list[str]                        # upstream web addresses (host:port)
    body_limit: int                        # bytes: the app's MAX_CONTENT_LENGTH
    smtp: str | None = None                # SMTP server's host:port (a stream when given)
    imap: str | None = None
    listen_http: str = "80"
    listen_smtp: str = "25"
    listen_imap: str = "143"
    server_name: str = "_"
    user: str | None = "www-data"          # workers' user when the master runs as root; None: omitted
    run_dir: str | None = None             # logs and temporary files here (default: Debian's paths)
    modules_include: str | None = DEBIAN_MODULES
    worker_connections: int = 8192
    command: str = field(default="sandbox deploy nginx")

    def problems(self) -> list[str]:
        """What is wrong with the values, in Vietnamese (empty when usable)."""
        out = []
        if not self.webs:
            out.append("cần ít nhất một địa chỉ web (--web HOST:CỔNG).")
        for w in self.webs:
            if not _ADDRESS.match(w):
                out.append(f"địa chỉ web không hợp lệ: {w!r} (dạng 127.0.0.1:8001).")
        for name, value in (("--smtp", self.smtp), ("--imap", self.imap)):
            if value is not None and not _ADDRESS.match(value):
                out.append(f"{name}: địa chỉ không hợp lệ: {value!r} (dạng 127.0.0.1:2526).")
        for name, value in (("--listen-http", self.listen_http), ("--listen-smtp", self.listen_smtp),
                            ("--listen-imap", self.listen_imap)):
            if not _LISTEN.match(value):
                out.append(f"{name}: giá trị không hợp lệ: {value!r} (một cổng, hoặc HOST:CỔNG).")
        return out


def upload_limit(settings) -> int:
    """The web app's upload limit (its ``MAX_CONTENT_LENGTH``): the message size limit plus
    1 MiB of form (``sandbox.web._configure``; a test keeps the two equal)."""
    return settings.max_message_size + 1024 * 1024


def render(cfg: NginxConfig) -> str:
    from jinja2 import Environment, StrictUndefined

    env = Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
                      autoescape=False)
    return env.from_string(NGINX).render(
        command=cfg.command, webs=cfg.webs, smtp=cfg.smtp, imap=cfg.imap, listen_http=cfg.listen_http,
        listen_smtp=cfg.listen_smtp, listen_imap=cfg.listen_imap, server_name=cfg.server_name, user=cfg.user,
        run_dir=cfg.run_dir, modules_include=cfg.modules_include, worker_connections=cfg.worker_connections,
        body_limit=cfg.body_limit, tries=len(cfg.webs))


def stream_support(nginx: str = NGINX_BIN) -> str | None:
    """Whether this machine's nginx can proxy TCP streams: ``"builtin"``, ``"module"`` (the
    dynamic module is installed), ``"missing"`` (e.g. Debian's nginx-light without
    libnginx-mod-stream), or None when there is no nginx here."""
    try:
        out = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    flags = out.stdout + out.stderr
    if re.search(r"--with-stream(\s|$)", flags):
        return "builtin"
    if "--with-stream=dynamic" in flags:
        m = re.search(r"--modules-path=(\S+)", flags)
        folder = Path(m.group(1) if m else "/usr/lib/nginx/modules")
        return "module" if (folder / "ngx_stream_module.so").exists() else "missing"
    return "missing"


def command_line(argv: list[str]) -> str:
    return "sandbox " + " ".join(shlex.quote(a) for a in argv)
