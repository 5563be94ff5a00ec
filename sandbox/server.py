"""Runs the web app (waitress), the mail servers (SMTP, IMAP) and the job worker (the automatic
clerk's releases: ``sandbox.kernel.jobs``) in one process: a trainer's laptop needs nothing
else. At contest scale each part runs as its own process (``sandbox serve web|smtp|imap|worker``)
against PostgreSQL; several workers may run (they claim with ``SKIP LOCKED``)."""
from __future__ import annotations

import signal
import threading

from .runtime import Runtime


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
            from waitress.server import create_server

            from .web import create_app
            web = create_server(create_app(rt), host=host, port=http_port, threads=8, ident="Sandbox")
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
