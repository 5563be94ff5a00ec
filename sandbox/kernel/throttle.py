"""Login throttling shared by every door (web, SMTP AUTH, IMAP LOGIN).

Only failures count: a room of candidates behind one NAT address logging in at once is
normal, a stream of wrong passwords is not. Limits hold per (login name, client address) and,
far higher, per client address, as moving windows (``limits``' ``MovingWindowRateLimiter``);
the policy is :class:`LoginThrottle`'s.

Storage: given the installation's database (the runtime's throttle), the windows' entries are
rows of ``throttle_hits`` (:class:`DatabaseStorage`), so every process and every machine of
the installation counts the same failures; without one (a throttle of its own, tests), the
process's memory (``limits.storage.MemoryStorage``).
"""
from __future__ import annotations

import hashlib
import threading
import time

from limits import parse, storage, strategies
from limits.storage.base import MovingWindowSupport
from sqlalchemy import Float, Integer, String, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel import shared
from sandbox.kernel.db import Base, Database
from sandbox.kernel.errors import RateLimited


class ThrottleHit(Base):
    """One entry of a moving window: a failure counted under ``key`` at ``at`` (epoch seconds)."""

    __tablename__ = "throttle_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of the limiter's key (``LIMITER/login/<name>/10/5/minute``): fixed size, no login text stored
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Float)
    #: ``at`` + the window: past it the row counts for nothing and is deleted
    expires: Mapped[float] = mapped_column(Float, index=True)


_HITS = ThrottleHit.__table__
#: seconds between two sweeps of expired rows of every key (per process)
SWEEP_EVERY = 300.0


def _key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class DatabaseStorage(storage.Storage, MovingWindowSupport):
    """``limits`` storage (moving windows) in the installation's database. Taking an entry is
    atomic across processes: on PostgreSQL under a transaction-scoped advisory lock of the key,
    on SQLite in the one write transaction (``BEGIN IMMEDIATE``)."""

    STORAGE_SCHEME = None

    def __init__(self, db: Database, **options) -> None:
        super().__init__(None, **options)
        self.db = db
        shared.track(db)
        self._swept = 0.0
        self._sweep_lock = threading.Lock()

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    # -- moving windows (what MovingWindowRateLimiter uses) -----------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        k = _key(key)
        now = time.time()
        with shared.writing(self.db) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:h)"), {"h": int(k[:15], 16)})
            conn.execute(delete(_HITS).where(_HITS.c.key == k, _HITS.c.expires < now))  # out of the window
            # as MemoryStorage: refused when the (limit - amount + 1)-th newest entry is in the window
            held = conn.execute(select(func.count()).select_from(_HITS)
                                .where(_HITS.c.key == k, _HITS.c.at >= now - expiry)).scalar_one()
            if held + amount > limit:
                return False
            conn.execute(_HITS.insert(), [{"key": k, "at": now, "expires": now + expiry}] * amount)
        self._sweep(now)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with shared.reading(self.db) as conn:
            oldest, count = conn.execute(select(func.min(_HITS.c.at), func.count()).select_from(_HITS)
                                         .where(_HITS.c.key == _key(key), _HITS.c.at > now - expiry)).one()
        return (float(oldest) if oldest is not None else now), int(count)

    def _sweep(self, now: float) -> None:
        if now - self._swept < SWEEP_EVERY or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._swept = now
            with shared.writing(self.db) as conn:
                conn.execute(delete(_HITS).where(_HITS.c.expires < now))
        finally:
            self._sweep_lock.release()

    # -- the rest of limits' Storage interface -------------------------------------------------
    def clear(self, key: str) -> None:
        k = _key(key)
        with shared.reading(self.db) as conn:     # a success is common, a failure before it is not
            if conn.execute(select(_HITS.c.id).where(_HITS.c.key == k).limit(1)).first() is None:
                return
        with shared.writing(self.db) as conn:
            conn.execute(delete(_HITS).where(_HITS.c.key == k))

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with shared.writing(self.db) as conn:
            conn.execute(_HITS.insert(), [{"key": _key(key), "at": now, "expires": now + expiry}] * amount)
        return self.get(key)

    def get(self, key: str) -> int:
        now = time.time()
        with shared.reading(self.db) as conn:
            return int(conn.execute(select(func.count()).select_from(_HITS)
                                    .where(_HITS.c.key == _key(key), _HITS.c.expires >= now)).scalar_one())

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with shared.reading(self.db) as conn:
            latest = conn.execute(select(func.max(_HITS.c.expires))
                                  .where(_HITS.c.key == _key(key), _HITS.c.expires >= now)).scalar()
        return float(latest) if latest is not None else now

    def check(self) -> bool:
        try:
            with shared.reading(self.db) as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with shared.writing(self.db) as conn:
            return conn.execute(delete(_HITS)).rowcount


