"""Errors raised by the signing package (Vietnamese message for people, English detail)."""
from __future__ import annotations

from sandbox.kernel.errors import SandboxError


class SigningError(SandboxError):
    """Any failure of the signing layer a user may see (wrong PIN, unusable key, ...)."""
