"""A candidate's portal password: derived from the installation's secret, the contest and the
candidate number, so the login slip can be printed again (a forgotten password is a reprint,
not a backup exam set) and nothing in the database holds it in clear."""
from __future__ import annotations

import hashlib
import hmac

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no l/1/i/o/0: read off a paper slip


def candidate_password(secret: str, contest_code: str, number: str, length: int = 8) -> str:
    digest = hmac.new(secret.encode(), f"candidate:{contest_code}:{number}".encode(), hashlib.sha256).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:length])
