"""Runs the web app (waitress), the mail servers (SMTP, IMAP) and the job worker (the automatic
clerk's releases: ``sandbox.kernel.jobs``) in one process: a trainer's laptop needs nothing
else. At contest scale each part runs as its own process (``sandbox serve web|smtp|imap|worker``)
against PostgreSQL; several workers may run (they claim with ``SKIP LOCKED``)."""
from __future__ import annotations

import signal
import threading

from .runtime import Runtime

#: waitress: idle kept-alive connections are closed after this many seconds; the listening
#: socket's queue holds connections beyond the limit until a slot frees.
CHANNEL_TIMEOUT = 60
BACKLOG = 2048


def web_server(app, rt: Runtime, host: str, port: int):
    """The waitress server of the web app, sized for a whole shift: ``threads`` workers and up
    to ``connection_limit`` open connections (settings ``web_threads``/``web_connection_limit``,
    ``SANDBOX_WEB_THREADS``/``SANDBOX_WEB_CONNECTIONS``). poll() instead of select(), whose
    1024-descriptor ceiling a thousand connections would pass."""
    from waitress.server import create_server

    limit = rt.settings.web_connection_limit
    _raise_open_files(limit + 256)  # the database, the blobs, SMTP and IMAP beside the connections
    return create_server(app, host=host, port=port, threads=rt.settings.web_threads, connection_limit=limit,
                         channel_timeout=CHANNEL_TIMEOUT, backlog=BACKLOG, asyncore_use_poll=True,
                         ident="Sandbox")


def _raise_open_files(wanted: int) -> None:
    """Raise the soft limit of open files towards ``wanted`` (never above the hard limit)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass


def serve(rt: Runtime, host: str, http_port: int, smtp_port: int, components: set[str], *,
          imap_port: int = 1143, announce=print) -> None:
    """Start the chosen components and block until SIGINT/SIGTERM."""
    stop = threading.Event()
    smtp = None
    imap = None
    web = None
    worker = None
    try:
        if "worker" in components:
            from sandbox.kernel.jobs import Worker
            worker = Worker(rt).start()
            announce("Xử lý việc nền (văn thư tự động): đang chạy")
        if "smtp" in components:
            from mailserver.smtp import SubmissionController
            smtp = SubmissionController(rt, host, smtp_port)
            smtp.start()
            announce(f"SMTP (submission, AUTH required): {host}:{smtp_port}")
        if "imap" in components:
            from mailserver.imap.server import IMAPController
            imap = IMAPController(rt, host, imap_port)
            imap.start()
            announce(f"IMAP: {host}:{imap_port}")
        if "web" in components:
            from .web import create_app
            web = web_server(create_app(rt), rt, host, http_port)
            announce(f"Web: http://{host}:{http_port}/")
            threading.Thread(target=web.run, name="web", daemon=True).start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                signal.signal(sig, lambda *_: stop.set())
            except ValueError:  # not the main thread (tests)
                pass
        announce("Sẵn sàng. Nhấn Ctrl+C để dừng.")
        stop.wait()
    finally:
        if web is not None:
            web.close()
        if worker is not None:
            worker.stop()
        if smtp is not None:
            smtp.stop()
        if imap is not None:
            imap.stop()
        rt.close()
