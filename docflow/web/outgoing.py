"""Pages of a văn bản đi up to the clerk: the document with what the viewer may do on it
(``outgoing_page``, shared with the clerk's pages), submit, approve, return, comment, the
leader's signature (certificate and PIN), forwarding to the clerk, and the drafting and
editing forms."""
from __future__ import annotations

import re
import unicodedata

from flask import flash, g, redirect, render_template, request, url_for

from docflow import api
from sandbox.kernel.errors import NotFound, SandboxError

from .blueprint import bp
from .common import docflow_page, outgoing_detail, rules, runtime, sandbox_id, to_int, viewer
from .files import collect_files, preview_png, signed_kept, upload_limit

__all__ = ["outgoing_page", "simple_step", "token_and_pin", "refresh_delay", "REFRESH_ARG"]

PIN_MAX = 16

#: While the automatic clerk works on a draft its page reloads itself, less and less often:
#: 2, 4, 8, then every 15 s; the query parameter counts the reloads so far.
REFRESH_ARG = "lan"
REFRESH_FIRST, REFRESH_MAX = 2, 15


def refresh_delay(count: int) -> int:
    """Seconds before the ``count``-th automatic reload (0: the first) of a draft's page."""
    return min(REFRESH_MAX, REFRESH_FIRST * 2 ** min(max(count, 0), 4))


def _refresh(d) -> dict | None:
    """The page's self-reload while the clerk's job is waiting or at work, else None."""
    if not d.clerk_at_work:
        return None
    count = to_int(request.args.get(REFRESH_ARG), 0) if request.endpoint == "docflow.outgoing" else 0
    count = max(0, min(count, 1000))
    return {"seconds": refresh_delay(count),
            "url": url_for("docflow.outgoing", doc_id=d.id, **{REFRESH_ARG: count + 1})}


def outgoing_page(d, *, sign_error: str | None = None, seal_error: str | None = None, selected=None,
                  form=None, status: int = 200):
    p = g.df_person
    rt, sid, me = runtime(), sandbox_id(), viewer()
    is_signer = p.id == d.signer_id
    is_clerk = p.role == "van_thu" and p.org_id == d.org_id
    can = {
        "submit": d.drafter == me and d.status in ("drafting", "returned"),
        "edit": d.drafter == me and d.status in ("drafting", "returned"),
        "approve": is_signer and d.status == "submitted",
        "sign": is_signer and d.status in ("submitted", "approved"),
        "return": is_signer and d.status in ("submitted", "approved", "leader_signed"),
        "forward": is_signer and d.status in ("submitted", "approved", "leader_signed"),
        "number": is_clerk and d.status == "at_clerk",
        "refuse": is_clerk and d.status in ("at_clerk", "numbered"),
        "seal": is_clerk and d.status == "numbered",
        "issue": is_clerk and d.status == "org_signed",
        "archive": is_clerk and d.status in ("issued", "sent"),
    }
    certs = api.tokens_for(rt, sid, me) if (can["sign"] or can["seal"]) else []
    seal_problem = api.leader_check(rt, sid, d.id) if can["seal"] else None
    return render_template("docflow/outgoing.html", d=d, can=can, certs=certs, sign_error=sign_error,
                           seal_error=seal_error, seal_problem=seal_problem, selected=selected, form=form or {},
                           has_preview=preview_png(d.pdf_blob) is not None, refresh=_refresh(d),
                           section="di_all"), status


@bp.get("/di/<int:doc_id>")
@docflow_page
def outgoing(doc_id: int):
    """Xem văn bản đi / dự thảo."""
    return outgoing_page(outgoing_detail(doc_id))


def simple_step(doc_id: int, call, done: str):
    """Run one step; a refusal is shown on the document page with the reason."""
    d = outgoing_detail(doc_id)
    try:
        result = call(d)
    except NotFound:
        raise
    except SandboxError as e:
        flash(e.message_vi, "error")
        return outgoing_page(outgoing_detail(doc_id), form=request.form.to_dict(),
                             status=e.status if e.status < 500 else 400)
    flash(done if isinstance(done, str) else done(result), "success")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


