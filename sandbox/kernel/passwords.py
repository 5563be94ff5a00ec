"""Password hashing (Argon2id, argon2-cffi).

Sized for a login storm, not for a bank: a contest room of 500 candidates logs in within a
minute, and mail clients log in again on every connection. Argon2id with 12 MiB and one pass
costs about 8 ms of one core here (measured; OWASP's 19 MiB/2 passes costs 28 ms), so 500
logins take ~2 s on two cores. Passwords are random per candidate and the accounts are
throwaway worlds, so this is the right side of the trade.
"""
from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=1, memory_cost=12288, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def verify_nobody(password: str) -> bool:
    """The work of one verification for a login that names nobody (or a disabled account), so
    that the answer's time does not tell whether the login exists (issue 16, finding 7).
    Always False."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("không có tài khoản này")
    verify_password(_DUMMY_HASH, (password or "") + "\x00")
    return False


def password_tag(secret: str, password: str) -> str:
    """A 16-bit keyed tag of a password, used only to pick which of several same-named
    accounts (one address in many sandboxes) a password could belong to, so a login costs
    one hash check instead of one per sandbox. 16 bits tell an attacker next to nothing."""
    return hmac.new(secret.encode(), password.encode(), hashlib.sha256).hexdigest()[:4]
