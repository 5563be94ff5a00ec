"""Placeholders in task sheets and check parameters: ``{recipient.email}``, ``{deadline}``,
``{people.binh.name}``; ``{{`` and ``}}`` are literal braces.

A value renders as text: dates as ``dd/mm/yyyy`` (Vietnamese order), numbers as they are,
an entity (person, unit, ...) as its name. A parameter that is exactly one placeholder
keeps the value's type (a check can get a date or a number, not only text)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

_REF = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")


class TemplateError(ValueError):
    pass


def references(text: str) -> list[str]:
    """Every placeholder path in ``text`` (``"recipient.email"``), in order."""
    return [m.group(1) for m in _REF.finditer(text) if m.group(1)]


def stray_braces(text: str) -> bool:
    """True when a ``{`` or ``}`` is not part of a placeholder or an escape."""
    return "{" in _REF.sub("", text) or "}" in _REF.sub("", text)


def resolve(path: str, ctx: dict[str, Any]) -> Any:
    value: Any = ctx
    for i, part in enumerate(path.split(".")):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, dt.date) and part == "iso":
            value = value.isoformat()
        else:
            raise TemplateError(f"không có giá trị '{'.'.join(path.split('.')[:i + 1])}'")
    return value


def as_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%H:%M ngày %d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dict):
        for key in ("name", "summary", "label", "value"):
            if key in value:
                return as_text(value[key])
        raise TemplateError("giá trị là một bản ghi, hãy chọn một thuộc tính (ví dụ .name)")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(text: str, ctx: dict[str, Any]) -> str:
    def sub(m: re.Match) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        return as_text(resolve(m.group(1), ctx))

    return _REF.sub(sub, text)


def render_value(value: Any, ctx: dict[str, Any]) -> Any:
    """Render placeholders inside any parameter structure (strings, lists, mappings)."""
    if isinstance(value, str):
        refs = references(value)
        if len(refs) == 1 and value == "{" + refs[0] + "}":
            return resolve(refs[0], ctx)
        return render(value, ctx)
    if isinstance(value, list):
        return [render_value(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, ctx) for k, v in value.items()}
    return value


def strings_in(value: Any, path: tuple = ()):
    """(path, string) for every string inside a parameter structure."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_in(v, path + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v, path + (k,))
