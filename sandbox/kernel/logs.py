"""One logging configuration for a running installation (issue 15).

``configure(settings)`` is called once by ``sandbox serve`` (and any other long-running entry
point) before it starts anything: the root logger gets two handlers,

* **stderr** (the terminal, journald, a container's log), and
* a **rotating file** ``data-dir/logs/sandbox.log`` (10 MiB, five old files kept),

at the level of ``SANDBOX_LOG_LEVEL`` (default ``INFO``) and in the format of
``SANDBOX_LOG_FORMAT``: ``plain`` (one line a record, the traceback below it) or ``json`` (one
JSON object a line: ``time``, ``level``, ``logger``, ``message``, ``request_id``, the context
fields, ``exc`` with the traceback).

Every record carries its **context**, read from context variables by :class:`ContextFilter`:

* ``request_id``: set per web request (:data:`REQUEST_ID`, by ``webkit.init_request_log``);
* ``door``: the entry point (``web``, ``smtp``, ``imap``, ``cli``: ``sandbox.kernel.actions.DOOR``);
* whatever :func:`bind` added (``with logs.bind(sandbox="ts001"): …``) and what the registered
  context providers know (the web app's: the sandbox, the candidate number, the admin login).

**No traceback is lost**: unhandled exceptions of threads (``threading.excepthook``) and of the
main thread (``sys.excepthook``) are logged with their traceback; asyncio's default exception
handler (SMTP and IMAP run on event loops) logs to the ``asyncio`` logger with the traceback,
which the root handlers catch; the job worker and the web app log theirs with
``log.exception``. When the same exception is logged twice (Flask's "Exception on …" and the
500 page's handler), the second record says so instead of repeating the traceback.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import logging.handlers
import os
import re
import secrets
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

#: the web request's id (``X-Request-ID``), None outside a request
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("sandbox_request_id", default=None)
#: fields bound with :func:`bind` (never mutated: each bind sets a new dict)
CONTEXT: contextvars.ContextVar[dict] = contextvars.ContextVar("sandbox_log_context", default={})

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("plain", "json")
LOG_FILE = "sandbox.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
#: the order of the context fields in a plain line
FIELDS = ("door", "sandbox", "candidate", "admin", "method", "path")

PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(context)s] %(message)s"

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_providers: list[Callable[[], dict]] = []
_lock = threading.Lock()
_state: dict = {"handlers": [], "hooks": None, "file": None}


# --- request ids and context -----------------------------------------------------------------


def new_request_id() -> str:
    """A fresh request id: 16 hex digits."""
    return secrets.token_hex(8)


def request_id_from(header: str | None) -> str:
    """The incoming ``X-Request-ID`` when it is sane (1-64 letters, digits, ``._:-``; e.g.
    nginx's ``$request_id`` or a UUID), else a fresh id."""
    header = (header or "").strip()
    return header if _SANE_ID.fullmatch(header) else new_request_id()


def current_request_id() -> str | None:
    return REQUEST_ID.get()


@contextmanager
def bind(**fields) -> Iterator[None]:
    """Add context fields (``sandbox=``, ``candidate=``, …) to every record logged inside."""
    token = CONTEXT.set({**CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        CONTEXT.reset(token)


def add_context_provider(fn: Callable[[], dict]) -> None:
    """Register ``fn() -> dict`` of context fields, asked for each record (the web app's reads
    the request: ``sandbox.kernel.webkit``). It must be cheap and must not raise."""
    if fn not in _providers:
        _providers.append(fn)


def context_fields() -> dict:
    """The context of a record logged now: door, bound fields, providers' fields."""
    from sandbox.kernel.actions import DOOR

    fields: dict = {}
    door = DOOR.get()
    if door:
        fields["door"] = door
    fields.update(CONTEXT.get())
    for fn in _providers:
        try:
            fields.update({k: v for k, v in (fn() or {}).items() if v not in (None, "")})
        except Exception:  # noqa: BLE001 - a log line never fails for its context
            pass
    return fields


class ContextFilter(logging.Filter):
    """Puts ``request_id``, ``fields`` (dict) and ``context`` (text for the plain format) on
    every record; one instance per handler.

    A traceback is written once per handler: a later record about an exception this handler
    already wrote keeps its message, drops the traceback and says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "fields"):
            record.request_id = REQUEST_ID.get() or "-"
            record.fields = context_fields()
            record.context = "".join(f" {k}={record.fields[k]}" for k in FIELDS if k in record.fields) + "".join(
                f" {k}={v}" for k, v in record.fields.items() if k not in FIELDS)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            seen = getattr(exc, "_sandbox_logged_by", None)
            if seen is None:
                try:
                    seen = exc._sandbox_logged_by = set()
                except (AttributeError, TypeError):
                    return True
            if id(self) in seen:
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg} (traceback above)"
            else:
                seen.add(id(self))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line (UTF-8, not ASCII-escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) if getattr(record, "request_id", "-") != "-" else None,
            "process": record.process,
            "thread": record.threadName,
        }
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN)


# --- configuration ---------------------------------------------------------------------------


def _choice(value: str | None, allowed: tuple[str, ...], default: str, what: str) -> str:
    value = (value or default).strip()
    normal = value.upper() if allowed is LEVELS else value.lower()
    if normal in allowed:
        return normal
    print(f"Cảnh báo: {what}={value!r} không hợp lệ (chọn {', '.join(allowed)}); dùng {default}.", file=sys.stderr)
    return default


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file that several processes write at once (the gunicorn workers, ``serve
    smtp imap``, ``serve worker`` of one data folder): each record is written under an
    exclusive ``flock`` of ``<file>.lock``, and a process whose open file is no longer the one
    at the path (another process rotated it) reopens it first. So one process rotates at a
    time, and no process goes on writing into a rotated file that a later rotation deletes.
    Where ``fcntl`` is missing (Windows: one process), it is a plain rotating file."""

    def __init__(self, filename, *args, **kwargs):
        super().__init__(filename, *args, **kwargs)
        self._lock_path = f"{self.baseFilename}.lock"
        self._lock_fd: int | None = None

    def _same_file(self) -> bool:
        if self.stream is None:
            return False
        try:
            here, there = os.fstat(self.stream.fileno()), os.stat(self.baseFilename)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            import fcntl
        except ImportError:  # Windows
            return super().emit(record)
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except OSError:
            return super().emit(record)
        try:
            if not self._same_file():
                if self.stream is not None:
                    self.stream.close()
                self.stream = self._open()
            super().emit(record)      # rolls over first when the file is full, then writes
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        super().close()
        if self._lock_fd is not None:
            try:
                os.close(self._lock_fd)
            except OSError:
                pass
            self._lock_fd = None


def configure(settings=None, *, data_dir: Path | str | None = None, level: str | None = None,
              fmt: str | None = None, stream=None, log_file: bool = True) -> Path | None:
    """Configure the root logger: stderr (or ``stream``) and, with ``log_file``, the rotating
    file ``<data_dir>/logs/sandbox.log``; returns the file's path (None without one).

    Level and format come from the arguments, else ``settings.log_level``/``log_format``, else
    ``SANDBOX_LOG_LEVEL``/``SANDBOX_LOG_FORMAT``. Calling it again replaces the handlers it
    installed before (and nothing else)."""
    level = _choice(level or getattr(settings, "log_level", None) or os.environ.get("SANDBOX_LOG_LEVEL"),
                    LEVELS, "INFO", "SANDBOX_LOG_LEVEL")
    fmt = _choice(fmt or getattr(settings, "log_format", None) or os.environ.get("SANDBOX_LOG_FORMAT"),
                  FORMATS, "plain", "SANDBOX_LOG_FORMAT")
    if data_dir is None and settings is not None:
        data_dir = settings.data_dir
    with _lock:
        _remove_handlers()
        handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
        path = None
        if log_file and data_dir is not None:
            path = Path(data_dir) / "logs" / LOG_FILE
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handlers.append(SharedRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                          encoding="utf-8"))
            except OSError as e:
                print(f"Cảnh báo: không ghi được nhật ký vào {path} ({e.strerror}); chỉ ghi ra stderr.",
                      file=sys.stderr)
                path = None
        root = logging.getLogger()
        for h in handlers:
            h.setFormatter(formatter(fmt))
            h.addFilter(ContextFilter())
            root.addHandler(h)
        root.setLevel(level)
        _state["handlers"] = handlers
        _state["file"] = path
        _install_hooks()
    logging.getLogger(__name__).debug("logging configured: level %s, format %s, file %s", level, fmt, path)
    return path


def configured() -> bool:
    return bool(_state["handlers"])


def log_file() -> Path | None:
    """The rotating file of the current configuration."""
    return _state["file"]


def reset() -> None:
    """Remove what :func:`configure` installed (handlers, exception hooks); for tests."""
    with _lock:
        _remove_handlers()
        hooks = _state["hooks"]
        if hooks is not None:
            sys.excepthook, threading.excepthook = hooks
            _state["hooks"] = None


def _remove_handlers() -> None:
    root = logging.getLogger()
    for h in _state["handlers"]:
        root.removeHandler(h)
        h.close()
    _state["handlers"] = []
    _state["file"] = None


def _install_hooks() -> None:
    if _state["hooks"] is not None:
        return
    previous = (sys.excepthook, threading.excepthook)
    _state["hooks"] = previous
    log = logging.getLogger("sandbox.uncaught")

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous[0](exc_type, exc, tb)
            return
        log.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def thread_excepthook(args):
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.error("uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def loop_exception_handler(loop, context: dict) -> None:
    """An asyncio exception handler logging to ``sandbox.asyncio`` with the traceback and the
    context (``loop.set_exception_handler(logs.loop_exception_handler)``); asyncio's default
    handler, which logs to the ``asyncio`` logger, does the same without the name."""
    exc = context.get("exception")
    message = context.get("message") or "unhandled exception in event loop"
    extra = ", ".join(f"{k}={v!r}" for k, v in context.items() if k not in ("message", "exception"))
    logging.getLogger("sandbox.asyncio").error("%s%s", message, f" ({extra})" if extra else "",
                                               exc_info=(type(exc), exc, exc.__traceback__) if exc else None)
