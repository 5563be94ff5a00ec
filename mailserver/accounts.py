"""Logins for every mail door (webmail, SMTP AUTH, IMAP LOGIN).

A login name is either ``address`` or ``sandbox/address``. The same address exists in many
sandboxes (every candidate gets the same world) with a different password in each, so a
bare address is resolved by its password: a 16-bit keyed tag of the password narrows the
accounts to check to about one, and the Argon2 hash decides.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.kernel.models import Sandbox
from sandbox.kernel.passwords import password_tag, verify_password

from .models import MailAccount


@dataclass(frozen=True)
class AccountRef:
    """A logged-in mail account, detached from any database session."""

    id: int
    sandbox_id: int
    sandbox_name: str
    address: str
    display_name: str


def authenticate(session: Session, secret: str, login: str, password: str) -> AccountRef | None:
    login = unicodedata.normalize("NFC", (login or "").strip())
    if not login or not password or len(login) > 420 or len(password) > 1024:
        return None
    q = (select(MailAccount, Sandbox.name).join(Sandbox, Sandbox.id == MailAccount.sandbox_id)
         .where(Sandbox.archived_at.is_(None)))
    if "/" in login:
        sandbox_name, address = login.split("/", 1)
        q = q.where(Sandbox.name == sandbox_name, MailAccount.address == address.lower())
    else:
        q = q.where(MailAccount.address == login.lower(), MailAccount.password_tag == password_tag(secret, password))
    matches = [
        AccountRef(acc.id, acc.sandbox_id, sb_name, acc.address, acc.display_name)
        for acc, sb_name in session.execute(q.limit(20)).all()
        if acc.password_hash and verify_password(acc.password_hash, password)
    ]
    # Two sandboxes with the same address and the same password: refuse rather than guess.
    return matches[0] if len(matches) == 1 else None


def account_ref(session: Session, account_id: int) -> AccountRef | None:
    row = session.execute(select(MailAccount, Sandbox.name).join(Sandbox, Sandbox.id == MailAccount.sandbox_id)
                          .where(MailAccount.id == account_id)).first()
    if row is None:
        return None
    acc, name = row
    return AccountRef(acc.id, acc.sandbox_id, name, acc.address, acc.display_name)


def account_by_address(session: Session, sandbox_id: int, address: str) -> AccountRef | None:
    """The account of ``address`` in one sandbox (scenario building, the grader)."""
    acc_id = session.scalar(select(MailAccount.id).where(MailAccount.sandbox_id == sandbox_id,
                                                         MailAccount.address == address.strip().lower()))
    return account_ref(session, acc_id) if acc_id is not None else None
