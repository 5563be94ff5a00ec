"""Folders and message lists: paging, search, and the actions on selected messages."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from sandbox.kernel.webkit import login_required

from ..errors import MailError
from ..store import folder_label
from .blueprint import bp
from .common import dispatch, folder_url, mail_view, safe_next


def _render_folder(view, box, *, page: int, query: str):
    page_size = current_app.config.get("MAIL_PAGE_SIZE", 50)
    rows, total = view.items(box, query=query, offset=(page - 1) * page_size, limit=page_size)
    pages = max(1, -(-total // page_size))
    if page > pages and total:
        return redirect(folder_url(box.id, page=pages, q=query))
    folders = view.folders()
    return render_template(
        "webmail/folder.html", folders=folders, box=box, current=next(f for f in folders if f.box.id == box.id),
        rows=rows, total=total, page=page, pages=pages, query=query,
        outgoing=box.special_use in ("\\Sent", "\\Drafts"), is_drafts=box.special_use == "\\Drafts",
        here=request.full_path.rstrip("?"),
    )


def _page_arg() -> int:
    page = request.args.get("page", "1")
    return max(1, int(page)) if page.isdigit() else 1


@bp.get("/")
@login_required
def index():
    """Hộp thư đến."""
    with mail_view() as view:
        return _render_folder(view, view.special(None), page=_page_arg(), query=request.args.get("q", "").strip())


@bp.get("/folder/<int:folder_id>")
@login_required
def folder(folder_id: int):
    """Danh sách thư của một thư mục, có phân trang và tìm kiếm."""
    with mail_view() as view:
        return _render_folder(view, view.mailbox(folder_id), page=_page_arg(), query=request.args.get("q", "").strip())


@bp.post("/items")
@login_required
def items_action():
    """Chuyển, xoá, đánh dấu đã đọc/chưa đọc các thư đã chọn."""
    item_ids = request.form.getlist("item", type=int)
    op = request.form.get("op", "")
    back = safe_next(url_for("webmail.index"))
    if not item_ids:
        raise MailError("Chưa chọn thư nào.", "empty selection")
    if op == "move":
        target = request.form.get("target", "")
        if not target.isdigit():
            raise MailError("Hãy chọn thư mục muốn chuyển thư đến.", "no move target")
        with mail_view() as view:
            label = folder_label(view.mailbox(int(target)))
        moved = dispatch("mail.move", item_ids=item_ids, target_mailbox_id=int(target))["mapping"]
        flash(f"Đã chuyển {len(moved)} thư vào «{label}».", "success")
    elif op == "delete":
        result = dispatch("mail.delete", item_ids=item_ids)
        if result["trashed"]:
            flash(f"Đã chuyển {result['trashed']} thư vào Thùng rác.", "success")
        if result["expunged"]:
            flash(f"Đã xoá hẳn {result['expunged']} thư.", "success")
    elif op in ("read", "unread"):
        key = "add" if op == "read" else "remove"
        dispatch("mail.set_flags", item_ids=item_ids, **{key: ["\\Seen"]})
        flash("Đã đánh dấu là đã đọc." if op == "read" else "Đã đánh dấu là chưa đọc.", "success")
    else:
        raise MailError("Thao tác không hợp lệ.", f"unknown op {op!r}")
    return redirect(back)


@bp.get("/folders")
@login_required
def folders():
    """Quản lý thư mục: tạo, đổi tên, xoá thư mục riêng."""
    with mail_view() as view:
        return render_template("webmail/folders.html", folders=view.folders())


@bp.post("/folders")
@login_required
def create_folder():
    """Tạo thư mục."""
    name = request.form.get("name", "")
    result = dispatch("mail.create_folder", name=name)
    flash(f"Đã tạo thư mục «{result['name']}».", "success")
    return redirect(safe_next(url_for("webmail.folders")))


@bp.post("/folder/<int:folder_id>/rename")
@login_required
def rename_folder(folder_id: int):
    """Đổi tên thư mục."""
    with mail_view() as view:
        view.mailbox(folder_id)
    result = dispatch("mail.rename_folder", mailbox_id=folder_id, new_name=request.form.get("name", ""))
    flash(f"Đã đổi tên thư mục thành «{result['name']}».", "success")
    return redirect(url_for("webmail.folders"))


@bp.post("/folder/<int:folder_id>/delete")
@login_required
def delete_folder(folder_id: int):
    """Xoá thư mục (cùng các thư trong đó)."""
    with mail_view() as view:
        view.mailbox(folder_id)
    result = dispatch("mail.delete_folder", mailbox_id=folder_id)
    flash(f"Đã xoá thư mục «{result['deleted']}».", "success")
    return redirect(url_for("webmail.folders"))