@bp.post("/di/<int:doc_id>/trinh")
@docflow_page
def submit(doc_id: int):
    """Trình lãnh đạo."""
    return simple_step(doc_id, lambda d: api.submit(runtime(), sandbox_id(), viewer(), doc_id),
                       "Đã trình dự thảo lên lãnh đạo.")


@bp.post("/di/<int:doc_id>/duyet")
@docflow_page
def approve(doc_id: int):
    """Duyệt dự thảo."""
    return simple_step(doc_id, lambda d: api.approve(runtime(), sandbox_id(), viewer(), doc_id), "Đã duyệt dự thảo.")


@bp.post("/di/<int:doc_id>/tra-lai")
@docflow_page
def return_draft(doc_id: int):
    """Trả lại dự thảo kèm lý do."""
    reason = unicodedata.normalize("NFC", request.form.get("reason", "")).strip()
    if not reason:
        flash("Hãy ghi lý do trả lại dự thảo.", "error")
        return outgoing_page(outgoing_detail(doc_id), form=request.form.to_dict(), status=400)
    return simple_step(doc_id, lambda d: api.return_draft(runtime(), sandbox_id(), viewer(), doc_id, reason),
                       "Đã trả lại dự thảo cho người soạn thảo.")


@bp.post("/di/<int:doc_id>/y-kien")
@docflow_page
def comment(doc_id: int):
    """Góp ý kiến vào dự thảo."""
    text = unicodedata.normalize("NFC", request.form.get("text", "")).strip()
    if not text:
        flash("Hãy nhập nội dung ý kiến.", "error")
        return outgoing_page(outgoing_detail(doc_id), status=400)
    return simple_step(doc_id, lambda d: api.comment(runtime(), sandbox_id(), viewer(), doc_id, text), "Đã gửi ý kiến.")


def token_and_pin(d, which: str):
    """(token_id, pin) from the signing form, or an error page."""
    certs = api.tokens_for(runtime(), sandbox_id(), viewer())
    token_id = to_int(request.form.get("token_id"))
    pin = request.form.get("pin", "")
    err_key = "sign_error" if which == "sign" else "seal_error"
    if token_id is None:
        return None, outgoing_page(d, **{err_key: "Hãy chọn một chứng thư số để ký."}, status=400)
    if token_id not in {c.id for c in certs}:
        return None, outgoing_page(d, **{err_key: "Không tìm thấy thiết bị ký số này trong danh sách chứng "
                                                    "thư số của bạn."}, status=404)
    if not pin:
        return None, outgoing_page(d, **{err_key: "Hãy nhập mã PIN của thiết bị ký số."}, selected=token_id,
                                   status=400)
    if len(pin) > PIN_MAX:
        return None, outgoing_page(d, **{err_key: "Mã PIN dài tối đa 16 ký tự."}, selected=token_id, status=400)
    return (token_id, pin), None


@bp.post("/di/<int:doc_id>/ky-so")
@docflow_page
def sign(doc_id: int):
    """Ký số phê duyệt dự thảo (lãnh đạo): chọn chứng thư số, nhập mã PIN."""
    d = outgoing_detail(doc_id)
    got, page = token_and_pin(d, "sign")
    if got is None:
        return page
    token_id, pin = got
    try:
        result = api.sign_as_leader(runtime(), sandbox_id(), viewer(), doc_id, token_id, pin)
    except NotFound:
        raise
    except SandboxError as e:
        return outgoing_page(outgoing_detail(doc_id), sign_error=e.message_vi, selected=token_id,
                             status=e.status if e.status < 500 else 400)
    msg = "Đã ký số dự thảo. Bước tiếp theo: chuyển văn thư phát hành."
    if result.get("own_certificate") is False:
        flash("Cảnh báo: chứng thư số vừa dùng không phải của người ký được giao; văn thư sẽ từ chối phát hành.",
              "error")
    flash(msg, "success")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


