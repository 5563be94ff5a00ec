"""Pages of a văn bản đến: the document (opening it marks the viewer's assignments read, and is
recorded), the leader's directive and forwarding (bút phê + chuyển xử lý, or a unit leader's
assignment within his unit), the assignees' progress, and the clerk's form to register one
(vào sổ văn bản đến)."""
from __future__ import annotations

import logging
import re
import unicodedata

from flask import flash, g, redirect, render_template, request, url_for

from docflow import api
from sandbox.kernel import storage
from sandbox.kernel.errors import Forbidden, NotFound, SandboxError

from .blueprint import bp
from .common import docflow_page, incoming_detail, record_view_once, rules, runtime, sandbox_id, to_int, viewer
from .files import kept_files, preview_png, signed_kept, upload_limit, uploaded_files

log = logging.getLogger(__name__)

ROLE_CHOICES = [("", "Không giao"), ("xlc", "Xử lý chính"), ("ph", "Phối hợp"), ("db", "Nhận để biết")]
PROGRESS_LABELS = {"read": "Đã đọc", "processing": "Đang xử lý", "completed": "Hoàn thành"}


def _tree_rows(org_id: int, unit_only: int | None = None) -> list[dict]:
    """The organisation as rows of the forwarding form: units, their people, the people
    without a unit (the viewer left out). ``unit_only``: a unit leader passing his unit's
    assignment on (second level) sees only the people of his unit."""
    tree = api.org_tree(runtime(), sandbox_id(), org_id)
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
    d = incoming_detail(doc_id)
    if any(a.id in d.my_assignments and a.status == "unread" for a in d.assignments):
        try:
            with storage.best_effort(f"incoming document {doc_id} marked read"):  # a full disk: still readable
                api.mark_read(runtime(), sandbox_id(), viewer(), doc_id)
        except Forbidden:  # closed: still readable
            pass
        d = incoming_detail(doc_id)
    record_view_once("incoming_doc", "in", doc_id)
    return _incoming_page(d)


@bp.post("/den/<int:doc_id>/chuyen-xu-ly")
@docflow_page
def direct(doc_id: int):
    """Bút phê và chuyển xử lý: ý kiến chỉ đạo, đơn vị/cá nhân với vai trò và hạn xử lý."""
    d = incoming_detail(doc_id)
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
        api.direct(runtime(), sandbox_id(), viewer(), doc_id, directive, rows)
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_page(d, error=e.message_vi, form=form, status=e.status if e.status < 500 else 400)
    except Exception as e:  # storage failed (a full disk): the directive typed is shown again
        kind = storage.classify(e)
        if kind is None:
            raise
        storage.log_failure(log, f"directive on incoming document {doc_id}", e, kind)
        return _incoming_page(d, error=storage.kept_message_vi(kind, "Ý kiến chỉ đạo chưa được lưu"), form=form,
                              status=storage.http_status(kind))
    if g.df_person.leads == "unit":
        flash(f"Đã giao xử lý cho {len(rows)} cá nhân trong đơn vị.", "success")
    else:
        flash(f"Đã bút phê và chuyển xử lý văn bản cho {len(rows)} đơn vị/cá nhân.", "success")
    return redirect(url_for("docflow.incoming", doc_id=doc_id))


@bp.post("/den/<int:doc_id>/tien-do")
@docflow_page
def progress(doc_id: int):
    """Cập nhật tiến độ xử lý của người/đơn vị được giao."""
    d = incoming_detail(doc_id)
    assignment_id = to_int(request.form.get("assignment_id"))
    if assignment_id not in d.my_assignments:
        raise api.DocflowNotFound("Không tìm thấy phân công xử lý này của bạn.", f"assignment {assignment_id}")
    status = request.form.get("status", "")
    if status not in PROGRESS_LABELS:
        return _incoming_page(d, error="Hãy chọn một trạng thái: đã đọc, đang xử lý hoặc hoàn thành.",
                              form=request.form.to_dict(), status=400)
    note = unicodedata.normalize("NFC", request.form.get("note", "")).strip()
    try:
        api.progress(runtime(), sandbox_id(), viewer(), assignment_id, status, note)
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_page(d, error=e.message_vi, form=request.form.to_dict(),
                              status=e.status if e.status < 500 else 400)
    except Exception as e:  # storage failed (a full disk): the note typed is shown again
        kind = storage.classify(e)
        if kind is None:
            raise
        storage.log_failure(log, f"progress of assignment {assignment_id}", e, kind)
        return _incoming_page(d, error=storage.kept_message_vi(kind, "Tiến độ xử lý chưa được lưu"),
                              form=request.form.to_dict(), status=storage.http_status(kind))
    flash(f"Đã cập nhật tiến độ: {PROGRESS_LABELS[status]}.", "success")
    return redirect(url_for("docflow.incoming", doc_id=doc_id))


def _incoming_form_page(form: dict, pdf: list[dict], kept: list[dict], errors: list[str], status: int = 200):
    return render_template("docflow/new_incoming.html", form=form, pdf=signed_kept(pdf), kept=signed_kept(kept),
                           errors=errors, limit=upload_limit(), types=rules.TYPES, urgency=rules.URGENCY,
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
    pdf = kept_files("kept_pdf")
    new_pdf, errors = uploaded_files("pdf")
    for item in new_pdf:
        if item["content_type"] != "application/pdf":
            errors.append(f"Văn bản chính phải là tệp PDF; «{item['name']}» không phải tệp PDF.")
        else:
            pdf = [item]
    new_atts, att_errors = uploaded_files()
    errors += att_errors
    kept = kept_files() + new_atts
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
    rt = runtime()
    try:
        r = api.register_incoming(rt, sandbox_id(), p.org_id, sender_name=form["sender_name"].strip(),
                                  summary=form["summary"].strip(),
                                  original_symbol=form.get("original_symbol", "").strip(),
                                  original_date=form.get("original_date") or None, type_code=form["type_code"],
                                  urgency=form["urgency"], pdf=api.Upload(pdf[0]["name"], rt.blobs.get(pdf[0]["blob"])),
                                  attachments=kept, due_date=form.get("due_date") or None, actor=viewer())
    except NotFound:
        raise
    except SandboxError as e:
        return _incoming_form_page(form, pdf, kept, [e.message_vi], e.status if e.status < 500 else 400)
    flash(f"Đã vào sổ văn bản đến, số đến {r['arrival_number']:02d}.", "success")
    return redirect(url_for("docflow.incoming", doc_id=r["incoming_id"]))
