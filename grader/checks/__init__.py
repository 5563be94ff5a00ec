"""The registered check types (see :mod:`grader.checks.base`)."""
from __future__ import annotations

from .base import REGISTRY, Check, Outcome, Params, parse_params, register, validate_check

__all__ = ["REGISTRY", "Check", "Outcome", "Params", "parse_params", "register", "validate_check", "load_all"]


def load_all() -> None:
    """Import every module that registers checks."""
    from . import docflow, mail, signing  # noqa: F401
