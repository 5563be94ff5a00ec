"""Static files (the app's and every blueprint's ``static`` folder) with content-versioned URLs
and a long browser cache.

``url_for('static' | '<blueprint>.static', filename=...)`` adds ``?v=<12 hex digits of the
file's SHA-256>``: a changed file gets a new URL. The version is computed once per file content
in this process (the file's mtime and size are checked with one ``stat`` per URL, so an edited
file is hashed again and gets a new URL without a restart). A static response requested with
the file's current version is cacheable for a year and ``immutable`` (the browser never asks
again); without a version, or with an outdated one, Flask's default (``no-cache``, revalidated
with its ETag) stays, so an old URL never pins new content. Pages are not touched: their
cache headers are their own (private, per candidate)."""
from __future__ import annotations

import hashlib
import os
import stat
import threading

from flask import Flask, current_app, request
from werkzeug.security import safe_join

__all__ = ["VERSION_ARG", "MAX_AGE", "STATIC_CACHE_CONTROL", "init_app", "file_version", "is_static_endpoint"]

VERSION_ARG = "v"
MAX_AGE = 365 * 24 * 3600
STATIC_CACHE_CONTROL = f"public, max-age={MAX_AGE}, immutable"

#: file path -> (mtime_ns, size, version)
_versions: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def is_static_endpoint(endpoint: str | None) -> bool:
    return bool(endpoint) and (endpoint == "static" or endpoint.endswith(".static"))


def _static_folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    bp = app.blueprints.get(endpoint.rsplit(".", 1)[0])
    return bp.static_folder if bp is not None else None


def file_version(folder: str | None, filename: str) -> str | None:
    """The content version of ``folder/filename`` (None if it is not a readable file)."""
    if not folder or not filename:
        return None
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    with _lock:
        known = _versions.get(path)
    if known is not None and known[0] == st.st_mtime_ns and known[1] == st.st_size:
        return known[2]
    try:
        with open(path, "rb") as f:
            version = hashlib.sha256(f.read()).hexdigest()[:12]
    except OSError:
        return None
    with _lock:
        _versions[path] = (st.st_mtime_ns, st.st_size, version)
    return version


def _add_version(endpoint: str, values: dict) -> None:
    if not is_static_endpoint(endpoint) or VERSION_ARG in values or not values.get("filename"):
        return
    version = file_version(_static_folder(current_app, endpoint), values["filename"])
    if version is not None:
        values[VERSION_ARG] = version


def _long_cache(resp):
    endpoint = request.endpoint
    if not is_static_endpoint(endpoint) or resp.status_code not in (200, 304):
        return resp
    asked = request.args.get(VERSION_ARG)
    filename = (request.view_args or {}).get("filename", "")
    if asked and asked == file_version(_static_folder(current_app, endpoint), filename):
        resp.headers["Cache-Control"] = STATIC_CACHE_CONTROL
    return resp


def init_app(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.after_request(_long_cache)
