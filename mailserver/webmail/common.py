"""What every webmail view shares: the scoped read session, dispatching as the logged-in
person, safe redirects, and the 404 page for anything outside the account."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import g, render_template, request, url_for

from sandbox.kernel.errors import NotFound
from sandbox.kernel.webkit import current_runtime

from .. import mime
from ..api import open_view
from ..store import MailView
from .blueprint import bp
from .sanitize import html_to_text


def runtime():
    return current_runtime()


@contextmanager
def mail_view() -> Iterator[MailView]:
    """A read session that sees only the logged-in account's mail. Objects read here are
    only usable inside the ``with`` block, so views render their pages inside it."""
    with open_view(runtime().db, g.account) as view:
        yield view


def dispatch(action_name: str, /, **args) -> dict:
    """Run a mail action as the logged-in person, on their own account."""
    return runtime().dispatcher.dispatch(g.account.sandbox_id, g.account.address, action_name,
                                         {"account_id": g.account.id, **args})


def safe_next(default: str) -> str:
    target = request.values.get("next", "")
    if target.startswith("/mail/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.app_template_global("webmail_has_flag")
def has_flag(item, flag: str) -> bool:
    return flag in (item.flags or "").split()


@bp.errorhandler(NotFound)
def not_in_account(e: NotFound):
    """Another world's id, another person's id or one that never existed: all look the same."""
    return render_template("error.html", status=404, title="Không tìm thấy", message=e.message_vi), 404


def folder_url(box_id: int, **params) -> str:
    return url_for("webmail.folder", folder_id=box_id, **{k: v for k, v in params.items() if v})


class OpenedMessage:
    """One message of the account, parsed: its folder item, stored data, headers and parts."""

    def __init__(self, view: MailView, item_id: int):
        self.item, self.data, self.box = view.item(item_id)
        self.raw = view.raw(self.data, runtime().blobs)
        self.headers = mime.decoded_headers(self.raw)
        self.parts = mime.body_parts(self.raw, self.data.structure)

    @property
    def text(self) -> str:
        return self.parts.get("text") or html_to_text(self.parts.get("html") or "")

    @property
    def attachments(self) -> list[dict]:
        """Files to list and download (inline images shown in the body are left out)."""
        return [a for a in self.parts.get("attachments", []) if not (a.get("inline") and a.get("content_id"))]

    def attachment(self, part: str) -> dict:
        found = next((a for a in self.parts.get("attachments", []) if a["part"] == part), None)
        if found is None:
            raise NotFound("Không tìm thấy tệp đính kèm.", f"no attachment part {part!r} in item {self.item.id}")
        return found

    def payload(self, part: str) -> bytes:
        self.attachment(part)
        return mime.part_payload(self.raw, self.data.structure, part)
