"""Organisations, units and people of the world, and the organisation's signing token (held by
its clerk): what the scenario builds before anyone plays.

The actions (``docflow.create_org``, ``docflow.set_org_token``, ``docflow.create_unit``,
``docflow.create_person``) come first, then the API's writers that dispatch them.
"""
from __future__ import annotations

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, action
from signing import api as signing_api

from . import rules
from .common import ADDRESS_RE, SYSTEM, check_blob, dispatch, get_row, person_at
from .errors import DocflowError, DocflowNotFound
from .models import Organisation, Person, Unit
from .queries import Scoped
from .rules import nfc

__all__ = ["create_org", "create_unit", "create_person", "setup_org_token"]


# =========================================================================================
# actions
# =========================================================================================
@action("docflow.create_org", ids={}, result_ids={"org_id": "org"})
def create_org_action(ctx: ActionContext, *, code: str, name: str, parent_name: str = "", place: str = "",
                      email: str = "", clerk_mode: str = "npc") -> dict:
    code, name = nfc(code), nfc(name)
    if not code or not name:
        raise DocflowError("Thiếu tên hoặc tên viết tắt của cơ quan.", "empty org code/name")
    if clerk_mode not in ("npc", "person"):
        raise DocflowError("Chế độ văn thư không hợp lệ.", f"bad clerk_mode {clerk_mode!r}")
    if ctx.session.scalar(select(Organisation).where(Organisation.sandbox_id == ctx.sandbox.id,
                                                     Organisation.code == code)):
        raise DocflowError(f"Đã có cơ quan viết tắt «{code}».", f"org {code} exists")
    org = Organisation(sandbox_id=ctx.sandbox.id, code=code, name=name, parent_name=nfc(parent_name),
                       place=nfc(place), email=(email or "").strip().lower(), clerk_mode=clerk_mode)
    ctx.session.add(org)
    ctx.session.flush()
    return {"org_id": org.id}


@action("docflow.set_org_token", ids={"org_id": "org", "token_id": "token"}, result_ids={"org_id": "org"})
def set_org_token_action(ctx: ActionContext, *, org_id: int, token_id: int, npc_pin_blob: str | None = None,
                         clerk_mode: str | None = None) -> dict:
    """Which signing token holds the organisation's key; for an automatic clerk, the blob
    holding its PIN (the PIN itself never enters the log)."""
    org = get_row(ctx, Organisation, org_id, "cơ quan")
    check_blob(ctx, npc_pin_blob, "mã PIN")
    org.org_token_id = int(token_id)
    org.npc_pin_blob = npc_pin_blob
    if clerk_mode:
        org.clerk_mode = clerk_mode
    return {"org_id": org.id}


@action("docflow.create_unit", ids={"org_id": "org"}, result_ids={"unit_id": "unit"})
def create_unit_action(ctx: ActionContext, *, org_id: int, code: str, name: str) -> dict:
    org = get_row(ctx, Organisation, org_id, "cơ quan")
    unit = Unit(sandbox_id=ctx.sandbox.id, org_id=org.id, code=nfc(code), name=nfc(name))
    ctx.session.add(unit)
    ctx.session.flush()
    return {"unit_id": unit.id}


@action("docflow.create_person", ids={"org_id": "org", "unit_id": "unit"}, result_ids={"person_id": "person"})
def create_person_action(ctx: ActionContext, *, org_id: int, address: str, full_name: str, role: str,
                         title: str = "", unit_id: int | None = None, leads: str = "none") -> dict:
    org = get_row(ctx, Organisation, org_id, "cơ quan")
    if role not in rules.ROLES:
        raise DocflowError("Vai trò không hợp lệ (lãnh đạo, chuyên viên hoặc văn thư).", f"bad role {role!r}")
    if leads not in rules.LEADS:
        raise DocflowError("Phạm vi lãnh đạo không hợp lệ.", f"bad leads {leads!r}")
    if unit_id is not None and get_row(ctx, Unit, unit_id, "đơn vị").org_id != org.id:
        raise DocflowError("Đơn vị không thuộc cơ quan này.", f"unit {unit_id} not in org {org.id}")
    address = (address or "").strip().lower()
    if not ADDRESS_RE.match(address):
        raise DocflowError(f"Địa chỉ thư điện tử không hợp lệ: «{address}».", "bad address")
    if person_at(ctx, address) is not None:
        raise DocflowError(f"Đã có người dùng {address}.", "person exists")
    p = Person(sandbox_id=ctx.sandbox.id, org_id=org.id, unit_id=unit_id, address=address,
               full_name=nfc(full_name), title=nfc(title), role=role, leads=leads)
    ctx.session.add(p)
    ctx.session.flush()
    return {"person_id": p.id}


# =========================================================================================
# the API's writers
# =========================================================================================
def create_org(runtime, sandbox_id: int, *, code: str, name: str, parent_name: str = "", place: str = "",
               email: str = "", clerk_mode: str = "npc", actor: str = SYSTEM) -> int:
    return dispatch(runtime, sandbox_id, actor, "docflow.create_org", dict(
        code=code, name=name, parent_name=parent_name, place=place, email=email, clerk_mode=clerk_mode))["org_id"]


def create_unit(runtime, sandbox_id: int, org_id: int, code: str, name: str, *, actor: str = SYSTEM) -> int:
    return dispatch(runtime, sandbox_id, actor, "docflow.create_unit",
                    dict(org_id=org_id, code=code, name=name))["unit_id"]


def create_person(runtime, sandbox_id: int, org_id: int, address: str, full_name: str, role: str, *,
                  title: str = "", unit_id: int | None = None, leads: str = "none", actor: str = SYSTEM) -> int:
    return dispatch(runtime, sandbox_id, actor, "docflow.create_person", dict(
        org_id=org_id, address=address, full_name=full_name, role=role, title=title, unit_id=unit_id,
        leads=leads))["person_id"]


def setup_org_token(runtime, sandbox_id: int, org_id: int, bundle, pin: str, *, clerk_address: str,
                    npc: bool | None = None, actor: str = SYSTEM) -> int:
    """Put the organisation certificate on a token held by the clerk (usable by the clerk role
    only). With an automatic clerk (``npc``, default: the organisation's clerk mode) the PIN is
    kept in the blob store for her; the log holds only its hash. Returns the token id."""
    with runtime.db.read() as s:
        org = Scoped(s, sandbox_id).get(Organisation, org_id)
        if org is None:
            raise DocflowNotFound("Không tìm thấy cơ quan.", f"org {org_id}")
        mode = org.clerk_mode
    npc = (mode == "npc") if npc is None else npc
    token_id = signing_api.provision(runtime.dispatcher, sandbox_id, clerk_address, bundle, pin,
                                     label=f"Chứng thư số cơ quan - {org.name}", role_required="clerk", actor=actor)
    pin_blob = runtime.blobs.put(pin.encode()) if npc else None
    dispatch(runtime, sandbox_id, actor, "docflow.set_org_token", dict(org_id=org_id, token_id=token_id,
                                                                       npc_pin_blob=pin_blob))
    return token_id
