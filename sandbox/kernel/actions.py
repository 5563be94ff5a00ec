"""The action dispatcher and its hash-chained log (DESIGN.md §3).

Every state change, from every door (web form, SMTP, IMAP, CLI, NPC), is a named action:

    @action("mail.submit", ids={"account_id": "account", "replaces_draft": "item"},
            result_ids={"sent_item_id": "item", "submission_id": "submission"})
    def submit(ctx: ActionContext, *, account_id: int, raw: str, rcpts: list[str], ...) -> dict: ...

``Dispatcher.dispatch`` runs the handler in one write transaction with the sandbox row
locked, then appends a log entry: sequence number, in-world time, actor, action name,
arguments (JSON; files by blob hash), a digest of the result, a digest of the sandbox's
state after the action (see "State digest" below) and a SHA-256 chained to the previous
entry. If the handler raises, nothing is applied and nothing is logged.

Arguments must be JSON values; anything large (a raw message, an upload) is put in the blob
store first and passed by its hash, so the log alone can replay the sandbox.

Ids. Every action declares which of its arguments (``ids``) and which parts of its result
(``result_ids``) are database ids, and of which kind ("item", "incoming", …): a replay into
another sandbox translates exactly those, nothing by name. A declaration maps a *path* to a
kind:

* ``"token_id"``: the argument (or result key) itself;
* ``"item_ids[]"``: every element of a list; ``"mapping[][2]"``: element 2 of every row;
* ``"assignments[].unit_id"``: a key of every dict of a list;
* ``"anchors.orgs.*"``: every value of a dict (keys are names);
* ``"flags{}"``: the keys of a dict are ids (its values are left alone; last step only).

The kind is a string, or :class:`KindBy` when a sibling field names it
(``KindBy("doc_kind", {"in": "incoming", "out": "outgoing"})``). Registration refuses an
action without both declarations (``ids={}`` when there is none), a path whose argument the
handler does not take, and a keyword parameter that looks like an id (its name ends with
``_id``/``_ids`` or it is typed ``int``) that is neither declared nor listed in ``not_ids``
(plain numbers: ``number``, ``max_tries``, ``uids``…). Each package names the table of each
kind it owns (:func:`id_kinds`); the dispatcher records, in every log entry, the ids of the
rows of those tables the action created (``Action.created``), so a replay pairs old and new
ids even for rows an action does not return.

State digest. Each package registers a contributor (:func:`state_contributor`): a function
``(session, sandbox_id) -> {section: JSON value}``, a canonical summary of what its public
read API shows, free of database ids and of bytes that differ between runs. The dispatcher
records a short digest of every section after each action (``Action.state_parts``) and one
digest over them (``Action.state_digest``, covered by the chain), so a replay can name the
first step after which the world differs, and which part of it. The kernel imports no package:
they register themselves when imported.

Reactions. A package above may register a function to run right after the handler of an
action (:func:`on_action`), in the same transaction and before the entry is logged: an NPC
answering the candidate's mail. What it changes belongs to that action's entry (its state
digest, its created rows), so a replay, which re-applies the action, runs it again; what it
returns is merged into the action's result. If it raises, nothing of the action is applied.
"""
from __future__ import annotations

import contextvars
import hashlib
import inspect
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sandbox.kernel.blobs import BlobStore
from sandbox.kernel.clock import Clock, as_utc
from sandbox.kernel.db import Database
from sandbox.kernel.errors import Forbidden, NotFound, SandboxError
from sandbox.kernel.models import Action, Sandbox

GENESIS = "0" * 64

Handler = Callable[..., dict | None]
#: action name → handler (one registry for all packages)
ACTIONS: dict[str, Handler] = {}
#: action name → its declarations (ids of arguments and result)
SPECS: dict[str, "ActionSpec"] = {}


class ActionDeclarationError(RuntimeError):
    """An action registered without (or with a wrong) declaration of its ids."""