@bp.post("/di/<int:doc_id>/chuyen-van-thu")
@docflow_page
def forward(doc_id: int):
    """Chuyển văn thư phát hành."""
    note = unicodedata.normalize("NFC", request.form.get("note", "")).strip()

    def done(r: dict) -> str:
        if r.get("queued"):
            return ("Đã chuyển văn thư phát hành. Văn thư đang cấp số, ký số của cơ quan và phát hành văn bản; "
                    "trang này tự cập nhật khi xong.")
        if r.get("clerk") == "npc":
            if r.get("released"):
                return (f"Đã chuyển văn thư phát hành. Văn thư đã cấp số {r.get('symbol')}, ký số của cơ quan "
                        "và phát hành văn bản.")
            return f"Đã chuyển văn thư, nhưng văn thư từ chối phát hành: {r.get('refusal')}"
        return "Đã chuyển văn thư phát hành; văn bản đang chờ văn thư cấp số, ký số của cơ quan và phát hành."

    d = outgoing_detail(doc_id)
    try:
        r = api.forward_to_clerk(runtime(), sandbox_id(), viewer(), doc_id, note)
    except NotFound:
        raise
    except SandboxError as e:
        flash(e.message_vi, "error")
        return outgoing_page(d, status=e.status if e.status < 500 else 400)
    flash(done(r), "success" if r.get("released") or r.get("queued") or r.get("clerk") != "npc" else "error")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


# --- drafting and editing ---------------------------------------------------------------
def _draft_choices() -> dict:
    rt, sid, p = runtime(), sandbox_id(), g.df_person
    tree = api.org_tree(rt, sid, p.org_id)
    people = tree.leaders + [x for u in tree.units for x in u.people]
    signers = [x for x in people if x.role == "lanh_dao"]
    orgs = [o for o in api.organisations(rt, sid) if o.id != p.org_id]
    return {"signers": signers, "units": tree.units, "orgs": orgs, "types": rules.TYPES}


def _split_list(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[\n;,]+", text or "") if x.strip()]


def _draft_page(form: dict, kept: list[dict], errors: list[str], status: int = 200, doc=None):
    return render_template("docflow/new_draft.html", form=form, kept=signed_kept(kept), errors=errors, doc=doc,
                           limit=upload_limit(), section="du_thao_moi" if doc is None else "di_all",
                           **_draft_choices()), status


def _draft_form() -> dict:
    form = {k: unicodedata.normalize("NFC", v) for k, v in request.form.items() if k != "kept"}
    form["rcpt_unit"] = request.form.getlist("rcpt_unit")
    form["rcpt_org"] = request.form.getlist("rcpt_org")
    return form


def _recipients(form: dict, choices: dict, errors: list[str]) -> list[dict]:
    recipients = []
    unit_ids = {u.id for u in choices["units"]}
    org_ids = {o.id for o in choices["orgs"]}
    for v in form.get("rcpt_unit", []):
        if to_int(v) in unit_ids:
            recipients.append({"kind": "unit", "id": to_int(v)})
    for v in form.get("rcpt_org", []):
        if to_int(v) in org_ids:
            recipients.append({"kind": "org", "id": to_int(v)})
    for addr in _split_list(form.get("rcpt_emails", "")):
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr):
            errors.append(f"Địa chỉ thư điện tử không hợp lệ: «{addr}».")
        else:
            recipients.append({"kind": "email", "address": addr.lower()})
    return recipients


def _lines(text: str) -> list[str]:
    return [x.strip() for x in (text or "").splitlines() if x.strip()]


def _body(form: dict) -> list[str]:
    return [x.strip() for x in form.get("body", "").splitlines() if x.strip()]


