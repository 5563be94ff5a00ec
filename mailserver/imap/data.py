"""What the IMAP server reads from the store (synchronous; the server runs these in its
executor). Every function is scoped by sandbox and account; writes are actions."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock

from sqlalchemy import func, select

from sandbox.kernel.clock import as_utc

from ..accounts import AccountRef
from ..models import Mailbox, MailItem, MessageData


@dataclass
class Msg:
    """A message of the selected mailbox as the session knows it."""

    uid: int
    item_id: int
    data_id: int
    flags: frozenset
    internal_date: datetime
    size: int
    recent: bool = False
    seq: int = 0


@dataclass
class BoxInfo:
    id: int
    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int
    modseq: int
    subscribed: bool


@dataclass
class Snapshot:
    box: BoxInfo
    msgs: list[Msg] = field(default_factory=list)


def _info(box: Mailbox) -> BoxInfo:
    return BoxInfo(box.id, box.name, box.special_use, box.uidvalidity, box.uidnext, box.modseq, box.subscribed)


def mailboxes(db, account: AccountRef) -> list[BoxInfo]:
    with db.read() as s:
        rows = s.scalars(select(Mailbox).where(Mailbox.sandbox_id == account.sandbox_id,
                                               Mailbox.account_id == account.id).order_by(Mailbox.name))
        return [_info(b) for b in rows]


def find_mailbox(db, account: AccountRef, name: str) -> BoxInfo | None:
    with db.read() as s:
        box = s.scalar(select(Mailbox).where(Mailbox.sandbox_id == account.sandbox_id,
                                             Mailbox.account_id == account.id, Mailbox.name == name))
        return _info(box) if box else None


def modseqs(db, mailbox_ids: list[int]) -> dict[int, int]:
    """Change counters of many mailboxes in one query (the cross-process IDLE poller)."""
    if not mailbox_ids:
        return {}
    with db.read() as s:
        return dict(s.execute(select(Mailbox.id, Mailbox.modseq).where(Mailbox.id.in_(mailbox_ids))).all())


def snapshot(db, account: AccountRef, mailbox_id: int) -> Snapshot | None:
    with db.read() as s:
        box = s.get(Mailbox, mailbox_id)
        if box is None or box.sandbox_id != account.sandbox_id or box.account_id != account.id:
            return None
        rows = s.execute(
            select(MailItem.uid, MailItem.id, MailItem.data_id, MailItem.flags, MailItem.internal_date, MessageData.vsize)
            .join(MessageData, MessageData.id == MailItem.data_id)
            .where(MailItem.sandbox_id == account.sandbox_id, MailItem.mailbox_id == mailbox_id)
            .order_by(MailItem.uid)
        ).all()
        msgs = [_msg(*r) for r in rows]
        return Snapshot(_info(box), msgs)


UNCHANGED = "unchanged"


def changes(db, account: AccountRef, mailbox_id: int, since: int, known_max_uid: int, known_count: int):
    """What changed in a mailbox since a change counter, in one read: ``UNCHANGED``; None if
    the mailbox is gone; else (box info, messages added or with new flags since then, the
    UIDs present when some of the ``known_count`` messages up to ``known_max_uid`` are gone,
    else None). Cheap whatever the mailbox's size: an idle session's refresh."""
    with db.read() as s:
        box = s.get(Mailbox, mailbox_id)
        if box is None or box.sandbox_id != account.sandbox_id or box.account_id != account.id:
            return None
        if box.modseq == since:
            return UNCHANGED
        rows = s.execute(
            select(MailItem.uid, MailItem.id, MailItem.data_id, MailItem.flags, MailItem.internal_date, MessageData.vsize)
            .join(MessageData, MessageData.id == MailItem.data_id)
            .where(MailItem.mailbox_id == mailbox_id, MailItem.modseq > since).order_by(MailItem.uid)).all()
        remaining = s.scalar(select(func.count()).select_from(MailItem).where(
            MailItem.mailbox_id == mailbox_id, MailItem.uid <= known_max_uid))
        present = None
        if remaining != known_count:  # something was expunged (or is still pending here)
            present = set(s.scalars(select(MailItem.uid).where(MailItem.mailbox_id == mailbox_id)))
        return _info(box), [_msg(*r) for r in rows], present


def _msg(uid, item_id, data_id, flags, when, size) -> Msg:
    return Msg(uid, item_id, data_id, frozenset(flags.split()) if flags else frozenset(), as_utc(when), size)


class DataCache:
    """Message content by data id. Message data never changes once stored, so a small LRU
    per process is always right: (blob hash, structure)."""

    def __init__(self, size: int = 8192):
        self._lock = Lock()
        self._items: OrderedDict[int, tuple[str, dict]] = OrderedDict()
        self.size = size

    def peek_many(self, data_ids) -> dict[int, tuple[str, dict]] | None:
        """All of them from memory, or None (then ``get_many`` in the executor)."""
        out = {}
        with self._lock:
            for d in data_ids:
                hit = self._items.get(d)
                if hit is None:
                    return None
                out[d] = hit
        return out

    def get_many(self, db, sandbox_id: int, data_ids: list[int]) -> dict[int, tuple[str, dict]]:
        out, missing = {}, []
        with self._lock:
            for d in data_ids:
                hit = self._items.get(d)
                if hit is None:
                    missing.append(d)
                else:
                    self._items.move_to_end(d)
                    out[d] = hit
        if missing:
            with db.read() as s:
                for chunk in range(0, len(missing), 500):
                    ids = missing[chunk:chunk + 500]
                    for did, blob, structure in s.execute(
                            select(MessageData.id, MessageData.blob, MessageData.structure)
                            .where(MessageData.sandbox_id == sandbox_id, MessageData.id.in_(ids))):
                        out[did] = (blob, structure)
            with self._lock:
                for d in missing:
                    if d in out:
                        self._items[d] = out[d]
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return out
