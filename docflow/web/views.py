"""Views of the document workflow UI (see the package docstring)."""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from functools import wraps
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app, flash, g, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from docflow import api
from sandbox.kernel.errors import Forbidden, NotFound, SandboxError
from sandbox.kernel.vnformat import file_size
from sandbox.kernel.webkit import current_runtime, login_required

from . import bp

rules = api.rules
PIN_MAX = 16
DOWNLOAD_CSP = "default-src 'none'; sandbox"
INLINE_PDF_CSP = "default-src 'self'; object-src 'self'; frame-ancestors 'self'; form-action 'none'"
ROLE_CHOICES = [("", "Không giao"), ("xlc", "Xử lý chính"), ("ph", "Phối hợp"), ("db", "Nhận để biết")]
PROGRESS_LABELS = {"read": "Đã đọc", "processing": "Đang xử lý", "completed": "Hoàn thành"}


# =========================================================================================
# shared helpers
# =========================================================================================
def _rt():
    return current_runtime()


def _sid() -> int:
    return g.account.sandbox_id


def _me() -> str:
    return g.account.address.strip().lower()


def docflow_page(view):
    """Logged in, and a person of the document software of the sandbox."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.df_person = api.person(_rt(), _sid(), _me())
        if g.df_person is None:
            return render_template(
                "error.html", status=403, title="Không có quyền truy cập",
                message="Tài khoản thư điện tử của bạn không có trong phần mềm quản lý văn bản của cơ quan "
                        "nào trong bài thi này."), 403
        return view(*args, **kwargs)

    return login_required(wrapped)


@bp.errorhandler(NotFound)
def not_found(e: NotFound):
    """Another sandbox's id, another organisation's document or one that never existed."""
    return render_template("error.html", status=404, title="Không tìm thấy", message=e.message_vi), 404


@bp.app_template_global("docflow_nav")
def docflow_nav() -> dict:
    """Counts for the side menu of every docflow page."""
    rt, sid, me = _rt(), _sid(), _me()
    return {"in": api.incoming_list(rt, sid, me, per_page=1).counts,
            "out": api.outgoing_list(rt, sid, me, per_page=1).counts}


@bp.app_template_global("df_name")
def df_name(address: str | None) -> str:
    """A person's full name for an address of the viewer's organisation (else the address)."""
    names = g.get("_df_names")
    if names is None:
        names = {}
        if g.get("df_person") is not None:
            tree = api.org_tree(_rt(), _sid(), g.df_person.org_id)
            names = {p.address: p.full_name for p in tree.leaders + [x for u in tree.units for x in u.people]}
        g._df_names = names
    return names.get(address or "", address or "")


@bp.context_processor
def inject():
    return {"rules": rules, "person": g.get("df_person")}


def _page() -> int:
    try:
        return max(1, min(100000, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


def _per_page() -> int:
    return int(current_app.config.get("DOCFLOW_PAGE_SIZE", 20))


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def _query() -> str:
    return unicodedata.normalize("NFC", request.args.get("q", "")).strip()[:200]


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


# --- files --------------------------------------------------------------------------------
def _file_name(text: str, default: str = "van-ban") -> str:
    """A Vietnamese file name without folders, reserved or control characters."""
    text = unicodedata.normalize("NFC", text or "").replace("/", "-").replace("\\", "-")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*;')
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text[:120].rstrip(" .") or default


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in plain).strip() or "van-ban"


def _send(data: bytes, filename: str, content_type: str, inline: bool = False) -> Response:
    resp = Response(data, mimetype=content_type)
    how = "inline" if inline else "attachment"
    resp.headers["Content-Disposition"] = (f"{how}; filename=\"{_ascii(filename)}\"; "
                                           f"filename*=UTF-8''{quote(filename, safe='')}")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # an inline PDF must leave the browser's PDF viewer (a plugin) allowed
    resp.headers["Content-Security-Policy"] = INLINE_PDF_CSP if inline else DOWNLOAD_CSP
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


_previews: OrderedDict[str, bytes | None] = OrderedDict()
_previews_lock = threading.Lock()
PREVIEW_CACHE = 256


def preview_png(blob: str | None) -> bytes | None:
    """Page 1 of a stored PDF as a small PNG (Poppler's pdftoppm), cached by blob hash; None
    without pdftoppm or when it fails."""
    if not blob:
        return None
    with _previews_lock:
        if blob in _previews:
            _previews.move_to_end(blob)
            return _previews[blob]
    tool = shutil.which("pdftoppm")
    png = None
    if tool:
        try:
            with tempfile.TemporaryDirectory(prefix="docflow-preview-") as tmp:
                src = Path(tmp) / "in.pdf"
                src.write_bytes(_rt().blobs.get(blob))
                subprocess.run([tool, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(src),
                                str(Path(tmp) / "page")], check=True, timeout=15, capture_output=True)
                png = (Path(tmp) / "page.png").read_bytes()
        except (OSError, subprocess.SubprocessError):
            png = None
    else:
        return None
    with _previews_lock:
        _previews[blob] = png
        while len(_previews) > PREVIEW_CACHE:
            _previews.popitem(last=False)
    return png


def _preview_response(blob: str | None) -> Response:
    png = preview_png(blob)
    if png is None:
        raise api.DocflowNotFound("Văn bản này không có ảnh xem trước.", "no preview")
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


# =========================================================================================
# lists
# =========================================================================================
@bp.get("/")
@docflow_page
def index():
    """Trang chính của phần mềm quản lý văn bản: văn bản đến."""
    return redirect(url_for("docflow.incoming_list"))


@bp.get("/den")
@docflow_page
def incoming_list():
    """Văn bản đến: chờ xử lý / đang xử lý / đã xử lý, tìm kiếm, phân trang."""
    tab = request.args.get("tab")
    tab = tab if tab in rules.INCOMING_TABS else None
    q, page, per_page = _query(), _page(), _per_page()
    lp = api.incoming_list(_rt(), _sid(), _me(), tab=tab, q=q or None, page=page, per_page=per_page)
    return render_template("docflow/incoming_list.html", lp=lp, tab=tab, q=q, page=page,
                           pages=_pages(lp.total, per_page), section="den")


@bp.get("/di")
@docflow_page
def outgoing_list():
    """Văn bản đi: dự thảo, dự thảo chờ ký, chờ phát hành, đã phát hành."""
    box = request.args.get("box")
    box = box if box in api.OUTGOING_BOXES else None
    q, page, per_page = _query(), _page(), _per_page()
    lp = api.outgoing_list(_rt(), _sid(), _me(), box=box, q=q or None, page=page, per_page=per_page)
    return render_template("docflow/outgoing_list.html", lp=lp, box=box, boxes=api.OUTGOING_BOXES, q=q, page=page,
                           pages=_pages(lp.total, per_page), section="di_" + (box or "all"))


@bp.get("/tim-kiem")
@docflow_page
def search():
    """Tìm văn bản đến và đi theo số, ký hiệu, trích yếu, nơi gửi."""
    q = _query()
    found = api.search(_rt(), _sid(), _me(), q) if q else {"incoming": [], "outgoing": []}
    return render_template("docflow/search.html", q=q, found=found, section="tim_kiem")


def _record_view(page: str, kind: str | None = None, doc_id: int | None = None) -> None:
    """Record the first opening of a page in this login session (the grader's evidence that
    the candidate looked at the tracking view or the document)."""
    key = f"{page}:{kind or ''}:{doc_id or ''}"
    seen = session.get("df_views", [])
    if key in seen:
        return
    try:
        api.record_view(_rt(), _sid(), _me(), page, kind, doc_id)
    except Forbidden:  # a closed sandbox (time up, or an examiner's read-only copy) records nothing
        return
    session["df_views"] = (seen + [key])[-200:]


@bp.get("/theo-doi")
@docflow_page
def tracking():
    """Theo dõi tình hình xử lý văn bản."""
    q = _query()
    only_overdue = request.args.get("qua_han") == "1"
    rows = api.tracking(_rt(), _sid(), _me(), only_overdue=only_overdue, q=q or None)
    _record_view("tracking")
    return render_template("docflow/tracking.html", rows=rows, q=q, only_overdue=only_overdue, section="theo_doi")


# =========================================================================================
# incoming documents
# =========================================================================================
def _incoming(doc_id: int):
    return api.incoming_doc(_rt(), _sid(), _me(), doc_id)


def _tree_rows(org_id: int, unit_only: int | None = None) -> list[dict]:
    """The organisation as rows of the forwarding form: units, their people, the people
    without a unit (the viewer left out). ``unit_only``: a unit leader passing his unit's
    assignment on (second level) sees only the people of his unit."""
    tree = api.org_tree(_rt(), _sid(), org_id)
    me = g.df_person.id
    rows = []
    for u in tree.units:
        if unit_only is not None:
            if u.id == unit_only:
                rows += [{"key": f"p{p.id}", "kind": "person", "label": p.full_name, "sub": p.title or p.role_label,
                          "level": 0} for p in u.people if p.id != me]
            continue
        rows.append({"key": f"u{u.id}", "kind": "unit", "label": u.name, "sub": u.code, "level": 0})
        for p in u.people:
            if p.id != me:
                rows.append({"key": f"p{p.id}", "kind": "person", "label": p.full_name, "sub": p.title or p.role_label,
                             "level": 1})
    others = [p for p in tree.leaders if p.id != me]
    if others and unit_only is None:
        rows.append({"key": None, "kind": "group", "label": "Lãnh đạo và cá nhân khác của cơ quan", "level": 0})
        for p in others:
            rows.append({"key": f"p{p.id}", "kind": "person", "label": p.full_name, "sub": p.title or p.role_label,
                         "level": 1})
    return rows


def _incoming_page(d, *, error: str | None = None, form=None, status: int = 200):
    p = g.df_person
    mine = [a for a in d.assignments if a.id in d.my_assignments]
    unit_level = p.role == "lanh_dao" and p.leads == "unit"
    if unit_level:  # second level: pass the unit's assignment on to people of the unit
        can_direct = d.status != "done" and any(a.target_kind == "unit" and a.target_id == p.unit_id for a in mine)
    else:
        can_direct = p.role == "lanh_dao" and d.status != "done"
    tree = _tree_rows(d.org_id, p.unit_id if unit_level else None) if can_direct else []
    return render_template("docflow/incoming.html", d=d, tree=tree, can_direct=can_direct, mine=mine,
                           unit_level=unit_level,
                           error=error, form=form or {}, has_preview=preview_png(d.pdf_blob) is not None,
                           role_choices=ROLE_CHOICES, progress_labels=PROGRESS_LABELS,
                           section="den"), status


@bp.get("/den/<int:doc_id>")
@docflow_page
def incoming(doc_id: int):
    """Xem văn bản đến (mở văn bản được giao là đánh dấu đã đọc)."""
    d = _incoming(doc_id)
    if any(a.id in d.my_assignments and a.status == "unread" for a in d.assignments):
        try:
            api.mark_read(_rt(), _sid(), _me(), doc_id)
        except Forbidden:  # closed: still readable
            pass
        d = _incoming(doc_id)
    _record_view("incoming_doc", "in", doc_id)
    return _incoming_page(d)


@bp.post("/den/<int:doc_id>/chuyen-xu-ly")
@docflow_page
def direct(doc_id: int):
    """Bút phê và chuyển xử lý: ý kiến chỉ đạo, đơn vị/cá nhân với vai trò và hạn xử lý."""
    d = _incoming(doc_id)
    directive = unicodedata.normalize("NFC", request.form.get("directive", "")).strip()
    rows = []
    for key in request.form:
        m = re.fullmatch(r"role_([up])(\d{1,9})", key)
        if not m:
            continue
        role = request.form.get(key, "")
        if role not in rules.ASSIGNMENT_ROLES:
            continue
        rows.append({("unit_id" if m.group(1) == "u" else "person_id"): int(m.group(2)), "role": role,
                     "deadline": request.form.get(f"deadline_{m.group(1)}{m.group(2)}", "").strip() or None})
    form = request.form.to_dict()
    if not directive:
        return _incoming_page(d, error="Hãy ghi ý kiến chỉ đạo (bút phê) trước khi chuyển xử lý.", form=form,
                              status=400)
    if not rows:
        return _incoming_page(d, error="Hãy chọn ít nhất một đơn vị hoặc cá nhân và vai trò của họ "
                                       "(xử lý chính, phối hợp hoặc nhận để biết).", form=form, status=400)
    try:
        api.direct(_rt(), _sid(), _me(), doc_id, directive, rows)
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_page(d, error=e.message_vi, form=form, status=e.status if e.status < 500 else 400)
    if g.df_person.leads == "unit":
        flash(f"Đã giao xử lý cho {len(rows)} cá nhân trong đơn vị.", "success")
    else:
        flash(f"Đã bút phê và chuyển xử lý văn bản cho {len(rows)} đơn vị/cá nhân.", "success")
    return redirect(url_for("docflow.incoming", doc_id=doc_id))


@bp.post("/den/<int:doc_id>/tien-do")
@docflow_page
def progress(doc_id: int):
    """Cập nhật tiến độ xử lý của người/đơn vị được giao."""
    d = _incoming(doc_id)
    assignment_id = _int(request.form.get("assignment_id"))
    if assignment_id not in d.my_assignments:
        raise api.DocflowNotFound("Không tìm thấy phân công xử lý này của bạn.", f"assignment {assignment_id}")
    status = request.form.get("status", "")
    if status not in PROGRESS_LABELS:
        return _incoming_page(d, error="Hãy chọn một trạng thái: đã đọc, đang xử lý hoặc hoàn thành.",
                              form=request.form.to_dict(), status=400)
    note = unicodedata.normalize("NFC", request.form.get("note", "")).strip()
    try:
        api.progress(_rt(), _sid(), _me(), assignment_id, status, note)
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_page(d, error=e.message_vi, form=request.form.to_dict(),
                              status=e.status if e.status < 500 else 400)
    flash(f"Đã cập nhật tiến độ: {PROGRESS_LABELS[status]}.", "success")
    return redirect(url_for("docflow.incoming", doc_id=doc_id))


@bp.get("/den/<int:doc_id>/pdf")
@docflow_page
def incoming_pdf(doc_id: int):
    """Mở (hoặc tải về với ?tai=1) tệp PDF của văn bản đến."""
    d = _incoming(doc_id)
    data = api.pdf_of(_rt(), _sid(), _me(), "in", doc_id)
    if data is None:
        raise api.DocflowNotFound("Văn bản này chưa có tệp PDF.", "no pdf")
    label = d.original_symbol or d.summary
    name = _file_name(f"Văn bản đến số {d.arrival_number:02d} - {label}") + ".pdf"
    return _send(data, name, "application/pdf", inline=request.args.get("tai") != "1")


@bp.get("/den/<int:doc_id>/xem-truoc.png")
@docflow_page
def incoming_preview(doc_id: int):
    """Ảnh trang đầu của văn bản đến."""
    return _preview_response(_incoming(doc_id).pdf_blob)


@bp.get("/den/<int:doc_id>/tep/<int:index>")
@docflow_page
def incoming_attachment(doc_id: int, index: int):
    """Tải tệp đính kèm của văn bản đến."""
    meta, data = api.attachment_of(_rt(), _sid(), _me(), "in", doc_id, index)
    return _send(data, _file_name(meta.get("name", ""), "tep-dinh-kem"),
                 meta.get("content_type") or "application/octet-stream")


# =========================================================================================
# outgoing documents
# =========================================================================================
def _outgoing(doc_id: int):
    return api.outgoing_doc(_rt(), _sid(), _me(), doc_id)


def _outgoing_page(d, *, sign_error: str | None = None, seal_error: str | None = None, selected=None,
                   form=None, status: int = 200):
    p = g.df_person
    rt, sid, me = _rt(), _sid(), _me()
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
                           has_preview=preview_png(d.pdf_blob) is not None, section="di_all"), status


@bp.get("/di/<int:doc_id>")
@docflow_page
def outgoing(doc_id: int):
    """Xem văn bản đi / dự thảo."""
    return _outgoing_page(_outgoing(doc_id))


def _simple_step(doc_id: int, call, done: str):
    """Run one step; a refusal is shown on the document page with the reason."""
    d = _outgoing(doc_id)
    try:
        result = call(d)
    except NotFound:
        raise
    except SandboxError as e:
        flash(e.message_vi, "error")
        return _outgoing_page(_outgoing(doc_id), form=request.form.to_dict(),
                              status=e.status if e.status < 500 else 400)
    flash(done if isinstance(done, str) else done(result), "success")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


@bp.post("/di/<int:doc_id>/trinh")
@docflow_page
def submit(doc_id: int):
    """Trình lãnh đạo."""
    return _simple_step(doc_id, lambda d: api.submit(_rt(), _sid(), _me(), doc_id),
                        "Đã trình dự thảo lên lãnh đạo.")


@bp.post("/di/<int:doc_id>/duyet")
@docflow_page
def approve(doc_id: int):
    """Duyệt dự thảo."""
    return _simple_step(doc_id, lambda d: api.approve(_rt(), _sid(), _me(), doc_id), "Đã duyệt dự thảo.")


@bp.post("/di/<int:doc_id>/tra-lai")
@docflow_page
def return_draft(doc_id: int):
    """Trả lại dự thảo kèm lý do."""
    reason = unicodedata.normalize("NFC", request.form.get("reason", "")).strip()
    if not reason:
        flash("Hãy ghi lý do trả lại dự thảo.", "error")
        return _outgoing_page(_outgoing(doc_id), form=request.form.to_dict(), status=400)
    return _simple_step(doc_id, lambda d: api.return_draft(_rt(), _sid(), _me(), doc_id, reason),
                        "Đã trả lại dự thảo cho người soạn thảo.")


@bp.post("/di/<int:doc_id>/y-kien")
@docflow_page
def comment(doc_id: int):
    """Góp ý kiến vào dự thảo."""
    text = unicodedata.normalize("NFC", request.form.get("text", "")).strip()
    if not text:
        flash("Hãy nhập nội dung ý kiến.", "error")
        return _outgoing_page(_outgoing(doc_id), status=400)
    return _simple_step(doc_id, lambda d: api.comment(_rt(), _sid(), _me(), doc_id, text), "Đã gửi ý kiến.")


def _token_and_pin(d, which: str):
    """(token_id, pin) from the signing form, or an error page."""
    certs = api.tokens_for(_rt(), _sid(), _me())
    token_id = _int(request.form.get("token_id"))
    pin = request.form.get("pin", "")
    err_key = "sign_error" if which == "sign" else "seal_error"
    if token_id is None:
        return None, _outgoing_page(d, **{err_key: "Hãy chọn một chứng thư số để ký."}, status=400)
    if token_id not in {c.id for c in certs}:
        return None, _outgoing_page(d, **{err_key: "Không tìm thấy thiết bị ký số này trong danh sách chứng "
                                                    "thư số của bạn."}, status=404)
    if not pin:
        return None, _outgoing_page(d, **{err_key: "Hãy nhập mã PIN của thiết bị ký số."}, selected=token_id,
                                    status=400)
    if len(pin) > PIN_MAX:
        return None, _outgoing_page(d, **{err_key: "Mã PIN dài tối đa 16 ký tự."}, selected=token_id, status=400)
    return (token_id, pin), None


@bp.post("/di/<int:doc_id>/ky-so")
@docflow_page
def sign(doc_id: int):
    """Ký số phê duyệt dự thảo (lãnh đạo): chọn chứng thư số, nhập mã PIN."""
    d = _outgoing(doc_id)
    got, page = _token_and_pin(d, "sign")
    if got is None:
        return page
    token_id, pin = got
    try:
        result = api.sign_as_leader(_rt(), _sid(), _me(), doc_id, token_id, pin)
    except NotFound:
        raise
    except SandboxError as e:
        return _outgoing_page(_outgoing(doc_id), sign_error=e.message_vi, selected=token_id,
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
        if r.get("clerk") == "npc":
            if r.get("released"):
                return (f"Đã chuyển văn thư phát hành. Văn thư đã cấp số {r.get('symbol')}, ký số của cơ quan "
                        "và phát hành văn bản.")
            return f"Đã chuyển văn thư, nhưng văn thư từ chối phát hành: {r.get('refusal')}"
        return "Đã chuyển văn thư phát hành; văn bản đang chờ văn thư cấp số, ký số của cơ quan và phát hành."

    d = _outgoing(doc_id)
    try:
        r = api.forward_to_clerk(_rt(), _sid(), _me(), doc_id, note)
    except NotFound:
        raise
    except SandboxError as e:
        flash(e.message_vi, "error")
        return _outgoing_page(d, status=e.status if e.status < 500 else 400)
    flash(done(r), "success" if r.get("released") or r.get("clerk") != "npc" else "error")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


@bp.post("/di/<int:doc_id>/cap-so")
@docflow_page
def number(doc_id: int):
    """Cấp số văn bản đi (văn thư)."""
    raw = request.form.get("number", "").strip()
    wanted = None
    if raw:
        wanted = _int(raw)
        if wanted is None or wanted < 1:
            flash("Số văn bản phải là một số nguyên dương (để trống để lấy số tiếp theo trong sổ).", "error")
            return _outgoing_page(_outgoing(doc_id), form=request.form.to_dict(), status=400)
    return _simple_step(doc_id, lambda d: api.number(_rt(), _sid(), _me(), doc_id, wanted),
                        lambda r: f"Đã cấp số {r['symbol']}.")


@bp.post("/di/<int:doc_id>/dong-dau")
@docflow_page
def seal(doc_id: int):
    """Đóng dấu: ký số của cơ quan (văn thư, chứng thư số của cơ quan và mã PIN)."""
    d = _outgoing(doc_id)
    got, page = _token_and_pin(d, "seal")
    if got is None:
        return page
    token_id, pin = got
    try:
        api.org_sign(_rt(), _sid(), _me(), doc_id, token_id, pin)
    except NotFound:
        raise
    except SandboxError as e:
        return _outgoing_page(_outgoing(doc_id), seal_error=e.message_vi, selected=token_id,
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
    return _simple_step(doc_id, lambda d: api.issue(_rt(), _sid(), _me(), doc_id), done)


@bp.post("/di/<int:doc_id>/tu-choi")
@docflow_page
def refuse(doc_id: int):
    """Văn thư từ chối phát hành, trả lại lãnh đạo kèm lý do."""
    reason = unicodedata.normalize("NFC", request.form.get("reason", "")).strip()
    if not reason:
        flash("Hãy ghi lý do từ chối phát hành.", "error")
        return _outgoing_page(_outgoing(doc_id), form=request.form.to_dict(), status=400)
    return _simple_step(doc_id, lambda d: api.clerk_refuse(_rt(), _sid(), _me(), doc_id, reason),
                        "Đã từ chối phát hành và trả lại lãnh đạo.")


@bp.post("/di/<int:doc_id>/luu")
@docflow_page
def archive(doc_id: int):
    """Lưu hồ sơ."""
    return _simple_step(doc_id, lambda d: api.archive(_rt(), _sid(), _me(), doc_id), "Đã lưu hồ sơ văn bản.")


@bp.get("/di/<int:doc_id>/pdf")
@docflow_page
def outgoing_pdf(doc_id: int):
    """Mở (hoặc tải về với ?tai=1) tệp PDF của văn bản đi."""
    d = _outgoing(doc_id)
    data = api.pdf_of(_rt(), _sid(), _me(), "out", doc_id)
    if data is None:
        raise api.DocflowNotFound("Văn bản này chưa có tệp PDF.", "no pdf")
    name = _file_name(f"{d.symbol} - {d.summary}" if d.symbol else f"Dự thảo - {d.summary}") + ".pdf"
    return _send(data, name, "application/pdf", inline=request.args.get("tai") != "1")


@bp.get("/di/<int:doc_id>/xem-truoc.png")
@docflow_page
def outgoing_preview(doc_id: int):
    """Ảnh trang đầu của văn bản đi."""
    return _preview_response(_outgoing(doc_id).pdf_blob)


@bp.get("/di/<int:doc_id>/tep/<int:index>")
@docflow_page
def outgoing_attachment(doc_id: int, index: int):
    """Tải tệp đính kèm của văn bản đi."""
    meta, data = api.attachment_of(_rt(), _sid(), _me(), "out", doc_id, index)
    return _send(data, _file_name(meta.get("name", ""), "tep-dinh-kem"),
                 meta.get("content_type") or "application/octet-stream")


# =========================================================================================
# forms with uploads: drafting, editing a draft, registering an incoming document
# =========================================================================================
UPLOAD_FIELD = "files"
UPLOAD_ENDPOINTS = {"docflow.new_draft", "docflow.edit_draft", "docflow.new_incoming"}


def _upload_limit() -> int:
    return _rt().settings.max_message_size


@bp.record_once
def _allow_big_uploads(state) -> None:
    """Forms with uploads accept a request somewhat over the file limit, so an oversized
    file is refused by name with the rest of the form kept (instead of the bare 413 page).
    Registered first so it runs before the CSRF check parses the form."""
    app = state.app

    def raise_limit():
        if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
            limit = app.extensions["sandbox_runtime"].settings.max_message_size
            request.max_content_length = 3 * limit + 1024 * 1024

    app.before_request_funcs.setdefault(None, []).insert(0, raise_limit)


def _kept_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"docflow-upload:{_sid()}:{_me()}")


def _kept(field: str = "kept") -> list[dict]:
    """Files accepted earlier, carried in signed hidden fields (a forged one is ignored)."""
    ser = _kept_serializer()
    kept: list[dict] = []
    for token in request.form.getlist(field):
        try:
            item = ser.loads(token)
        except BadSignature:
            continue
        if isinstance(item, dict) and {"name", "blob", "size", "content_type"} <= set(item):
            kept.append(item)
    return kept


def _uploads(field: str = UPLOAD_FIELD) -> tuple[list[dict], list[str]]:
    """The new files of a form field, each checked: (accepted, Vietnamese errors)."""
    rt = _rt()
    accepted, errors = [], []
    limit = _upload_limit()
    for f in request.files.getlist(field):
        if f is None or not f.filename:
            continue
        data = f.stream.read(limit + 1)
        name = api.safe_file_name(f.filename)
        if len(data) > limit:
            errors.append(f"Tệp «{name}» lớn hơn giới hạn {file_size(limit)} cho mỗi tệp; hãy nén hoặc chia nhỏ "
                          "tệp rồi chọn lại.")
            continue
        try:
            accepted.append(api.check_upload(rt, api.Upload(f.filename, data, f.mimetype)))
        except SandboxError as e:
            errors.append(e.message_vi)
    return accepted, errors


def _collect_files() -> tuple[list[dict], list[str]]:
    """Files already accepted plus the new uploads: (accepted, errors)."""
    new, errors = _uploads()
    return _kept() + new, errors


def _signed(items: list[dict]) -> list[tuple[dict, str]]:
    ser = _kept_serializer()
    return [(k, ser.dumps(k)) for k in items]


def _draft_choices() -> dict:
    rt, sid, p = _rt(), _sid(), g.df_person
    tree = api.org_tree(rt, sid, p.org_id)
    people = tree.leaders + [x for u in tree.units for x in u.people]
    signers = [x for x in people if x.role == "lanh_dao"]
    orgs = [o for o in api.organisations(rt, sid) if o.id != p.org_id]
    return {"signers": signers, "units": tree.units, "orgs": orgs, "types": rules.TYPES}


def _split_list(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[\n;,]+", text or "") if x.strip()]


def _draft_page(form: dict, kept: list[dict], errors: list[str], status: int = 200, doc=None):
    return render_template("docflow/new_draft.html", form=form, kept=_signed(kept), errors=errors, doc=doc,
                           limit=_upload_limit(), section="du_thao_moi" if doc is None else "di_all",
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
        if _int(v) in unit_ids:
            recipients.append({"kind": "unit", "id": _int(v)})
    for v in form.get("rcpt_org", []):
        if _int(v) in org_ids:
            recipients.append({"kind": "org", "id": _int(v)})
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
    kept, errors = _collect_files()
    choices = _draft_choices()
    type_code = form.get("type_code", "")
    summary = form.get("summary", "").strip()
    signer_id = _int(form.get("signer_id"))
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
        doc_id = api.create_draft(_rt(), _sid(), _me(), type_code=type_code, summary=summary, signer_id=signer.id,
                                  signer_title=title, body=_body(form),
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
            api.submit(_rt(), _sid(), _me(), doc_id)
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
    d = _outgoing(doc_id)
    if request.method == "GET":
        form = {"type_code": d.type_code, "summary": d.summary, "body": "\n".join(d.body),
                "addressees": "\n".join(d.addressees), "signer_id": str(d.signer_id), "signer_title": d.signer_title,
                "rcpt_unit": [str(r["id"]) for r in d.recipients if r.get("kind") == "unit"],
                "rcpt_org": [str(r["id"]) for r in d.recipients if r.get("kind") == "org"],
                "rcpt_emails": "\n".join(r["address"] for r in d.recipients if r.get("kind") == "email")}
        return _draft_page(form, [dict(a) for a in d.attachments], [], doc=d)
    form = _draft_form()
    form.update(type_code=d.type_code, signer_id=str(d.signer_id))
    kept, errors = _collect_files()
    if not form.get("summary", "").strip():
        errors.append("Hãy nhập trích yếu nội dung văn bản.")
    recipients = _recipients(form, _draft_choices(), errors)
    if errors:
        return _draft_page(form, kept, errors, 400, doc=d)
    try:
        version = api.update_draft(_rt(), _sid(), _me(), doc_id, summary=form["summary"].strip(), body=_body(form),
                                   addressees=_lines(form.get("addressees", "")), recipients=recipients,
                                   attachments=kept, signer_title=form.get("signer_title", "").strip() or None,
                                   note=form.get("note", "").strip())
    except NotFound:
        raise
    except SandboxError as e:
        return _draft_page(form, kept, [e.message_vi], e.status if e.status < 500 else 400, doc=d)
    _then_submit(doc_id, f"Đã lưu phiên bản {version} của dự thảo")
    return redirect(url_for("docflow.outgoing", doc_id=doc_id))


def _incoming_form_page(form: dict, pdf: list[dict], kept: list[dict], errors: list[str], status: int = 200):
    return render_template("docflow/new_incoming.html", form=form, pdf=_signed(pdf), kept=_signed(kept),
                           errors=errors, limit=_upload_limit(), types=rules.TYPES, urgency=rules.URGENCY,
                           section="den"), status


@bp.route("/den/moi", methods=["GET", "POST"])
@docflow_page
def new_incoming():
    """Vào sổ văn bản đến (văn thư): thông tin văn bản, tệp PDF, tệp đính kèm."""
    p = g.df_person
    if p.role != "van_thu":
        raise api.DocflowForbidden("Chỉ văn thư của cơ quan mới vào sổ văn bản đến.", "not the clerk")
    if request.method == "GET":
        return _incoming_form_page({"type_code": "CV", "urgency": "thuong"}, [], [], [])
    form = {k: unicodedata.normalize("NFC", v) for k, v in request.form.items() if k not in ("kept", "kept_pdf")}
    pdf = _kept("kept_pdf")
    new_pdf, errors = _uploads("pdf")
    for item in new_pdf:
        if item["content_type"] != "application/pdf":
            errors.append(f"Văn bản chính phải là tệp PDF; «{item['name']}» không phải tệp PDF.")
        else:
            pdf = [item]
    new_atts, att_errors = _uploads()
    errors += att_errors
    kept = _kept() + new_atts
    if not pdf:
        errors.append("Hãy chọn tệp PDF của văn bản đến.")
    if not form.get("sender_name", "").strip():
        errors.append("Hãy nhập cơ quan, tổ chức gửi văn bản.")
    if not form.get("summary", "").strip():
        errors.append("Hãy nhập trích yếu nội dung văn bản.")
    if form.get("type_code") not in rules.TYPES:
        errors.append("Hãy chọn loại văn bản.")
    if form.get("urgency") not in rules.URGENCY:
        errors.append("Hãy chọn độ khẩn.")
    if errors:
        return _incoming_form_page(form, pdf, kept, errors, 400)
    rt = _rt()
    try:
        r = api.register_incoming(rt, _sid(), p.org_id, sender_name=form["sender_name"].strip(),
                                  summary=form["summary"].strip(),
                                  original_symbol=form.get("original_symbol", "").strip(),
                                  original_date=form.get("original_date") or None, type_code=form["type_code"],
                                  urgency=form["urgency"], pdf=api.Upload(pdf[0]["name"], rt.blobs.get(pdf[0]["blob"])),
                                  attachments=kept, due_date=form.get("due_date") or None, actor=_me())
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_form_page(form, pdf, kept, [e.message_vi], e.status if e.status < 500 else 400)
    flash(f"Đã vào sổ văn bản đến, số đến {r['arrival_number']:02d}.", "success")
    return redirect(url_for("docflow.incoming", doc_id=r["incoming_id"]))
