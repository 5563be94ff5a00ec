"""Check types: one registered class per kind of check. A new kind is one new class.

A check gets the rendered parameters (placeholders already replaced by the candidate's
values) and a read-only :class:`grader.state.SandboxState`, and returns an
:class:`Outcome`: the fraction of the criterion's points earned (usually 0 or 1), a
specific Vietnamese detail, and the evidence that decided it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class Outcome:
    score: float                      # 0.0 .. 1.0 of the criterion's points
    detail: str = ""                  # what was found, in Vietnamese
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, detail: str = "", **evidence) -> "Outcome":
        return cls(1.0, detail, evidence)

    @classmethod
    def failed(cls, detail: str = "", **evidence) -> "Outcome":
        return cls(0.0, detail, evidence)


class Check:
    type: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    #: shown in the published rubric next to the description (no answer values)
    summary_vi: ClassVar[str] = ""

    def run(self, state, params) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError


REGISTRY: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    if cls.type in REGISTRY and REGISTRY[cls.type] is not cls:
        raise RuntimeError(f"check type {cls.type!r} registered twice")
    REGISTRY[cls.type] = cls
    return cls


_TYPE_VI = {"missing": "thiếu tham số", "extra_forbidden": "tham số không được hỗ trợ"}


def parse_params(check_type: str, params: dict[str, Any]):
    """The typed parameters of a check; raises ``ValueError`` with Vietnamese messages."""
    cls = REGISTRY.get(check_type)
    if cls is None:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"loại kiểm tra '{check_type}' không tồn tại (có: {known})")
    try:
        return cls.Params.model_validate(params)
    except ValidationError as exc:
        msgs = []
        for e in exc.errors():
            name = ".".join(str(p) for p in e["loc"]) or "params"
            if e["type"] in _TYPE_VI:
                msgs.append(f"{_TYPE_VI[e['type']]} '{name}' của {check_type}")
            elif e["type"] == "literal_error":
                msgs.append(f"tham số '{name}' của {check_type} không hợp lệ ('{e.get('input')}'); "
                            f"chỉ nhận {e['ctx']['expected'].replace(' or ', ' hoặc ')}")
            elif e["type"] == "value_error":
                msgs.append(f"tham số '{name}' của {check_type}: {e['ctx']['error']}")
            else:
                msgs.append(f"tham số '{name}' của {check_type} không hợp lệ ('{e.get('input')}')")
        raise ValueError("; ".join(msgs)) from None


def validate_check(check_type: str, params: dict[str, Any]) -> list[str]:
    """For the scenario validator: Vietnamese messages, empty when the check is usable."""
    from . import load_all
    load_all()
    try:
        parse_params(check_type, params)
    except ValueError as exc:
        return [str(exc)]
    return []
