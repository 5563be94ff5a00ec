"""The shape of the package: docflow reaches signing only through ``signing.api`` (its ready
signers), the automatic clerk is decided in one function, and the incoming/outgoing file
routes share one view each while keeping their endpoint names."""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from docflow import api, clerk
from signing import api as signing_api

from .factories import LEADER_PIN, a_draft

DOCFLOW = Path(api.__file__).resolve().parent


def _signing_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in DOCFLOW.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("signing"):
                names = {node.module} if node.module != "signing" else {f"signing.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names if a.name.startswith("signing")}
            else:
                continue
            found.setdefault(str(path.relative_to(DOCFLOW)), set()).update(names)
    return found


def test_docflow_reaches_signing_only_through_its_api():
    found = _signing_imports()
    assert found, "docflow signs through signing.api"
    assert {m for names in found.values() for m in names} == {"signing.api"}, found


def test_whether_the_clerk_is_automatic_is_decided_in_one_place():
    """The forward says which clerk; the automatic one is an NPC rule of the registry."""
    doc = SimpleNamespace(status="at_clerk")
    assert clerk.forwarded_result(doc, SimpleNamespace(clerk_mode="person")) == {"status": "at_clerk", "clerk": "person"}
    assert clerk.forwarded_result(doc, SimpleNamespace(clerk_mode="npc")) == {"status": "at_clerk", "clerk": "npc"}
    from scenarios.npc.base import RULES

    assert RULES["auto_clerk"].events == ("docflow.forward_to_clerk",)


def test_the_file_routes_of_both_kinds_share_one_view():
    from docflow.web import bp

    app = Flask(__name__)
    app.register_blueprint(bp, url_prefix="/van-ban")
    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    for what, path in (("pdf", "pdf"), ("preview", "xem-truoc.png"), ("attachment", "tep/<int:index>")):
        inc, out = rules[f"docflow.incoming_{what}"], rules[f"docflow.outgoing_{what}"]
        assert (inc.rule, out.rule) == (f"/van-ban/den/<int:doc_id>/{path}", f"/van-ban/di/<int:doc_id>/{path}")
        assert (inc.defaults, out.defaults) == ({"kind": "in"}, {"kind": "out"})
        assert app.view_functions[inc.endpoint] is app.view_functions[out.endpoint]
    with app.test_request_context():
        from flask import url_for
        assert url_for("docflow.incoming_pdf", doc_id=3) == "/van-ban/den/3/pdf"
        assert url_for("docflow.outgoing_attachment", doc_id=3, index=1) == "/van-ban/di/3/tep/1"


def _tries(w, token_id: int) -> int:
    with w.rt.db.read() as s:
        return signing_api.token_view(s, w.sandbox_id, token_id).tries_left


def test_a_leader_signer_refuses_an_unsignable_file_before_the_pin_costs_a_try(dw):
    signer = signing_api.leader_signer(dw.rt, dw.sandbox_id, dw.tokens["leader"], "000000", actor=dw.a("leader"))
    with pytest.raises(signing_api.SigningError):
        signer.sign(b"%PDF-1.4 not a prepared draft")
    assert _tries(dw, dw.tokens["leader"]) == 3
    doc = a_draft(dw)
    draft = api.pdf_of(dw.rt, dw.sandbox_id, dw.a("leader"), "out", doc)
    with pytest.raises(signing_api.SigningError) as e:
        signer.sign(draft)
    assert e.value.message_vi == "Sai mã PIN. Còn 2 lần thử." and _tries(dw, dw.tokens["leader"]) == 2
    good = signing_api.leader_signer(dw.rt, dw.sandbox_id, dw.tokens["leader"], LEADER_PIN, actor=dw.a("leader"))
    signed = good.sign(draft)
    assert [s["field"] for s in signing_api.signatures_in(signed)] == [signing_api.LEADER_FIELD]
    assert good.record(signing_api.LEADER_FIELD)["fingerprint"] == dw.bundles["leader"].sha256