#: the per-address ceiling of failed logins, for abuse far above what a room produces (a room of
#: 40 behind one address with its typing mistakes fails a few dozen times a minute);
#: ``SANDBOX_LOGIN_ADDRESS_CEILING`` (a ``limits`` string, e.g. ``"5000/minute"``)
ADDRESS_CEILING = "5000/minute"


class LoginThrottle:
    """The policy (issue 16: no lock-out by a neighbour):

    * failures are counted per **(login, client address)**: ten wrong passwords for a name
      from one address in five minutes, and that pair's next attempts are answered "Đăng nhập
      sai quá nhiều lần"; the same name from another address is not affected;
    * where checking a password is cheap (the candidate portal's derived passwords, the mail
      logins, whose Argon2 runs only for a matching tag), the doors verify **first** and a
      right password is accepted whatever others failed (:meth:`refuse_failure` after a wrong
      one): a script failing a thousand times from the exam room's one address locks out
      neither the room nor the candidate it targets (their passwords are random: eight or ten
      characters, about 10^11 or more to guess);
    * the organisers' logins (Argon2 for every attempt) ask :meth:`check` before verifying;
    * one **per-address ceiling** for abuse (``ADDRESS_CEILING``, configurable), checked before
      anything: over it, every login from that address is refused for the window.
    """

    def __init__(self, per_login: str = "10/5 minutes", per_address: str | None = None, *,
                 database: Database | None = None):
        import os

        store = DatabaseStorage(database) if database is not None else storage.MemoryStorage()
        self._limiter = strategies.MovingWindowRateLimiter(store)
        self._per_login = parse(per_login)
        self._per_address = parse(per_address or os.environ.get("SANDBOX_LOGIN_ADDRESS_CEILING") or ADDRESS_CEILING)

    @staticmethod
    def _pair(login: str, address: str | None) -> str:
        return f"{(login or '').strip().lower()}|{address or ''}"

    def _refused(self, login: str, address: str | None, why: str) -> RateLimited:
        return RateLimited("Đăng nhập sai quá nhiều lần. Vui lòng chờ vài phút rồi thử lại; nếu quên mật khẩu, "
                           "hãy báo giám thị hoặc cán bộ kỹ thuật.",
                           f"login throttled ({why}): {(login or '').strip().lower()!r} from {address}")

    def ceiling(self, login: str, address: str | None) -> None:
        """Raise ``RateLimited`` when this address is over the abuse ceiling (checked first, by every door)."""
        if address and not self._limiter.test(self._per_address, "addr", address):
            raise self._refused(login, address, "address ceiling")

    def check(self, login: str, address: str | None) -> None:
        """Raise ``RateLimited`` when this (login, address) pair has failed too often, or the
        address is over the ceiling: for the doors that ask before verifying."""
        self.ceiling(login, address)
        if not self._limiter.test(self._per_login, "pair", self._pair(login, address)):
            raise self._refused(login, address, "login and address")

    def failed(self, login: str, address: str | None) -> None:
        self._limiter.hit(self._per_login, "pair", self._pair(login, address))
        if address:
            self._limiter.hit(self._per_address, "addr", address)

    def refuse_failure(self, login: str, address: str | None) -> None:
        """After a wrong password (counted): raise ``RateLimited`` when the pair had already
        failed its limit (the eleventh wrong password in the window), so the person is told to
        wait and to ask the examiner, rather than to try again."""
        over = not self._limiter.test(self._per_login, "pair", self._pair(login, address))
        self.failed(login, address)
        if over:
            raise self._refused(login, address, "login and address")
        self.ceiling(login, address)

    def succeeded(self, login: str, address: str | None = None) -> None:
        self._limiter.clear(self._per_login, "pair", self._pair(login, address))
