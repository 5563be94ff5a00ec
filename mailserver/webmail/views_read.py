"""Reading a message: headers, text or sanitised HTML body, attachments as downloads."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from sandbox.kernel.webkit import login_required

from .blueprint import bp
from .common import OpenedMessage, dispatch, folder_url, has_flag, mail_view
from .compose import header_addresses
from .sanitize import body_document, linkify, sanitize_html

BODY_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; "
            "sandbox allow-top-navigation-by-user-activation")
DOWNLOAD_CSP = "default-src 'none'; sandbox"
PART_NUMBER = re.compile(r"\d{1,4}(\.\d{1,4}){0,8}")


def record_on_read(action_name: str, **args) -> None:
    """What reading records (seen, a clicked link, a downloaded file): a closed sandbox (the
    exam's time is up, or an examiner's read-only copy) still shows the mail; it just records
    nothing. So does a server whose storage fails (a full disk): logged, the mail shown."""
    from sandbox.kernel import storage
    from sandbox.kernel.errors import Forbidden
    try:
        with storage.best_effort(f"{action_name} on reading"):
            dispatch(action_name, **args)
    except Forbidden:
        pass


def _cid_resolver(message: OpenedMessage):
    by_cid = {a["content_id"].strip("<>"): a for a in message.parts.get("attachments", []) if a.get("content_id")}

    def resolve(content_id: str):
        found = by_cid.get(content_id)
        return (found["content_type"], message.payload(found["part"])) if found else None

    return resolve


@bp.get("/message/<int:item_id>")
@login_required
def read(item_id: int):
    """Đọc thư (mở thư là đánh dấu đã đọc)."""
    with mail_view() as view:
        item, _, box = view.item(item_id)
        if box.special_use == "\\Drafts":
            return redirect(url_for("webmail.compose", draft=item_id))
        unseen = not has_flag(item, "\\Seen")
    if unseen:
        record_on_read("mail.set_flags", item_ids=[item_id], add=["\\Seen"])
    with mail_view() as view:
        message = OpenedMessage(view, item_id)
        html_body = message.parts.get("html")
        show_html = bool(html_body) and request.args.get("view") != "text"
        blocked = show_html and sanitize_html(html_body).blocked_remote
        return render_template(
            "webmail/message.html", folders=view.folders(), message=message, box=message.box,
            headers=message.headers, bcc=header_addresses(message.raw, "Bcc"), show_html=show_html,
            has_html=bool(html_body), blocked_remote=blocked,
            text=Markup(linkify(message.text or "", _link_for(item_id))),
            back=folder_url(message.box.id),
        )


@bp.get("/message/<int:item_id>/body")
@login_required
def body(item_id: int):
    """Nội dung HTML đã làm sạch, hiển thị trong khung cô lập (sandbox) của trang đọc thư."""
    with mail_view() as view:
        message = OpenedMessage(view, item_id)
        safe = sanitize_html(message.parts.get("html") or "", _cid_resolver(message), _link_for(item_id))
    resp = Response(body_document(safe.html), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = BODY_CSP
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _link_for(item_id: int):
    return lambda url: url_for("webmail.link", item_id=item_id, u=url)


@bp.get("/message/<int:item_id>/link")
@login_required
def link(item_id: int):
    """A web link in a message: the exam machine has no Internet, so the page only says so.
    The click is recorded (information-security tasks check that a phishing link was not
    opened)."""
    url = request.args.get("u", "")[:2000]
    if not url.lower().startswith(("http://", "https://")):
        abort(404)
    record_on_read("mail.opened", item_id=item_id, kind="link", target=url)
    resp = Response(render_template("webmail/link.html", url=url, back=url_for("webmail.read", item_id=item_id)))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def ascii_fallback(filename: str) -> str:
    """The file name without diacritics, for clients that ignore ``filename*``."""
    plain = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in plain)
    return plain.strip() or "tep-dinh-kem"


def content_disposition(filename: str) -> str:
    return f"attachment; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/message/<int:item_id>/part/<part>")
@login_required
def attachment(item_id: int, part: str):
    """Tải tệp đính kèm (luôn tải về, không mở trong trình duyệt)."""
    if not PART_NUMBER.fullmatch(part):
        abort(404)
    with mail_view() as view:
        message = OpenedMessage(view, item_id)
        info = message.attachment(part)
        data = message.payload(part)
    filename = unicodedata.normalize("NFC", info.get("filename") or f"tep-dinh-kem-{part}")
    record_on_read("mail.opened", item_id=item_id, kind="attachment", target=filename)
    content_type = info.get("content_type") or "application/octet-stream"
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
        content_type = "application/octet-stream"
    resp = Response(data, mimetype=content_type)
    resp.headers["Content-Disposition"] = content_disposition(filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
