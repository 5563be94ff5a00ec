"""Files of documents. Downloads: a document's PDF (inline or ``?tai=1``), its first page as a
preview image, its attachments, for both kinds of document with one view each (``kind`` "in"
for văn bản đến under ``/den``, "out" for văn bản đi under ``/di``; the endpoints keep their
names: ``incoming_pdf``/``outgoing_pdf``...). Uploads: the forms' file fields, files accepted
earlier carried in signed hidden fields, and a request limit above the file limit so an
oversized file is refused by name."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from docflow import api
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.vnformat import file_size

from .blueprint import bp
from .common import docflow_page, incoming_detail, outgoing_detail, runtime, sandbox_id, viewer

__all__ = ["file_name", "send_bytes", "preview_png", "preview_response", "blob_version", "UPLOAD_ENDPOINTS",
           "upload_limit", "kept_files", "uploaded_files", "collect_files", "signed_kept"]

DOWNLOAD_CSP = "default-src 'none'; sandbox"
INLINE_PDF_CSP = "default-src 'self'; object-src 'self'; frame-ancestors 'self'; form-action 'none'"


# =========================================================================================
# downloads
# =========================================================================================
def file_name(text: str, default: str = "van-ban") -> str:
    """A Vietnamese file name without folders, reserved or control characters."""
    text = unicodedata.normalize("NFC", text or "").replace("/", "-").replace("\\", "-")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*;')
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text[:120].rstrip(" .") or default


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in plain).strip() or "van-ban"


def send_bytes(data: bytes, filename: str, content_type: str, inline: bool = False) -> Response:
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
                src.write_bytes(runtime().blobs.get(blob))
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


#: A document's file URLs carry ``?v=`` and the first digits of the PDF's blob hash, so a new
#: signature (a new blob) gives new URLs and the browser never shows an old preview.
VERSION_ARG = "v"
#: A preview asked for by its current version: its URL names its content, so the browser
#: keeps it (only for this person: ``private``) and never asks again.
PREVIEW_IMMUTABLE = "private, max-age=31536000, immutable"
#: Asked for without the version, or with an old one: the browser checks each time (ETag).
PREVIEW_REVALIDATE = "private, no-cache"


@bp.app_template_global("df_file_version")
def blob_version(blob: str | None) -> str | None:
    """The version of a document's file URLs (None without a file: no ``v`` in the URL)."""
    return blob[:16] if blob else None


def preview_response(blob: str | None, *, versioned: bool = False) -> Response:
    """The preview image; ``versioned``: asked for with the blob's version in the URL."""
    png = preview_png(blob)
    if png is None:
        raise api.DocflowNotFound("Văn bản này không có ảnh xem trước.", "no preview")
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = PREVIEW_IMMUTABLE if versioned else PREVIEW_REVALIDATE
    resp.set_etag(blob)
    return resp.make_conditional(request)


#: The two kinds of document: URL prefix and endpoint prefix of their routes.
KINDS = {"in": ("/den", "incoming"), "out": ("/di", "outgoing")}


def _detail(kind: str, doc_id: int):
    return incoming_detail(doc_id) if kind == "in" else outgoing_detail(doc_id)


def _pdf_name(kind: str, d) -> str:
    if kind == "in":
        label = d.original_symbol or d.summary
        return file_name(f"Văn bản đến số {d.arrival_number:02d} - {label}") + ".pdf"
    return file_name(f"{d.symbol} - {d.summary}" if d.symbol else f"Dự thảo - {d.summary}") + ".pdf"


@docflow_page
def document_pdf(kind: str, doc_id: int):
    """Mở (hoặc tải về với ?tai=1) tệp PDF của văn bản đến / văn bản đi."""
    d = _detail(kind, doc_id)
    data = api.pdf_of(runtime(), sandbox_id(), viewer(), kind, doc_id)
    if data is None:
        raise api.DocflowNotFound("Văn bản này chưa có tệp PDF.", "no pdf")
    return send_bytes(data, _pdf_name(kind, d), "application/pdf", inline=request.args.get("tai") != "1")


@docflow_page
def document_preview(kind: str, doc_id: int):
    """Ảnh trang đầu của văn bản đến / văn bản đi."""
    blob = _detail(kind, doc_id).pdf_blob
    asked = request.args.get(VERSION_ARG)
    return preview_response(blob, versioned=asked is not None and asked == blob_version(blob))


@docflow_page
def document_attachment(kind: str, doc_id: int, index: int):
    """Tải tệp đính kèm của văn bản đến / văn bản đi."""
    meta, data = api.attachment_of(runtime(), sandbox_id(), viewer(), kind, doc_id, index)
    return send_bytes(data, file_name(meta.get("name", ""), "tep-dinh-kem"),
                      meta.get("content_type") or "application/octet-stream")


for _kind, (_prefix, _name) in KINDS.items():
    bp.add_url_rule(f"{_prefix}/<int:doc_id>/pdf", f"{_name}_pdf", document_pdf, methods=["GET"],
                    defaults={"kind": _kind})
    bp.add_url_rule(f"{_prefix}/<int:doc_id>/xem-truoc.png", f"{_name}_preview", document_preview,
                    methods=["GET"], defaults={"kind": _kind})
    bp.add_url_rule(f"{_prefix}/<int:doc_id>/tep/<int:index>", f"{_name}_attachment", document_attachment,
                    methods=["GET"], defaults={"kind": _kind})


# =========================================================================================
# uploads (forms: drafting, editing a draft, registering an incoming document)
# =========================================================================================
UPLOAD_FIELD = "files"
UPLOAD_ENDPOINTS = {"docflow.new_draft", "docflow.edit_draft", "docflow.new_incoming"}


def upload_limit() -> int:
    return runtime().settings.max_message_size


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
    return URLSafeSerializer(current_app.secret_key, salt=f"docflow-upload:{sandbox_id()}:{viewer()}")


def kept_files(field: str = "kept") -> list[dict]:
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


def uploaded_files(field: str = UPLOAD_FIELD) -> tuple[list[dict], list[str]]:
    """The new files of a form field, each checked: (accepted, Vietnamese errors)."""
    rt = runtime()
    accepted, errors = [], []
    limit = upload_limit()
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


def collect_files() -> tuple[list[dict], list[str]]:
    """Files already accepted plus the new uploads: (accepted, errors)."""
    new, errors = uploaded_files()
    return kept_files() + new, errors


def signed_kept(items: list[dict]) -> list[tuple[dict, str]]:
    ser = _kept_serializer()
    return [(k, ser.dumps(k)) for k in items]
