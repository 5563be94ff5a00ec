"""Soạn thư: new, reply, reply all, forward, drafts; sending through ``mailserver.api.submit``.

When sending fails (a mistyped address, a recipient outside the world), the page comes back
with everything the person typed. Files they had just uploaded cannot be put back into a
file field, so they are first kept in a draft (``mail.save_draft``, a recorded action) and
the page continues editing that draft with the files ticked."""
from __future__ import annotations

import logging

from flask import flash, g, jsonify, redirect, render_template, request, url_for

from sandbox.kernel import storage
from sandbox.kernel.errors import NotFound
from sandbox.kernel.vnformat import file_size
from sandbox.kernel.webkit import login_required

from .. import api
from ..errors import MailError
from .blueprint import bp
from .common import OpenedMessage, dispatch, mail_view, runtime
from .compose import (Attachment, ComposeForm, build_message, clean_filename, draft_form, forward_form,
                      new_message_id, reply_form)

log = logging.getLogger(__name__)


def _prefilled_form(view) -> ComposeForm:
    args = request.args
    me = g.account.address
    for key in ("reply", "reply_all", "forward", "draft"):
        value = args.get(key, "")
        if not value:
            continue
        if not value.isdigit():
            raise NotFound("Không tìm thấy thư.", f"bad id {value!r}")
        message = OpenedMessage(view, int(value))
        parts = [a["part"] for a in message.attachments]
        if key == "forward":
            return forward_form(message.headers, message.text, message.item.id, parts)
        if key == "draft":
            if message.box.special_use != "\\Drafts":
                raise NotFound("Không tìm thấy thư nháp.", f"item {value} is not a draft")
            return draft_form(message.raw, message.headers, message.text, message.item.id, parts)
        return reply_form(message.headers, message.text, message.item.id, me, reply_all=key == "reply_all")
    return ComposeForm(to=args.get("to", ""))


def _source(view, form: ComposeForm) -> OpenedMessage | None:
    """The message whose attachments travel with this one (forwarded message or draft)."""
    return OpenedMessage(view, form.source_id) if form.source_id is not None else None


def _render(view, form: ComposeForm, *, error: str | None = None, status: int = 200):
    source = _source(view, form)
    carried = source.attachments if source else []
    return render_template(
        "webmail/compose.html", folders=view.folders(), form=form, carried=carried, error=error,
        directory=view.directory("", limit=500), max_size=file_size(runtime().settings.max_message_size),
        max_bytes=runtime().settings.max_message_size,
    ), status


@bp.get("/compose")
@login_required
def compose():
    """Soạn thư mới, trả lời, chuyển tiếp hoặc tiếp tục thư nháp."""
    with mail_view() as view:
        return _render(view, _prefilled_form(view))


def _uploads() -> list[Attachment]:
    files = []
    for upload in request.files.getlist("attachments"):
        if not upload or not upload.filename:
            continue
        content_type = upload.mimetype or "application/octet-stream"
        files.append(Attachment(clean_filename(upload.filename), content_type, upload.read()))
    return files


def _draft_in_account(view, form: ComposeForm) -> int | None:
    """The draft this form continues, if it is still one of the account's drafts."""
    if form.draft_id is None:
        return None
    _, _, box = view.item(form.draft_id)
    return form.draft_id if box.special_use == "\\Drafts" else None


def _collect(form: ComposeForm) -> tuple[list[Attachment], int | None]:
    with mail_view() as view:
        draft_id = _draft_in_account(view, form)
        source = _source(view, form)
        carried = []
        if source is not None:
            for part in form.kept_parts:
                info = source.attachment(part)
                name = info.get("filename") or f"tep-dinh-kem-{part}"
                carried.append(Attachment(name, info["content_type"], source.payload(part)))
    return carried, draft_id


def _check_size(raw: bytes) -> None:
    limit = runtime().settings.max_message_size
    if len(raw) > limit:
        raise MailError(f"Thư quá lớn ({file_size(len(raw))}); giới hạn là {file_size(limit)}.",
                        f"message of {len(raw)} bytes", code=552)


def _save_draft(form: ComposeForm, attachments: list[Attachment], draft_id: int | None) -> int:
    rt = runtime()
    raw = build_message(g.account, form, attachments, now=rt.clock.now(), message_id=new_message_id(g.account.address),
                        include_bcc=True, as_draft=True)
    _check_size(raw)
    return dispatch("mail.save_draft", raw=rt.blobs.put(raw), replaces=draft_id)["item_id"]


