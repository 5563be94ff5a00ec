"""Login throttling shared by every door (web, SMTP AUTH, IMAP LOGIN).

Only failures count: a room of candidates behind one NAT address logging in at once is
normal, a stream of wrong passwords is not. Limits hold per login name and per client
address. Storage is in-process memory (``limits``); each server process throttles on its own.
"""
from __future__ import annotations

from limits import parse, storage, strategies

from sandbox.kernel.errors import RateLimited


class LoginThrottle:
    def __init__(self, per_login: str = "10/5 minutes", per_address: str = "300/minute"):
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._per_login = parse(per_login)
        self._per_address = parse(per_address)

    def check(self, login: str, address: str | None) -> None:
        """Raise ``RateLimited`` if this login or this address has failed too often."""
        login = (login or "").strip().lower()
        if not self._limiter.test(self._per_login, "login", login) or (
            address and not self._limiter.test(self._per_address, "addr", address)
        ):
            raise RateLimited(
                "Đăng nhập sai quá nhiều lần. Vui lòng chờ vài phút rồi thử lại.",
                f"login throttled: {login!r} from {address}",
            )

    def failed(self, login: str, address: str | None) -> None:
        self._limiter.hit(self._per_login, "login", (login or "").strip().lower())
        if address:
            self._limiter.hit(self._per_address, "addr", address)

    def succeeded(self, login: str) -> None:
        self._limiter.clear(self._per_login, "login", (login or "").strip().lower())