# --- id declarations ----------------------------------------------------------------------
_KIND_RE = re.compile(r"^[a-z][a-z_]*$")
_ROOT_RE = re.compile(r"[A-Za-z_]\w*")
_STEP_RE = re.compile(r"\.(\w+)|\.(\*)|\[(\d*)\]|(\{\})")


@dataclass(frozen=True)
class KindBy:
    """An id whose kind a sibling field names: ``KindBy("kind", {"unit": "unit", "org": "org"})``
    on ``recipients[].id``. ``default``: the kind when the field is missing or None."""

    field: str
    kinds: Mapping[str, str]
    default: str | None = None

    def kind_for(self, container: Any) -> str | None:
        value = container.get(self.field) if isinstance(container, dict) else None
        if value is None:
            return self.default
        return self.kinds.get(value)

    def all_kinds(self) -> set[str]:
        return set(self.kinds.values()) | ({self.default} if self.default else set())


IdKind = str | KindBy


@dataclass(frozen=True)
class IdPath:
    """A declared place of ids in an action's arguments or result (see the module docstring)."""

    text: str
    steps: tuple[tuple[str, Any], ...]  # ("key", k) | ("each", None) | ("index", n) | ("values", None) | ("keys", None)
    kind: IdKind

    @property
    def root(self) -> str:
        return self.steps[0][1]

    def kinds(self) -> set[str]:
        return self.kind.all_kinds() if isinstance(self.kind, KindBy) else {self.kind}


def parse_id_path(text: str, kind: IdKind, *, where: str = "") -> IdPath:
    """Compile a declaration; raises :class:`ActionDeclarationError` on a malformed one."""
    def bad(why: str) -> ActionDeclarationError:
        return ActionDeclarationError(f"{where}id path {text!r}: {why}")

    m = _ROOT_RE.match(text or "")
    if m is None:
        raise bad("must start with an argument or result key")
    steps: list[tuple[str, Any]] = [("key", m.group(0))]
    pos = m.end()
    while pos < len(text):
        s = _STEP_RE.match(text, pos)
        if s is None:
            raise bad(f"cannot read {text[pos:]!r} (use .key, [], [N], .* or {{}})")
        if steps[-1][0] == "keys":
            raise bad("{} (ids as dict keys) must be the last step")
        key, star, index, keys = s.groups()
        if key is not None:
            steps.append(("key", key))
        elif star is not None:
            steps.append(("values", None))
        elif keys is not None:
            steps.append(("keys", None))
        elif index == "":
            steps.append(("each", None))
        else:
            steps.append(("index", int(index)))
        pos = s.end()
    if isinstance(kind, KindBy):
        if steps[-1][0] != "key":
            raise bad("a kind named by a sibling field needs a key as the last step")
        kinds = kind.all_kinds()
    elif isinstance(kind, str):
        kinds = {kind}
    else:
        raise bad(f"kind must be a string or KindBy, not {type(kind).__name__}")
    for k in kinds:
        if not isinstance(k, str) or not _KIND_RE.match(k):
            raise bad(f"bad kind {k!r} (lower-case words: 'item', 'incoming')")
    return IdPath(text, tuple(steps), kind)


#: id kind → the table whose primary key it is (registered by the packages: ``id_kinds``)
ID_KINDS: dict[str, str] = {}
_KIND_OF_TABLE: dict[str, str] = {}


def id_kinds(kinds: Mapping[str, str]) -> None:
    """Name the id kinds of a package's tables: ``id_kinds({"item": "mail_items", ...})``. The
    dispatcher records the ids of the rows of these tables each action creates (in the log
    entry's ``created``), which is how a replay pairs old ids with new ones even for rows an
    action does not return (the automatic clerk's deliveries, a message moved to Trash)."""
    for kind, table in kinds.items():
        if not _KIND_RE.match(kind):
            raise ActionDeclarationError(f"bad id kind {kind!r}")
        if ID_KINDS.get(kind, table) != table or _KIND_OF_TABLE.get(table, kind) != kind:
            raise ActionDeclarationError(f"id kind {kind!r} / table {table!r} registered differently before")
        ID_KINDS[kind] = table
        _KIND_OF_TABLE[table] = kind