def _send(form: ComposeForm, attachments: list[Attachment], draft_id: int | None) -> dict:
    to, cc, bcc = form.recipients()
    if not (to or cc or bcc):
        raise MailError("Thư chưa có người nhận. Hãy nhập ít nhất một địa chỉ ở ô Đến.", "no recipients", code=554)
    rt = runtime()
    now, message_id = rt.clock.now(), new_message_id(g.account.address)
    delivered = build_message(g.account, form, attachments, now=now, message_id=message_id, include_bcc=False)
    own_copy = build_message(g.account, form, attachments, now=now, message_id=message_id, include_bcc=True)
    _check_size(own_copy)
    rcpts = [address for _, address in to + cc + bcc]
    return api.submit(rt.dispatcher, rt.blobs, g.account, delivered, rcpts, via="webmail",
                      sent_copy=own_copy, replaces_draft=draft_id)


def _keep_after_failure(form: ComposeForm, attachments: list[Attachment], draft_id: int | None,
                        had_uploads: bool) -> str:
    """Save what the failed send carried, so the re-shown page loses no file."""
    if not had_uploads:
        return ""
    try:
        new_id = _save_draft(form, attachments, draft_id)
    except MailError:
        return " Các tệp vừa chọn chưa được lưu, hãy chọn lại."
    with mail_view() as view:
        saved = OpenedMessage(view, new_id)
        form.draft_id = form.source_id = new_id
        form.kept_parts = [a["part"] for a in saved.attachments]
    return " Các tệp đính kèm đã được giữ lại trong Thư nháp."


@bp.post("/compose")
@login_required
def compose_submit():
    """Gửi thư hoặc lưu nháp."""
    form = ComposeForm.from_request(request.form)
    uploads = _uploads()
    carried, draft_id = _collect(form)
    attachments = carried + uploads
    saving = "save_draft" in request.form
    try:
        if saving:
            new_id = _save_draft(form, attachments, draft_id)
            flash("Đã lưu thư nháp.", "success")
            return redirect(url_for("webmail.compose", draft=new_id))
        result = _send(form, attachments, draft_id)
    except MailError as e:
        note = "" if saving else _keep_after_failure(form, attachments, draft_id, bool(uploads))
        with mail_view() as view:
            return _render(view, form, error=e.message_vi + note, status=422)
    except Exception as e:  # storage failed (a full disk): the page keeps what was typed
        kind = storage.classify(e)
        if kind is None:
            raise
        return _storage_failed(form, kind, e, saving=saving, had_uploads=bool(uploads))
    flash("Đã gửi thư.", "success")
    if result.get("bounced"):
        flash("Không chuyển được thư tới: " + ", ".join(result["bounced"])
              + " (địa chỉ không tồn tại). Thư báo lỗi đã được gửi vào Hộp thư đến.", "warning")
    if form.answered_id is not None:
        _mark_answered(form.answered_id)
    return redirect(url_for("webmail.index"))


def _storage_failed(form: ComposeForm, kind: str, e: Exception, *, saving: bool, had_uploads: bool):
    """The compose page again, with everything typed, saying that nothing was sent or saved
    because the server's storage failed (507: full; 503: the database unavailable)."""
    storage.log_failure(log, "webmail draft" if saving else "webmail send", e, kind)
    error = storage.kept_message_vi(kind, "Thư nháp chưa được lưu" if saving else "Thư chưa được gửi")
    if had_uploads:
        error += " Các tệp vừa chọn chưa được lưu, hãy chọn lại trước khi gửi."
    with mail_view() as view:
        return _render(view, form, error=error, status=storage.http_status(kind))


def _mark_answered(item_id: int) -> None:
    try:
        with storage.best_effort(f"reply to item {item_id} marked answered"):  # the reply itself is sent
            dispatch("mail.set_flags", item_ids=[item_id], add=["\\Answered"])
    except NotFound:
        pass  # the original was deleted or moved meanwhile; the reply itself is sent


@bp.get("/directory.json")
@login_required
def directory():
    """Gợi ý địa chỉ từ danh bạ của thế giới mô phỏng."""
    prefix = request.args.get("q", "")[:100]
    with mail_view() as view:
        people = view.directory(prefix, limit=10)
    resp = jsonify([{"name": name, "address": address} for name, address in people])
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
