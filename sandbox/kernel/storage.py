"""Storage failures told apart from bugs: a full disk or quota (``ENOSPC``, ``EDQUOT``), a
database that cannot write (SQLite's "database or disk is full", PostgreSQL's ``disk_full``)
and a database that is unavailable (any other ``OperationalError``: the server gone, an I/O
error, a lock held too long).

``best_effort(what)`` wraps the writes a page makes on the side (heartbeats, "seen" markers,
last-seen touches): when storage fails they are logged with their cause and skipped, so the
page still shows what is saved. A write the person asked for is never wrapped: it fails with
``message_vi`` (the web app answers 507 or 503) and the page keeps what they typed.
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from contextlib import contextmanager
from typing import Iterator

log = logging.getLogger(__name__)

#: what ``classify`` answers
FULL, UNAVAILABLE = "full", "unavailable"

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: SQLite's SQLITE_FULL (an extended code keeps it in its low byte); its other write errors
#: (SQLITE_IOERR_*, e.g. the shared-memory file that cannot grow) count as unavailable
SQLITE_FULL = 13
#: PostgreSQL's SQLSTATE disk_full
PG_DISK_FULL = "53100"

FULL_TITLE_VI = "Máy chủ hết dung lượng lưu trữ"
FULL_VI = ("Máy chủ đã hết chỗ lưu trữ nên chưa lưu được thao tác vừa rồi; những gì đã lưu trước đó "
           "vẫn còn nguyên. Vui lòng thử lại sau ít phút; nếu vẫn không được, hãy báo ngay giám khảo "
           "phòng thi hoặc cán bộ kỹ thuật.")
UNAVAILABLE_TITLE_VI = "Máy chủ tạm thời không ghi được dữ liệu"
UNAVAILABLE_VI = ("Máy chủ tạm thời không truy cập được cơ sở dữ liệu nên chưa lưu được thao tác vừa rồi; "
                  "những gì đã lưu trước đó vẫn còn nguyên. Vui lòng thử lại sau ít phút; nếu vẫn không "
                  "được, hãy báo ngay giám khảo phòng thi hoặc cán bộ kỹ thuật.")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``orig``) and its causes, once each."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def _is_full(e: BaseException) -> bool:
    if isinstance(e, OSError) and e.errno in FULL_ERRNOS:
        return True
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == SQLITE_FULL:
            return True
        return "database or disk is full" in str(e)
    sqlstate = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    return sqlstate == PG_DISK_FULL


def _is_database_failure(e: BaseException) -> bool:
    from sqlalchemy import exc as sa_exc

    return isinstance(e, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                          sqlite3.OperationalError))


def classify(exc: BaseException) -> str | None:
    """``FULL`` (no space: disk, quota, database), ``UNAVAILABLE`` (the database cannot be
    used now) or None (anything else: a bug, shown as the generic error)."""
    chain = list(_chain(exc))
    if any(_is_full(e) for e in chain):
        return FULL
    if any(_is_database_failure(e) for e in chain):
        return UNAVAILABLE
    return None


def cause(exc: BaseException) -> str:
    """One line for the log: the innermost driver or OS error, e.g. ``sqlite3.OperationalError:
    database or disk is full`` or ``OSError: [Errno 28] No space left on device``."""
    chain = list(_chain(exc))
    inner = next((e for e in chain if isinstance(e, (OSError, sqlite3.Error)) or hasattr(e, "sqlstate")),
                 chain[0])
    name = type(inner).__module__ + "." + type(inner).__qualname__
    if name.startswith("builtins."):
        name = name[len("builtins."):]
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{name}: {text}" if text else name


def http_status(kind: str) -> int:
    """507 Insufficient Storage for a full disk, 503 for a database unavailable now."""
    return 507 if kind == FULL else 503


def kept_message_vi(kind: str, what: str) -> str:
    """The message of a form shown again after a storage failure, with what was typed:
    ``what`` is the thing not done ("Ý kiến chỉ đạo chưa được lưu")."""
    why = "máy chủ đã hết chỗ lưu trữ" if kind == FULL else "máy chủ tạm thời không truy cập được cơ sở dữ liệu"
    return (f"{what} vì {why}. Nội dung bạn đã nhập vẫn còn nguyên trên trang này: hãy thử lại sau ít phút; "
            "nếu vẫn không được, hãy báo giám khảo phòng thi.")


def log_failure(logger: logging.Logger, what: str, exc: BaseException, kind: str) -> None:
    """One error line with the cause (and the traceback) for a refused write."""
    logger.error("%s not done: storage %s (%s)", what, kind, cause(exc), exc_info=exc)


def title_vi(kind: str) -> str:
    return FULL_TITLE_VI if kind == FULL else UNAVAILABLE_TITLE_VI


def message_vi(kind: str) -> str:
    return FULL_VI if kind == FULL else UNAVAILABLE_VI


@contextmanager
def best_effort(what: str, logger: logging.Logger | None = None) -> Iterator[None]:
    """Run a side write (``what``: "the candidate's last-seen time") that must never fail the
    page: a storage failure (``classify`` not None) is logged as a warning with its cause and
    swallowed; any other exception goes on."""
    try:
        yield
    except Exception as e:
        kind = classify(e)
        if kind is None:
            raise
        (logger or log).warning("%s not recorded: storage %s (%s)", what, kind, cause(e))
