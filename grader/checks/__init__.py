"""The registered check types (see :mod:`grader.checks.base`)."""
from __future__ import annotations

from typing import Any

from .base import REGISTRY, Check, Outcome, Params, parse_params, register, unresolved

__all__ = ["REGISTRY", "Check", "Outcome", "Params", "parse_params", "register", "validate_check", "load_all"]


def load_all() -> None:
    """Import every module that registers checks."""
    from . import docflow, mail, signing  # noqa: F401


def validate_check(check_type: str, params: dict[str, Any], names: dict[str, Any] | None = None
                   ) -> list[str | tuple[str, str]]:
    """For the scenario validator: Vietnamese messages, empty when the check is usable. With
    ``names`` (the scenario's names by kind, see :class:`Ref`), every name the parameters
    use must be one of them: those problems come as (parameter, message)."""
    load_all()
    try:
        parsed = parse_params(check_type, params)
    except ValueError as exc:
        return [str(exc)]
    if names is None:
        return []
    return [(param, f"tham số '{param}' của {check_type}: {msg}") for param, msg in unresolved(parsed, names)]