class IdShapeError(SandboxError):
    """A value at a declared id path is not an id (the declaration or the data is wrong)."""


def _leaf_kind(path: IdPath, container: Any) -> str | None:
    return path.kind.kind_for(container) if isinstance(path.kind, KindBy) else path.kind


def _as_id(value: Any, path: IdPath) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise IdShapeError("Dữ liệu nhật ký không đúng khai báo mã.", f"{path.text}: {value!r} is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise IdShapeError("Dữ liệu nhật ký không đúng khai báo mã.", f"{path.text}: {value!r} is not an id")


def _rewrite(node: Any, steps, path: IdPath, container: Any, fn) -> Any:
    if not steps:
        kind = _leaf_kind(path, container)
        old = _as_id(node, path)
        if kind is None or old is None:
            if kind is None and old is not None and isinstance(path.kind, KindBy):
                raise IdShapeError("Dữ liệu nhật ký không đúng khai báo mã.",
                                   f"{path.text}: no kind for {path.kind.field}={container.get(path.kind.field)!r}")
            return node
        new = fn(kind, old, path)
        return str(new) if isinstance(node, str) else new
    (op, arg), rest = steps[0], steps[1:]
    if node is None:
        return None
    if op == "key":
        if not isinstance(node, dict) or arg not in node:
            return node
        return {**node, arg: _rewrite(node[arg], rest, path, node, fn)}
    if op == "each":
        if not isinstance(node, list):
            return node
        return [_rewrite(v, rest, path, None, fn) for v in node]
    if op == "index":
        if not isinstance(node, list) or len(node) <= arg:
            return node
        return [_rewrite(v, rest, path, None, fn) if i == arg else v for i, v in enumerate(node)]
    if op == "values":
        if not isinstance(node, dict):
            return node
        return {k: _rewrite(v, rest, path, node, fn) for k, v in node.items()}
    if op == "keys":
        if not isinstance(node, dict):
            return node
        return {str(fn(path.kind, _as_id(k, path), path)): v for k, v in node.items()}
    raise AssertionError(op)  # pragma: no cover


def map_ids(value: dict, paths: tuple[IdPath, ...], fn: Callable[[str, int, IdPath], int]) -> dict:
    """A copy of ``value`` (arguments or a result) with every id at a declared path replaced
    by ``fn(kind, id, path)``; everything else is left as it is."""
    for p in paths:
        value = _rewrite(value, p.steps, p, value, fn)
    return value


def _pairs(old: Any, new: Any, steps, path: IdPath, container: Any, out: list) -> None:
    if not steps:
        kind = _leaf_kind(path, container)
        try:
            a, b = _as_id(old, path), _as_id(new, path)
        except IdShapeError:
            return
        if kind is not None and a is not None and b is not None:
            out.append((kind, a, b))
        return
    (op, arg), rest = steps[0], steps[1:]
    if op == "key":
        if isinstance(old, dict) and isinstance(new, dict) and arg in old and arg in new:
            _pairs(old[arg], new[arg], rest, path, old, out)
    elif op == "each":
        if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            for a, b in zip(old, new):
                _pairs(a, b, rest, path, None, out)
    elif op == "index":
        if isinstance(old, list) and isinstance(new, list) and len(old) > arg and len(new) > arg:
            _pairs(old[arg], new[arg], rest, path, None, out)
    elif op == "values":
        if isinstance(old, dict) and isinstance(new, dict) and list(old) == list(new):
            for k in old:
                _pairs(old[k], new[k], rest, path, old, out)
    # "keys": ids used as keys are never learnt from (their order says nothing); only mapped


def paired_ids(old: dict, new: dict, paths: tuple[IdPath, ...]) -> list[tuple[str, int, int]]:
    """(kind, id in ``old``, id in ``new``) at each declared path where both have one: what a
    recorded result and its replayed twin say about which row became which."""
    out: list = []
    for p in paths:
        _pairs(old, new, p.steps, p, old, out)
    return out


def _locations(node: Any, steps, here: tuple, out: set) -> None:
    if not steps:
        out.add(here)
        return
    (op, arg), rest = steps[0], steps[1:]
    if op == "key" and isinstance(node, dict) and arg in node:
        _locations(node[arg], rest, here + (arg,), out)
    elif op == "each" and isinstance(node, list):
        for i, v in enumerate(node):
            _locations(v, rest, here + (i,), out)
    elif op == "index" and isinstance(node, list) and len(node) > arg:
        _locations(node[arg], rest, here + (arg,), out)
    elif op == "values" and isinstance(node, dict):
        for k, v in node.items():
            _locations(v, rest, here + (k,), out)
    elif op == "keys" and isinstance(node, dict):
        out.add(here + ("{}",))


def _id_like_leaves(node: Any, here: tuple, key: str | None, out: list) -> None:
    looks = key is not None and (key == "id" or key.endswith("_id") or key.endswith("_ids"))
    if isinstance(node, dict):
        for k, v in node.items():
            _id_like_leaves(v, here + (k,), k, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _id_like_leaves(v, here + (i,), key if looks else None, out)
    elif looks and isinstance(node, int) and not isinstance(node, bool):
        out.append(here)


def undeclared_ids(name: str, args: dict, result: dict | None) -> list[str]:
    """Places in a logged entry that hold an int under an id-like key (``id``, ``…_id``,
    ``…_ids``) and that the action's declarations do not cover: a declaration gap that would
    make a replay fail (tests run it over whole sessions)."""
    spec = SPECS[name]
    gaps = []
    for value, paths, plain in ((args, spec.ids, spec.not_ids), (result or {}, spec.result_ids, frozenset())):
        covered: set = set()
        for p in paths:
            _locations(value, p.steps, (), covered)
        leaves: list = []
        _id_like_leaves(value, (), None, leaves)
        for loc in leaves:
            if loc not in covered and loc[0] not in plain:
                gaps.append(".".join(str(x) for x in loc))
    return gaps


@dataclass(frozen=True)
class ActionSpec:
    name: str
    handler: Handler
    ids: tuple[IdPath, ...]
    result_ids: tuple[IdPath, ...]
    not_ids: frozenset[str]

    def kinds_used(self) -> set[str]:
        return {k for p in self.ids for k in p.kinds()}

    def kinds_made(self) -> set[str]:
        return {k for p in self.result_ids for k in p.kinds()}


_UNSET: Any = object()
_INT_RE = re.compile(r"\bint\b")


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) if isinstance(annotation, type) else repr(annotation)


def _looks_like_id(p: inspect.Parameter) -> bool:
    return p.name.endswith("_id") or p.name.endswith("_ids") or bool(_INT_RE.search(_annotation_text(p.annotation)))


def _check_declarations(name: str, fn: Handler, ids: tuple[IdPath, ...], not_ids: frozenset[str]) -> None:
    where = f"action {name!r}: "
    params = list(inspect.signature(fn).parameters.values())[1:]  # after ctx
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    open_ended = any(p.kind == p.VAR_KEYWORD for p in params)
    roots = {p.root for p in ids}
    for root in sorted(roots):
        if root not in named and not open_ended:
            raise ActionDeclarationError(f"{where}declares ids in {root!r}, which the handler does not take")
    for n in sorted(not_ids):
        if n not in named:
            raise ActionDeclarationError(f"{where}not_ids names {n!r}, which the handler does not take")
        if n in roots:
            raise ActionDeclarationError(f"{where}{n!r} is declared both an id and not an id")
    for p in named.values():
        if _looks_like_id(p) and p.name not in roots and p.name not in not_ids:
            raise ActionDeclarationError(
                f"{where}parameter {p.name!r} looks like an id but has no declaration: add it to ids= "
                f"with its kind, or to not_ids= if it is a plain number")


def action(name: str, *, ids: Mapping[str, IdKind] = _UNSET, result_ids: Mapping[str, IdKind] = _UNSET,
           not_ids: tuple[str, ...] | list[str] = ()) -> Callable[[Handler], Handler]:
    """Register a handler under an action name (one registry for all packages), with the ids
    of its arguments and of its result (both required; ``{}`` when there is none)."""
    if ids is _UNSET or result_ids is _UNSET:
        missing = " and ".join(w for w, v in (("ids=", ids), ("result_ids=", result_ids)) if v is _UNSET)
        raise ActionDeclarationError(f"action {name!r}: declare {missing} (an empty {{}} when there is none)")
    where = f"action {name!r}: "
    arg_paths = tuple(parse_id_path(t, k, where=where) for t, k in ids.items())
    res_paths = tuple(parse_id_path(t, k, where=where) for t, k in result_ids.items())
    plain = frozenset(not_ids)

    def register(fn: Handler) -> Handler:
        if name in ACTIONS and ACTIONS[name] is not fn:
            raise RuntimeError(f"action {name!r} registered twice")
        _check_declarations(name, fn, arg_paths, plain)
        ACTIONS[name] = fn
        SPECS[name] = ActionSpec(name, fn, arg_paths, res_paths, plain)
        return fn

    return register


# --- state digest -------------------------------------------------------------------------
StateFn = Callable[[Session, int], Mapping[str, Any]]


@dataclass(frozen=True)
class StateContributor:
    name: str
    fn: StateFn
    label: str
    sections: Mapping[str, str]
    #: the tables it reads (None: unknown, computed after every action)
    tables: frozenset[str] | None = None

    def describe(self, section: str) -> str:
        return f"{self.label} › {self.sections.get(section, section)}"


#: part name → contributor (registered by the packages, never imported by the kernel)
STATE_CONTRIBUTORS: dict[str, StateContributor] = {}
#: hex digits kept per section (64 bits: enough to see that a part changed)
PART_DIGITS = 16


def state_contributor(name: str, *, label: str, sections: Mapping[str, str] | None = None,
                      tables: tuple[str, ...] | None = None):
    """Register ``fn(session, sandbox_id) -> {section: JSON value}``: a canonical summary of a
    package's state in a sandbox, without database ids or bytes that differ between runs
    (order rows by creation, name them by what people see). ``label`` and ``sections`` are
    the Vietnamese names a replay uses to say what differs."""
    if not _KIND_RE.match(name):
        raise ActionDeclarationError(f"bad state contributor name {name!r}")

    def register(fn: StateFn) -> StateFn:
        known = STATE_CONTRIBUTORS.get(name)
        if known is not None and known.fn is not fn and known.fn.__qualname__ != fn.__qualname__:
            raise RuntimeError(f"state contributor {name!r} registered twice")
        STATE_CONTRIBUTORS[name] = StateContributor(name, fn, label, dict(sections or {}),
                                                    frozenset(tables) if tables is not None else None)
        return fn

    return register


def state_parts(session: Session, sandbox_id: int, *, written: set[str] | None = None,
                previous: Callable[[], dict | None] | None = None) -> dict[str, str] | None:
    """``{"<contributor>/<section>": short digest}`` of a sandbox's state now (None when no
    package contributes).

    With ``written`` (the tables the action wrote) and ``previous`` (the previous entry's
    parts, fetched only when needed), a contributor whose declared tables were not written
    keeps its previous digests instead of being computed again: most actions touch one
    package."""
    if not STATE_CONTRIBUTORS:
        return None
    parts: dict[str, str] = {}
    before: dict | None = None
    fetched = False
    for name in sorted(STATE_CONTRIBUTORS):
        c = STATE_CONTRIBUTORS[name]
        if written is not None and previous is not None and c.tables is not None and not (c.tables & written) \
                and ANY_TABLE not in written:
            if not fetched:
                before, fetched = previous(), True
            kept = {k: v for k, v in (before or {}).items() if k.startswith(name + "/")}
            if kept:
                parts.update(kept)
                continue
        for section, value in c.fn(session, sandbox_id).items():
            parts[f"{name}/{section}"] = digest(value)[:PART_DIGITS]
    return parts


#: in a set of written tables: a write whose table is not known (every part is computed)
ANY_TABLE = "*"


class _Writes:
    """What one action writes through its session: the tables of the objects it flushes
    (new, changed, deleted) and of the INSERT/UPDATE/DELETE statements it executes, and the
    ids of the rows it creates, by id kind (:data:`ID_KINDS`)."""

    def __init__(self, session: Session):
        self.session = session
        self.tables: set[str] = set()
        self.created: dict[str, list[int]] = {}


_WRITES: contextvars.ContextVar[_Writes | None] = contextvars.ContextVar("sandbox_writes", default=None)
_LISTENING = False


def _on_flush(session, _flush_context) -> None:
    # after the flush the new rows have their ids; the session's lists still show what it wrote
    w = _WRITES.get()
    if w is None or w.session is not session:
        return
    for obj in session.new:
        table = getattr(type(obj), "__table__", None)
        kind = _KIND_OF_TABLE.get(table.name) if table is not None else None
        if kind is not None:
            w.created.setdefault(kind, []).append(getattr(obj, "id"))
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__table__", None)
        w.tables.add(table.name if table is not None else ANY_TABLE)


def _on_execute(state) -> None:
    w = _WRITES.get()
    if w is None or w.session is not state.session or not (state.is_insert or state.is_update or state.is_delete):
        return
    w.tables.add(getattr(getattr(state.statement, "table", None), "name", None) or ANY_TABLE)


def _track_writes(session: Session) -> _Writes:
    global _LISTENING
    if not _LISTENING:
        from sqlalchemy import event

        event.listen(Session, "after_flush", _on_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        _LISTENING = True
    w = _Writes(session)
    _WRITES.set(w)
    return w


def state_summary(session: Session, sandbox_id: int) -> dict[str, Any]:
    """The contributors' full summaries (what the digests are made of), for debugging."""
    return {name: dict(c.fn(session, sandbox_id)) for name, c in sorted(STATE_CONTRIBUTORS.items())}


def describe_part(part: str) -> str:
    """Vietnamese name of a state part ("văn bản › văn bản đến")."""
    name, _, section = part.partition("/")
    c = STATE_CONTRIBUTORS.get(name)
    return c.describe(section) if c else part


# --- reactions ----------------------------------------------------------------------------
Reaction = Callable[["ActionContext", str, dict, dict], Mapping[str, Any] | None]
#: action name → reactions run after its handler (registered by higher packages, never imported here)
REACTIONS: dict[str, list[Reaction]] = {}


def on_action(name: str) -> Callable[[Reaction], Reaction]:
    """Register ``fn(ctx, name, args, result) -> dict | None`` to run after the handler of
    action ``name``, inside its transaction (see "Reactions" above). ``args`` and ``result``
    are the action's (JSON, read-only); the dict returned is merged into the result."""
    def register(fn: Reaction) -> Reaction:
        fns = REACTIONS.setdefault(name, [])
        if fn not in fns:
            fns.append(fn)
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
               door: str | None = None, state_digest: str | None = None, created: dict | None = None) -> str:
    entry = {"prev": prev_hash, "seq": seq, "at": as_utc(at).isoformat(), "actor": actor,
             "name": name, "args": args, "result": result_digest}
    if door:  # the door is covered by the chain too (entries without one hash as before)
        entry["door"] = door
    if state_digest:  # so are the state digest and the rows created (older entries hash as before)
        entry["state"] = state_digest
    if created:
        entry["created"] = created
    return digest(entry)


#: the door an action comes through ("web", "smtp", "imap", "cli"), set by each entry point
#: for the request, session or command it serves; recorded with every action
DOOR: contextvars.ContextVar[str] = contextvars.ContextVar("sandbox_door", default="")


_A = Action.__table__
_PREVIOUS_PARTS = select(_A.c.state_parts).where(_A.c.sandbox_id == bindparam("sid"), _A.c.seq == bindparam("seq"))


@dataclass(frozen=True)
class Applied:
    """What one dispatched action left: its result and its log entry's state digest."""

    result: dict
    seq: int
    state_digest: str | None
    state_parts: dict[str, str] | None
    #: ids of the rows it created, by kind (``{"item": [41, 42]}``), or None
    created: dict[str, list[int]] | None = None


class Dispatcher:
    """Applies actions to sandboxes and records them."""

    def __init__(self, db: Database, clock: Clock, blobs: BlobStore, services: dict[str, Any] | None = None):
        self.db = db
        self.clock = clock
        self.blobs = blobs
        self.services = services if services is not None else {}

    def dispatch(self, sandbox_id: int, actor: str, name: str, args: dict | None = None) -> dict:
        return self.apply(sandbox_id, actor, name, args).result

    def apply(self, sandbox_id: int, actor: str, name: str, args: dict | None = None, *,
              queued_at: datetime | None = None,
              in_transaction: Callable[[Session, dict], None] | None = None) -> Applied:
        """``dispatch`` with what was logged: the result and the state digest after it.

        For the job queue (:mod:`sandbox.kernel.jobs`): ``queued_at``, the time the job doing
        this action was queued: an action of a job queued before the sandbox's closing time
        is not refused after it (the exam's end does not stop a release the candidate asked
        for in time); ``in_transaction(session, result)`` runs in the action's transaction
        just before the entry is written (the job is marked done there); if it raises,
        nothing of the action is applied."""
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
            if sandbox.closes_at is not None and now >= as_utc(sandbox.closes_at) and not _may_act_when_closed(actor) \
                    and not (queued_at is not None and as_utc(queued_at) < as_utc(sandbox.closes_at)):
                raise Forbidden("Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa.",
                                f"sandbox {sandbox_id} closed at {sandbox.closes_at}; {actor} {name}")
            ctx = ActionContext(session, sandbox, actor, now, self.blobs, self.services)
            writes = _track_writes(session)
            try:
                # Stored as JSON: digest what a reader will get back (tuples become lists, keys strings).
                result = json.loads(canonical(handler(ctx, **args) or {}))
                for react in REACTIONS.get(name, ()):
                    extra = react(ctx, name, args, result)
                    if extra:
                        result = json.loads(canonical({**result, **extra}))
                session.flush()
            finally:
                _WRITES.set(None)
            prev_seq = sandbox.log_seq
            # the world after the action, in the same transaction
            parts = state_parts(session, sandbox.id, written=writes.tables, previous=lambda: session.execute(
                _PREVIOUS_PARTS, {"sid": sandbox.id, "seq": prev_seq}).scalar())
            state = digest(parts) if parts is not None else None
            created = {k: sorted(v) for k, v in sorted(writes.created.items())} or None
            if in_transaction is not None:
                in_transaction(session, result)
            seq = sandbox.log_seq + 1
            result_digest = digest(result)
            door = DOOR.get() or None
            h = entry_hash(sandbox.log_head, seq, now, actor, name, args, result_digest, door, state, created)
            session.add(Action(sandbox_id=sandbox.id, seq=seq, at=now, actor=actor, name=name, args=args,
                               result_digest=result_digest, prev_hash=sandbox.log_head, hash=h, result=result,
                               door=door, state_digest=state, state_parts=parts, created=created))
            sandbox.log_seq = seq
            sandbox.log_head = h
        self.db.after_commit(ctx._after_commit)  # at once, or when a batch() commits
        return Applied(result, seq, state, parts, created)


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
        if entry.state_parts is not None and digest(entry.state_parts) != entry.state_digest:
            return False, entry.seq
        if entry_hash(prev, entry.seq, entry.at, entry.actor, entry.name, entry.args, entry.result_digest,
                      entry.door, entry.state_digest, entry.created) != entry.hash:
            return False, entry.seq
        prev = entry.hash
        expected_seq += 1
    if sandbox is not None and (sandbox.log_head != prev or sandbox.log_seq != expected_seq - 1):
        return False, expected_seq
    return True, None
