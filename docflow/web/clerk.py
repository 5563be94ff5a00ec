"""The clerk's pages on a văn bản đi (văn thư played by a person): numbering (cấp số), the
organisation signature (đóng dấu: certificate and PIN), issuing (phát hành), refusing it back
to the leader, archiving. They answer on the document page of :mod:`docflow.web.outgoing`."""
from __future__ import annotations

import unicodedata

from flask import flash, redirect, request, url_for

from docflow import api
from sandbox.kernel.errors import NotFound, SandboxError

from .blueprint import bp
from .common import docflow_page, outgoing_detail, runtime, sandbox_id, to_int, viewer
from .outgoing import outgoing_page, simple_step, token_and_pin


@bp.post("/di/<int:doc_id>/cap-so")
@docflow_page
def number(doc_id: int):
    """Cấp số văn bản đi (văn thư)."""
    raw = request.form.get("number", "").strip()
    wanted = None
    if raw:
        wanted = to_int(raw)
        if wanted is None or wanted < 1:
            flash("Số văn bản phải là một số nguyên dương (để trống để lấy số tiếp theo trong sổ).", "error")
            return outgoing_page(outgoing_detail(doc_id), form=request.form.to_dict(), status=400)
    return simple_step(doc_id, lambda d: api.number(runtime(), sandbox_id(), viewer(), doc_id, wanted),
                       lambda r: f"Đã cấp số {r['symbol']}.")


@bp.post("/di/<int:doc_id>/dong-dau")
@docflow_page
def seal(doc_id: int):
    """Đóng dấu: ký số của cơ quan (văn thư, chứng thư số của cơ quan và mã PIN)."""
    d = outgoing_detail(doc_id)
    got, page = token_and_pin(d, "seal")
    if got is None:
        return page
    token_id, pin = got
    try:
        api.org_sign(runtime(), sandbox_id(), viewer(), doc_id, token_id, pin)
    except NotFound:
        raise
    except SandboxError as e:
        return outgoing_page(outgoing_detail(doc_id), seal_error=e.message_vi, selected=token_id,
                             status=e.status if e.status < 500 else 400)
    flash("Đã ký số của cơ quan (đóng dấu). Bước tiếp theo: phát hành.", "success")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


@bp.post("/di/<int:doc_id>/phat-hanh")
@docflow_page
def issue(doc_id: int):
    """Phát hành văn bản đến nơi nhận."""
    def done(r: dict) -> str:
        n = len(r.get("deliveries") or [])
        return f"Đã phát hành văn bản đến {n} nơi nhận."
    return simple_step(doc_id, lambda d: api.issue(runtime(), sandbox_id(), viewer(), doc_id), done)


@bp.post("/di/<int:doc_id>/tu-choi")
@docflow_page
def refuse(doc_id: int):
    """Văn thư từ chối phát hành, trả lại lãnh đạo kèm lý do."""
    reason = unicodedata.normalize("NFC", request.form.get("reason", "")).strip()
    if not reason:
        flash("Hãy ghi lý do từ chối phát hành.", "error")
        return outgoing_page(outgoing_detail(doc_id), form=request.form.to_dict(), status=400)
    return simple_step(doc_id, lambda d: api.clerk_refuse(runtime(), sandbox_id(), viewer(), doc_id, reason),
                       "Đã từ chối phát hành và trả lại lãnh đạo.")


@bp.post("/di/<int:doc_id>/luu")
@docflow_page
def archive(doc_id: int):
    """Lưu hồ sơ."""
    return simple_step(doc_id, lambda d: api.archive(runtime(), sandbox_id(), viewer(), doc_id),
                       "Đã lưu hồ sơ văn bản.")
