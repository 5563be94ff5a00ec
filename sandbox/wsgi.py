"""The WSGI entry point, for any WSGI server::

    gunicorn --workers 4 --threads 8 --worker-class gthread sandbox.wsgi:app

``app`` is built lazily, once per process, on its first request: ``create_app(Runtime.open(
Settings()))``, the settings from the ``SANDBOX_*`` variables (``SANDBOX_DATA_DIR``,
``SANDBOX_DATABASE_URL``, ``SANDBOX_PROXY_HOPS``, …). Importing this module opens nothing, so a
server that imports the app before forking its workers (gunicorn's ``--preload``) still gives
each worker its own Runtime: SQLAlchemy engines (and their pooled connections, SQLite's
included) must not cross a fork. A process that forks after building it builds it again in the
child. ``sandbox serve web --workers N`` runs gunicorn this way (see ``docs/deployment.md``)."""
from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_built: tuple[int, object] | None = None     # (pid, the Flask app) of this process


def get_app(settings=None):
    """The web app of this process, built on first use (``settings``: the first caller's,
    else ``Settings()`` from the environment)."""
    global _built
    built = _built
    if built is not None and built[0] == os.getpid():
        return built[1]
    with _lock:
        if _built is None or _built[0] != os.getpid():
            from sandbox.kernel import logs
            from sandbox.kernel.settings import Settings
            from sandbox.runtime import Runtime
            from sandbox.web import create_app

            settings = settings or Settings()
            if not logs.configured():   # a worker of gunicorn (or any WSGI server): our logging
                logs.configure(settings)
            _built = (os.getpid(), create_app(Runtime.open(settings)))
        return _built[1]


def app(environ, start_response):
    """The WSGI callable: the process's app, built on the first request."""
    return get_app()(environ, start_response)


application = app   # the name some servers look for (mod_wsgi, uWSGI)