@bp.route("/du-thao/moi", methods=["GET", "POST"])
@docflow_page
def new_draft():
    """Soạn dự thảo văn bản đi: loại, trích yếu, nội dung, người ký, nơi nhận, tệp đính kèm."""
    if request.method == "GET":
        return _draft_page({"type_code": "CV"}, [], [])
    form = _draft_form()
    kept, errors = collect_files()
    choices = _draft_choices()
    type_code = form.get("type_code", "")
    summary = form.get("summary", "").strip()
    signer_id = to_int(form.get("signer_id"))
    signer = next((s for s in choices["signers"] if s.id == signer_id), None)
    if type_code not in rules.TYPES:
        errors.append("Hãy chọn loại văn bản.")
    if not summary:
        errors.append("Hãy nhập trích yếu nội dung văn bản.")
    if signer is None:
        errors.append("Hãy chọn người ký (lãnh đạo của cơ quan).")
    recipients = _recipients(form, choices, errors)
    if errors:
        return _draft_page(form, kept, errors, 400)
    title = form.get("signer_title", "").strip() or (signer.title or "").upper()
    try:
        doc_id = api.create_draft(runtime(), sandbox_id(), viewer(), type_code=type_code, summary=summary,
                                  signer_id=signer.id, signer_title=title, body=_body(form),
                                  addressees=_lines(form.get("addressees", "")), recipients=recipients,
                                  attachments=kept)
    except NotFound:
        raise
    except SandboxError as e:
        return _draft_page(form, kept, [e.message_vi], e.status if e.status < 500 else 400)
    _then_submit(doc_id, "Đã lưu dự thảo")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


def _then_submit(doc_id: int, saved: str) -> None:
    if request.form.get("then") == "submit":
        try:
            api.submit(runtime(), sandbox_id(), viewer(), doc_id)
        except SandboxError as e:
            flash(f"{saved} nhưng chưa trình được: {e.message_vi}", "error")
        else:
            flash(f"{saved} và trình lãnh đạo.", "success")
    else:
        flash(f"{saved}. Kiểm tra lại rồi bấm «Trình lãnh đạo ký duyệt».", "success")


@bp.route("/di/<int:doc_id>/sua", methods=["GET", "POST"])
@docflow_page
def edit_draft(doc_id: int):
    """Sửa dự thảo (người soạn thảo, khi đang soạn hoặc bị trả lại): tạo phiên bản mới."""
    d = outgoing_detail(doc_id)
    if request.method == "GET":
        form = {"type_code": d.type_code, "summary": d.summary, "body": "\n".join(d.body),
                "addressees": "\n".join(d.addressees), "signer_id": str(d.signer_id), "signer_title": d.signer_title,
                "rcpt_unit": [str(r["id"]) for r in d.recipients if r.get("kind") == "unit"],
                "rcpt_org": [str(r["id"]) for r in d.recipients if r.get("kind") == "org"],
                "rcpt_emails": "\n".join(r["address"] for r in d.recipients if r.get("kind") == "email")}
        return _draft_page(form, [dict(a) for a in d.attachments], [], doc=d)
    form = _draft_form()
    form.update(type_code=d.type_code, signer_id=str(d.signer_id))
    kept, errors = collect_files()
    if not form.get("summary", "").strip():
        errors.append("Hãy nhập trích yếu nội dung văn bản.")
    recipients = _recipients(form, _draft_choices(), errors)
    if errors:
        return _draft_page(form, kept, errors, 400, doc=d)
    try:
        version = api.update_draft(runtime(), sandbox_id(), viewer(), doc_id, summary=form["summary"].strip(),
                                   body=_body(form), addressees=_lines(form.get("addressees", "")),
                                   recipients=recipients, attachments=kept,
                                   signer_title=form.get("signer_title", "").strip() or None,
                                   note=form.get("note", "").strip())
    except NotFound:
        raise
    except SandboxError as e:
        return _draft_page(form, kept, [e.message_vi], e.status if e.status < 500 else 400, doc=d)
    _then_submit(doc_id, f"Đã lưu phiên bản {version} của dự thảo")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))
