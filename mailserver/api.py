"""The mail package's public API for the rest of the product (web app, CLI, scenarios,
grader). Changes go through the action dispatcher; reads through ``MailView``."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sandbox.kernel.actions import Dispatcher
from sandbox.kernel.blobs import BlobStore
from sandbox.kernel.db import Database
from sandbox.kernel.passwords import hash_password, password_tag

from . import models  # noqa: F401  (registers the tables)
from . import submission  # noqa: F401  (registers mail.submit)
from .accounts import AccountRef, account_by_address, account_ref, authenticate
from .addresses import normalize_address, parse_address_list
from .errors import MailError
from .events import MailEvents
from .store import FOLDER_LABELS_VI, FolderInfo, MailView, folder_label

__all__ = ["AccountRef", "MailError", "MailEvents", "MailView", "FolderInfo", "FOLDER_LABELS_VI", "folder_label",
           "account_ref", "account_by_address", "authenticate", "normalize_address", "parse_address_list", "add_account", "submit",
           "open_view", "send_in_action", "outside_world"]


def add_account(dispatcher: Dispatcher, secret: str, sandbox_id: int, address: str, password: str | None,
                display_name: str = "", actor: str = "system") -> int:
    """Create a mail account (with its default folders) in a sandbox; returns its id."""
    args = {"address": address, "display_name": display_name}
    if password:
        args |= {"password_hash": hash_password(password), "password_tag": password_tag(secret, password)}
    return dispatcher.dispatch(sandbox_id, actor, "mail.create_account", args)["account_id"]


def submit(dispatcher: Dispatcher, blobs: BlobStore, account: AccountRef, raw: bytes, rcpts: list[str], *, via: str,
           mail_from: str | None = None, sent_copy: bytes | None = None, client: str | None = None,
           replaces_draft: int | None = None) -> dict:
    """Send ``raw`` from ``account`` to ``rcpts`` (the one path for SMTP and webmail)."""
    args = {"account_id": account.id, "raw": blobs.put(raw), "rcpts": list(rcpts), "via": via,
            "mail_from": mail_from, "client": client, "replaces_draft": replaces_draft,
            "sent_copy": blobs.put(sent_copy) if sent_copy is not None else None}
    return dispatcher.dispatch(account.sandbox_id, account.address, "mail.submit", args)


@contextmanager
def open_view(db: Database, account: AccountRef) -> Iterator[MailView]:
    """A read session scoped to one account: ``with open_view(db, acc) as view: ...``.
    Objects read through it are usable inside the ``with`` block."""
    with db.read() as session:
        yield MailView(session, account.sandbox_id, account.id)


def send_in_action(ctx, from_address: str, raw: bytes, rcpts: list[str], *, via: str, sent_copy: bool = True) -> dict:
    """Send ``raw`` from the account ``from_address`` *inside* another package's action (an
    NPC clerk releasing a document, for instance): the same delivery, Sent copy and
    ``Submission`` evidence as ``mail.submit``, in the caller's transaction (a handler cannot
    dispatch). Raises ``MailError`` when the sender has no mailbox in the sandbox."""
    from .store import account_in_sandbox
    from .submission import submit as _submit

    account = account_in_sandbox(ctx.session, ctx.sandbox.id, normalize_address(from_address))
    if account is None:
        raise MailError(f"Không có hộp thư {from_address} trong hệ thống thư điện tử.",
                        f"no mail account {from_address} in sandbox {ctx.sandbox.id}")
    digest = ctx.blobs.put(raw)
    return _submit(ctx, account_id=account.id, raw=digest, rcpts=list(rcpts), via=via,
                   sent_copy=digest if sent_copy else None)


def outside_world(session, sandbox_id: int, addresses: list[str]) -> list[str]:
    """The addresses whose domain is not one of the sandbox's world (mail to them is refused)."""
    from .addresses import domain_of
    from .store import world_domains

    domains = world_domains(session, sandbox_id)
    return [a for a in addresses if domain_of(normalize_address(a)) not in domains]
