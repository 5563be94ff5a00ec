"""Errors of the document workflow (Vietnamese message for people, English detail)."""
from __future__ import annotations

from sandbox.kernel.errors import Forbidden, NotFound, SandboxError

__all__ = ["DocflowError", "DocflowForbidden", "DocflowNotFound"]


class DocflowError(SandboxError):
    """A refused workflow step or bad input: nothing was changed."""


class DocflowForbidden(Forbidden):
    """The person may not do this (role, designated signer, organisation)."""


class DocflowNotFound(NotFound):
    """No such document/person/unit in this sandbox."""
