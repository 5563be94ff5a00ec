"""Check types: one registered class per kind of check. A new kind is one new class.

A check gets the rendered parameters (placeholders already replaced by the candidate's
values) and a read-only :class:`grader.state.SandboxState`, and returns an
:class:`Outcome`: the fraction of the criterion's points earned (usually 0 or 1), a
specific Vietnamese detail, and the evidence that decided it."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Ref:
    """Marks a parameter as a name of the scenario (``Annotated[str, Ref("incoming")]``), so
    the validator resolves it with ``file:line`` and the grader treats a name it cannot find
    at run time as its own error, never as the candidate's.

    Kinds: ``incoming``, ``draft``, ``mail`` (a seed mail with an id), ``attachment`` (a file
    of the seed mail named by the sibling parameter ``of``), ``unit``, ``person``, ``target``
    (a unit or a person), ``address`` (an address of the world), ``intent`` (a mail of
    ``rubric.mails``)."""

    kind: str
    of: str | None = None


#: what each kind is called in a validation message
REF_VI = {"incoming": "văn bản đến", "draft": "dự thảo", "mail": "thư ban đầu", "attachment": "tệp đính kèm",
          "unit": "đơn vị", "person": "người", "target": "đơn vị hay người", "address": "địa chỉ thư",
          "intent": "thư cần gửi (rubric.mails)"}


def _ref_of(annotation) -> Ref | None:
    """The :class:`Ref` of a field annotation: ``Annotated[str, Ref]``, optionally inside
    ``list[...]`` or ``... | None``."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Ref):
            return meta
    for arg in typing.get_args(annotation):
        found = _ref_of(arg)
        if found is not None:
            return found
    return None


def references(params: BaseModel, prefix: str = "") -> list[tuple[str, Ref, str, Any]]:
    """(parameter, ref, value, the parameter ``of`` names) for every name in parsed params,
    nested parameter groups included (``expected.unit``)."""
    out = []
    for name, info in type(params).model_fields.items():
        ref = next((m for m in info.metadata if isinstance(m, Ref)), None) or _ref_of(info.annotation)
        value = getattr(params, name)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, BaseModel):
                out += references(v, f"{prefix}{name}.")
            elif ref is not None and isinstance(v, str):
                out.append((prefix + name, ref, v, getattr(params, ref.of) if ref.of else None))
    return out


def unresolved(params: BaseModel, names: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, Vietnamese message) for every name of ``params`` that ``names`` (the
    scenario's world, by kind) does not have."""
    problems = []
    for param, ref, value, of in references(params):
        if ref.kind == "attachment":
            files = names.get("mail", {}).get(of)
            if files is None or value in files:
                continue   # the seed mail itself is reported under its own parameter
            problems.append((param, f"thư ban đầu '{of}' không có tệp đính kèm '{value}' "
                                    f"(có: {', '.join(files) or 'không có tệp nào'})"))
            continue
        known = names.get(ref.kind)
        if known is None:
            continue
        key = value.lower() if ref.kind == "address" else value
        if key not in known:
            problems.append((param, f"{REF_VI.get(ref.kind, ref.kind)} '{value}' không có trong đề"))
    return problems


@dataclass
class Outcome:
    score: float                      # 0.0 .. 1.0 of the criterion's points
    detail: str = ""                  # what was found, in Vietnamese
    evidence: dict[str, Any] = field(default_factory=dict)
    #: said instead of the criterion's fail message when the usual one would not match what
    #: happened (a task not attempted at all is not "a mail went to outsiders")
    message: str | None = None

    @classmethod
    def passed(cls, detail: str = "", **evidence) -> "Outcome":
        return cls(1.0, detail, evidence)

    @classmethod
    def failed(cls, detail: str = "", *, message: str | None = None, **evidence) -> "Outcome":
        return cls(0.0, detail, evidence, message)


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
