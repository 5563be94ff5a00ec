"""Runs the web app (waitress), the mail servers (SMTP, IMAP) and the job worker (the automatic
clerk's releases: ``sandbox.kernel.jobs``) in one process: a trainer's laptop needs nothing
else. At contest scale each part runs as its own process (``sandbox serve web|smtp|imap|worker``)
against PostgreSQL; several workers may run (they claim with ``SKIP LOCKED``).

``serve web --workers N`` (issue 15) runs the web app on gunicorn instead (:func:`serve_workers`:
N forked worker processes with threads, restarted when one dies), the shape behind nginx
(``sandbox deploy nginx``, ``docs/deployment.md``)."""
from __future__ import annotations

import os
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
    from sandbox.kernel import logs
    logs.configure(rt.settings)  # stderr + data-dir/logs/sandbox.log (issue 15: docs/operations.md)
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


# --- the web app on gunicorn: several worker processes (issue 15) -------------------------------

#: gunicorn: a worker silent this long is killed and replaced; a stopping worker finishes its
#: requests within GRACEFUL_TIMEOUT; idle kept-alive connections (nginx's) close after KEEPALIVE
WORKER_TIMEOUT = 60
GRACEFUL_TIMEOUT = 30
KEEPALIVE = 5


def gunicorn_available() -> bool:
    """gunicorn can run here: a POSIX system (it forks; not Windows) with gunicorn installed."""
    if os.name != "posix":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def gunicorn_options(settings, host: str, port: int, workers: int, threads: int) -> dict:
    """gunicorn's settings for the web app: gthread workers, no preload (each worker opens its
    own Runtime after the fork), no control socket (one per user by default: two instances
    would share it), and no forwarded-header handling of its own (the app's ``ProxyFix``
    believes exactly ``settings.proxy_hops`` proxies; gunicorn would trust X-Forwarded-Proto
    from any loopback peer)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {"bind": [bind], "workers": workers, "threads": threads, "worker_class": "gthread",
            "preload_app": False, "timeout": WORKER_TIMEOUT, "graceful_timeout": GRACEFUL_TIMEOUT,
            "keepalive": KEEPALIVE, "worker_connections": settings.web_connection_limit, "backlog": BACKLOG,
            "forwarded_allow_ips": "", "secure_scheme_headers": {}, "control_socket_disable": True,
            "proc_name": "sandbox-web", "errorlog": "-", "loglevel": "info"}


def serve_workers(settings, host: str, port: int, workers: int, threads: int, *, announce=print) -> None:
    """The web app on gunicorn until SIGTERM (graceful) or SIGINT: this process is the master,
    it forks ``workers`` processes of ``threads`` threads and replaces any that dies. The
    schema and the installation's secret are made here first and the master's engine closed
    before any fork, so workers starting together do not race to make them and no engine
    crosses a fork."""
    from gunicorn.app.base import BaseApplication

    rt = Runtime.open(settings)
    try:
        rt.secret  # noqa: B018  (made once, in data-dir/secret.key)
    finally:
        rt.close()
    _raise_open_files(settings.web_connection_limit * workers + 256)
    options = gunicorn_options(settings, host, port, workers, threads)

    class _Gunicorn(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):      # in each worker, after the fork
            from .wsgi import get_app
            return get_app(settings)

    announce(f"Web: http://{host}:{port}/ (gunicorn: {workers} tiến trình × {threads} luồng"
             f"{f', tin {settings.proxy_hops} proxy' if settings.proxy_hops else ''})")
    _Gunicorn().run()
