"""The action dispatcher and its hash-chained log (DESIGN.md §3).

Every state change, from every door (web form, SMTP, IMAP, CLI, NPC), is a named action:

    @action("mail.submit")
    def submit(ctx: ActionContext, *, raw: str, rcpt_tos: list[str]) -> dict: ...

``Dispatcher.dispatch`` runs the handler in one write transaction with the sandbox row
locked, then appends a log entry: sequence number, in-world time, actor, action name,
arguments (JSON; files by blob hash), a digest of the result and a SHA-256 chained to the
previous entry. If the handler raises, nothing is applied and nothing is logged.

Arguments must be JSON values; anything large (a raw message, an upload) is put in the blob
store first and passed by its hash, so the log alone can replay the sandbox.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .blobs import BlobStore
from .clock import Clock, as_utc
from .db import Database
from .errors import Forbidden, NotFound, SandboxError
from .models import Action, Sandbox

GENESIS = "0" * 64

Handler = Callable[..., dict | None]
ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    """Register a handler under an action name (one registry for all packages)."""

    def register(fn: Handler) -> Handler:
        if name in ACTIONS and ACTIONS[name] is not fn:
            raise RuntimeError(f"action {name!r} registered twice")
        ACTIONS[name] = fn
        return fn

    return register


@dataclass
class ActionContext:
    """What a handler gets: the open write session, the locked sandbox, who acts, when."""

    session: Session
    sandbox: Sandbox
    actor: str
    now: datetime
    blobs: BlobStore
    services: dict[str, Any]
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction has committed (wake IMAP IDLE, etc.)."""
        self._after_commit.append(fn)


#: actors that may still act on a closed sandbox: building and examiners (never candidates)
CLOSED_SANDBOX_ACTORS = ("system", "giamkhao")


def _may_act_when_closed(actor: str) -> bool:
    return actor.split(":", 1)[0] in CLOSED_SANDBOX_ACTORS


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, name: str, args: dict, result_digest: str,
               door: str | None = None) -> str:
    entry = {"prev": prev_hash, "seq": seq, "at": as_utc(at).isoformat(), "actor": actor,
             "name": name, "args": args, "result": result_digest}
    if door:  # the door is covered by the chain too (entries without one hash as before)
        entry["door"] = door
    return digest(entry)


#: the door an action comes through ("web", "smtp", "imap", "cli"), set by each entry point
#: for the request, session or command it serves; recorded with every action
DOOR: contextvars.ContextVar[str] = contextvars.ContextVar("sandbox_door", default="")


class Dispatcher:
    """Applies actions to sandboxes and records them."""

    def __init__(self, db: Database, clock: Clock, blobs: BlobStore, services: dict[str, Any] | None = None):
        self.db = db
        self.clock = clock
        self.blobs = blobs
        self.services = services if services is not None else {}

    def dispatch(self, sandbox_id: int, actor: str, name: str, args: dict | None = None) -> dict:
        handler = ACTIONS.get(name)
        if handler is None:
            raise SandboxError("Thao tác không được hỗ trợ.", f"unknown action {name!r}")
        args = json.loads(canonical(args or {}))  # what is logged is exactly what ran
        with self.db.write() as session:
            sandbox = session.execute(
                select(Sandbox).where(Sandbox.id == sandbox_id).with_for_update()
            ).scalar_one_or_none()
            if sandbox is None:
                raise NotFound("Không tìm thấy sandbox.", f"sandbox {sandbox_id} does not exist")
            now = as_utc(self.clock.now())
            if sandbox.closes_at is not None and now >= as_utc(sandbox.closes_at) and not _may_act_when_closed(actor):
                raise Forbidden("Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa.",
                                f"sandbox {sandbox_id} closed at {sandbox.closes_at}; {actor} {name}")
            ctx = ActionContext(session, sandbox, actor, now, self.blobs, self.services)
            # Stored as JSON: digest what a reader will get back (tuples become lists, keys strings).
            result = json.loads(canonical(handler(ctx, **args) or {}))
            seq = sandbox.log_seq + 1
            result_digest = digest(result)
            door = DOOR.get() or None
            h = entry_hash(sandbox.log_head, seq, now, actor, name, args, result_digest, door)
            session.add(Action(sandbox_id=sandbox.id, seq=seq, at=now, actor=actor, name=name, args=args,
                               result_digest=result_digest, prev_hash=sandbox.log_head, hash=h, result=result,
                               door=door))
            sandbox.log_seq = seq
            sandbox.log_head = h
        self.db.after_commit(ctx._after_commit)  # at once, or when a batch() commits
        return result


def verify_chain(session: Session, sandbox_id: int) -> tuple[bool, int | None]:
    """Check a sandbox's log: each entry's hash, the links between them and the head kept
    on the sandbox row. Returns (ok, first bad sequence number or None)."""
    sandbox = session.get(Sandbox, sandbox_id)
    prev = GENESIS
    expected_seq = 1
    for entry in session.scalars(select(Action).where(Action.sandbox_id == sandbox_id).order_by(Action.seq)):
        if entry.seq != expected_seq or entry.prev_hash != prev:
            return False, entry.seq
        if entry.result is not None and digest(entry.result) != entry.result_digest:
            return False, entry.seq
        if entry_hash(prev, entry.seq, entry.at, entry.actor, entry.name, entry.args, entry.result_digest,
                      entry.door) != entry.hash:
            return False, entry.seq
        prev = entry.hash
        expected_seq += 1
    if sandbox is not None and (sandbox.log_head != prev or sandbox.log_seq != expected_seq - 1):
        return False, expected_seq
    return True, None
