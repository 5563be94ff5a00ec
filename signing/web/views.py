"""Views of the signing dialog (see the package docstring)."""
from __future__ import annotations

import re
import unicodedata

from flask import current_app, g, render_template, request, send_file, url_for
from sqlalchemy import select

from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.webkit import current_runtime, login_required

from .. import api
from ..models import SigningToken
from .blueprint import bp

_BLOB = re.compile(r"[0-9a-f]{64}")
STATUS_VI = {
    "valid": "Hợp lệ: đủ chữ ký, không có gì bị sửa sau khi ký.",
    "incomplete": "Chưa hoàn thành: văn bản đã có chữ ký của lãnh đạo, còn chờ văn thư ký số "
                  "của cơ quan khi phát hành.",
    "invalid": "Không hợp lệ: xem các nhận xét bên dưới.",
}


def person_role(runtime, sandbox_id: int, address: str) -> str | None:
    """The person's role for tokens that require one (see the package docstring)."""
    resolver = current_app.config.get("SIGNING_ROLE_RESOLVER")
    if resolver is not None:
        return resolver(runtime, sandbox_id, address)
    with runtime.db.read() as s:
        held = s.scalars(select(SigningToken.role_required).where(
            SigningToken.sandbox_id == sandbox_id, SigningToken.holder == address.strip().lower(),
            SigningToken.role_required.is_not(None))).first()
    return held


def dialog_context(runtime, sandbox_id: int, address: str) -> dict:
    """``certs`` (the certificates the person may choose) and ``role``."""
    role = person_role(runtime, sandbox_id, address)
    with runtime.db.read() as s:
        certs = api.certificates_for(s, sandbox_id, address, role)
    return {"certs": certs, "role": role}


def _me():
    acc = g.account
    return acc.sandbox_id, acc.address.strip().lower()


def _safe_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if c.isprintable() and c not in '"<>|:*?').strip()
    return name[:200] or "van-ban.pdf"


def _file_or_404(sandbox_id: int, person: str, blob: str, kind: str | None = None):
    if not blob or not _BLOB.fullmatch(blob):
        raise NotFound("Không tìm thấy tệp cần ký. Hãy chọn lại tệp.", "bad blob hash")
    rt = current_runtime()
    with rt.db.read() as s:
        row = api.find_file(s, sandbox_id, person, blob, kind)
        if row is None:
            raise NotFound("Không tìm thấy tệp cần ký. Hãy chọn lại tệp.",
                           f"blob {blob} not recorded for sandbox {sandbox_id}/{person}")
        return row.filename, row.kind


def _start_page(error: str | None = None, status: int = 200):
    return render_template("signing/start.html", error=error), status


@bp.get("/")
@login_required
def index():
    """Ký số văn bản: chọn tệp PDF."""
    return _start_page()


@bp.post("/tai-len")
@login_required
def upload():
    """Tải lên tệp PDF cần ký."""
    sid, me = _me()
    f = request.files.get("pdf")
    if f is None or not f.filename:
        return _start_page("Hãy chọn một tệp PDF để ký.", 400)
    data = f.read()
    name = _safe_name(f.filename)
    try:
        api.check_signable(data)
    except SandboxError as e:
        return _start_page(e.message_vi, 400)
    blob = api.record_file(current_runtime(), sid, me, data, kind="upload", filename=name)
    return _sign_page(blob, name)


@bp.post("/du-thao-mau")
@login_required
def sample():
    """Dùng bản dự thảo mẫu."""
    sid, me = _me()
    rt = current_runtime()
    name = g.account.display_name or me
    data = api.sample_draft(name)
    blob = api.record_file(rt, sid, me, data, kind="upload", filename="Dự thảo mẫu.pdf")
    return _sign_page(blob, "Dự thảo mẫu.pdf")


def _sign_page(blob: str, filename: str, *, error: str | None = None, selected: int | None = None,
               status: int = 200):
    sid, me = _me()
    ctx = dialog_context(current_runtime(), sid, me)
    return render_template("signing/sign.html", blob=blob, filename=filename, error=error,
                           selected=selected, **ctx), status


@bp.get("/ky")
@login_required
def sign_form():
    """Chọn chứng thư số và nhập mã PIN."""
    sid, me = _me()
    blob = request.args.get("file", "")
    filename, kind = _file_or_404(sid, me, blob, "upload")
    return _sign_page(blob, filename)


@bp.post("/ky")
@login_required
def sign():
    """Ký số: mở thiết bị ký số bằng mã PIN rồi ký vào ô chữ ký của lãnh đạo."""
    sid, me = _me()
    rt = current_runtime()
    blob = request.form.get("file", "")
    filename, _kind = _file_or_404(sid, me, blob, "upload")
    try:
        token_id = int(request.form.get("token_id", ""))
    except ValueError:
        return _sign_page(blob, filename, error="Hãy chọn một chứng thư số để ký.", status=400)
    pin = request.form.get("pin", "")
    ctx = dialog_context(rt, sid, me)
    if token_id not in {c.id for c in ctx["certs"]}:
        return _sign_page(blob, filename, error="Không tìm thấy thiết bị ký số này trong danh "
                          "sách chứng thư số của bạn.", status=404)
    if not pin:
        return _sign_page(blob, filename, error="Hãy nhập mã PIN của thiết bị ký số.",
                          selected=token_id, status=400)
    try:
        signed = api.sign_with_token(rt, sid, token_id, pin, rt.blobs.get(blob), actor=me,
                                     role=ctx["role"])
    except SandboxError as e:
        return _sign_page(blob, filename, error=e.message_vi, selected=token_id,
                          status=e.status if e.status < 500 else 400)
    stem = filename[:-4] if filename.lower().endswith(".pdf") else filename
    out_name = f"{stem} (đã ký số).pdf"
    out_blob = api.record_file(rt, sid, me, signed, kind="signed", filename=out_name,
                               source_blob=blob, token_id=token_id)
    with rt.db.read() as s:
        people = api.people_of(s, sid)
        expected = api.own_personal_fingerprint(s, sid, me)
    pki = api.pki_for(rt)
    report = api.verify_pdf(signed, validation_context=pki.validation_context, people=people,
                            expected_leader_fingerprint=expected)
    return render_template("signing/result.html", report=report, status_vi=STATUS_VI,
                           filename=out_name, blob=out_blob, source=blob,
                           download=url_for("signing.download", blob=out_blob))


@bp.get("/tai-ve/<blob>")
@login_required
def download(blob: str):
    """Tải về tệp PDF (của chính người dùng, trong sandbox của mình)."""
    sid, me = _me()
    filename, _kind = _file_or_404(sid, me, blob)
    import io

    resp = send_file(io.BytesIO(current_runtime().blobs.get(blob)), mimetype="application/pdf",
                     as_attachment=True, download_name=filename)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.app_template_filter("signing_rect")
def _rect(rect) -> str:
    if not rect:
        return "ẩn"
    return ", ".join(f"{v:.0f}" for v in rect)


