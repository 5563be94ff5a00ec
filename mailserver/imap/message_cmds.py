"""IMAP commands on the selected mailbox's messages: FETCH, STORE, COPY, MOVE, EXPUNGE,
SEARCH and their UID forms."""
from __future__ import annotations

from bisect import bisect_left, bisect_right

from sandbox.kernel.clock import VN_TZ

from .fetch import Att, flags_list, parse_atts, render
from .mailbox_cmds import check_flags, mailbox_arg
from .parser import Atom, ParseError, parse_sequence_set

FLAG_OPS = {"FLAGS": "replace", "+FLAGS": "add", "-FLAGS": "remove"}


def _uid(m) -> int:
    return m.uid


class _SearchCtx:
    def __init__(self, conn, snap):
        self.max_seq = len(snap.msgs)
        self.max_uid = snap.msgs[-1].uid if snap.msgs else 0
        self.tz = VN_TZ
        self._conn = conn
        self._cache: dict[int, tuple[bytes, dict]] = {}

    def content(self, msg):
        return self._cache[msg.data_id]


class MessageCommands:
    """Mixed into ``server.Connection``."""

    def pick(self, set_token, uid: bool) -> list:
        """Messages of the selected mailbox named by a sequence set or a UID set."""
        if not isinstance(set_token, Atom):
            raise ParseError("sequence set expected")
        msgs = self.selected.msgs
        if uid:
            ranges = parse_sequence_set(str(set_token), msgs[-1].uid if msgs else 0)
            spans = [(bisect_left(msgs, lo, key=_uid), bisect_right(msgs, hi, key=_uid)) for lo, hi in ranges]
        else:
            ranges = parse_sequence_set(str(set_token), len(msgs))
            if any(hi > len(msgs) for _, hi in ranges):
                raise ParseError("Invalid messageset")
            spans = [(lo - 1, hi) for lo, hi in ranges]
        if len(spans) == 1:
            return msgs[spans[0][0]:spans[0][1]]
        return [msgs[i] for i in sorted({i for a, b in spans for i in range(a, b)})]

    async def load_content(self, msgs) -> dict[int, tuple[str, dict]]:
        ids = list({m.data_id for m in msgs})
        cached = self.server.data_cache.peek_many(ids)  # the usual case: no trip to the executor
        if cached is not None:
            return cached
        return await self.run_sync(self.server.data_cache.get_many, self.rt.db, self.account.sandbox_id, ids)

    # --- FETCH -----------------------------------------------------------------------------

    async def _fetch(self, args, uid: bool):
        if len(args) < 2:
            raise ParseError("FETCH needs a sequence set and attributes")
        atts = parse_atts(args[1:], uid)
        msgs = self.pick(args[0], uid)
        if not msgs:
            return None
        if not self.readonly and any(a.sets_seen for a in atts):
            unseen = [m for m in msgs if "\\Seen" not in m.flags]
            if unseen:
                result = await self.act("mail.set_flags", item_ids=[m.item_id for m in unseen], add=["\\Seen"])
                for m in unseen:
                    m.flags = frozenset(result["flags"][str(m.item_id)].split())
            if unseen and not any(a.name == "FLAGS" for a in atts):
                atts = atts + [Att("FLAGS")]  # tell the client its \Seen changed
        content = await self.load_content(msgs) if any(a.needs_content for a in atts) else {}
        blobs = self.rt.blobs
        cache = self.server.render_cache
        needs_raw = any(a.section is not None or a.name.startswith("RFC822") and a.name != "RFC822.SIZE" for a in atts)
        batch = []
        for m in msgs:
            blob, structure = content.get(m.data_id, (None, None))
            if needs_raw and blob is not None and structure["size"] > 1 << 20:
                raw = await self.run_sync(blobs.get, blob)  # a big message: read it off the loop
                loader = lambda raw=raw: raw  # noqa: E731
            else:
                loader = lambda blob=blob: blobs.get(blob)  # noqa: E731
            batch.append(b"* %d FETCH " % m.seq + render(m, atts, structure, loader, cache, self.flags_of(m)) + b"\r\n")
            if len(batch) >= 64:
                await self.send(b"".join(batch))
                batch = []
        if batch:
            await self.send(b"".join(batch))
        return None

    async def cmd_FETCH(self, tag, args):
        await self._fetch(args, uid=False)
        return "OK Fetch completed"
    cmd_FETCH.states = ("selected",)

    # --- STORE -----------------------------------------------------------------------------

    async def _store(self, args, uid: bool):
        if len(args) < 3:
            raise ParseError("STORE needs a sequence set, an operation and flags")
        op = str(args[1]).upper()
        silent = op.endswith(".SILENT")
        op = op[:-7] if silent else op
        if op not in FLAG_OPS:
            raise ParseError(f"bad STORE operation {args[1]}")
        flags = check_flags(args[2] if isinstance(args[2], list) else args[2:])
        msgs = self.pick(args[0], uid)
        if self.readonly:
            return "NO Mailbox is read-only (thu muc chi doc)"
        if msgs:
            kind = FLAG_OPS[op]
            result = await self.act("mail.set_flags", item_ids=[m.item_id for m in msgs],
                                    **{kind: flags} if kind != "replace" else {"replace": flags})
            for m in msgs:
                m.flags = frozenset(result["flags"][str(m.item_id)].split())
            if not silent:
                changed = set(result["changed"])
                out = []
                for m in (m for m in msgs if m.item_id in changed):  # as Dovecot: changed ones only
                    uid_part = b"UID %d " % m.uid if uid else b""
                    out.append(b"* %d FETCH (%sFLAGS %s)\r\n" % (m.seq, uid_part, flags_list(self.flags_of(m))))
                await self.send(b"".join(out))
        return None

    async def cmd_STORE(self, tag, args):
        result = await self._store(args, uid=False)
        return result or "OK Store completed"
    cmd_STORE.states = ("selected",)

    # --- COPY / MOVE -------------------------------------------------------------------------

    async def _copy(self, args, uid: bool, move: bool):
        if len(args) != 2:
            raise ParseError("COPY/MOVE needs a sequence set and a mailbox")
        msgs = self.pick(args[0], uid)
        target = await self.find(mailbox_arg(args[1]))
        if target is None:
            return "NO [TRYCREATE] Mailbox doesn't exist (thu muc khong ton tai)"
        if move and self.readonly:
            return "NO Mailbox is read-only (thu muc chi doc)"
        if not msgs:
            return f"OK {'Move' if move else 'Copy'} completed (no messages)"
        result = await self.act("mail.move" if move else "mail.copy", item_ids=[m.item_id for m in msgs],
                                target_mailbox_id=target.id)
        pairs = result["mapping"]
        if not pairs:
            return f"OK {'Move' if move else 'Copy'} completed"
        src = ",".join(str(p[0]) for p in pairs)
        dst = ",".join(str(p[1]) for p in pairs)
        code = f"COPYUID {result['uidvalidity']} {src} {dst}"
        if move:
            await self.untagged(f"OK [{code}] Moved UIDs.")
            await self.refresh(expunges=True)
            return "OK Move completed"
        if self.selected.box.id == target.id:
            await self.refresh(expunges=False)
        return f"OK [{code}] Copy completed"

    async def cmd_COPY(self, tag, args):
        return await self._copy(args, uid=False, move=False)
    cmd_COPY.states = ("selected",)

    async def cmd_MOVE(self, tag, args):
        return await self._copy(args, uid=False, move=True)
    cmd_MOVE.states = ("selected",)

    # --- EXPUNGE ---------------------------------------------------------------------------

    async def _expunge(self, uids: list[int] | None):
        if self.readonly:
            return "NO Mailbox is read-only (thu muc chi doc)"
        await self.act("mail.expunge", mailbox_id=self.selected.box.id, uids=uids)
        await self.refresh(expunges=True)
        return "OK Expunge completed"

    async def cmd_EXPUNGE(self, tag, args):
        return await self._expunge(None)
    cmd_EXPUNGE.states = ("selected",)

    # --- SEARCH ----------------------------------------------------------------------------

    async def _search(self, args, uid: bool):
        from .search import SearchError, compile_search
        try:
            program = compile_search(args)
        except SearchError as e:
            code = getattr(e, "code", None)
            if code == "BADCHARSET":
                return f"NO [BADCHARSET (UTF-8 US-ASCII)] {e}"
            return f"NO {'[' + code + '] ' if code else ''}{e}"
        snap = self.selected
        ctx = _SearchCtx(self, snap)
        if program.needs_content and snap.msgs:
            content = await self.load_content(snap.msgs)
            blobs = self.rt.blobs

            def load_all():
                for m in snap.msgs:
                    blob, structure = content[m.data_id]
                    ctx._cache[m.data_id] = (blobs.get(blob), structure)
            await self.run_sync(load_all)
        hits = await self.run_sync(lambda: [m for m in snap.msgs if program.matches(m, ctx)])
        numbers = " ".join(str(m.uid if uid else m.seq) for m in hits)
        await self.untagged(f"SEARCH{' ' + numbers if numbers else ''}")
        return "OK Search completed"

    async def cmd_SEARCH(self, tag, args):
        return await self._search(args, uid=False)
    cmd_SEARCH.states = ("selected",)

    # --- UID ---------------------------------------------------------------------------------

    async def cmd_UID(self, tag, args):
        if not args or not isinstance(args[0], Atom):
            raise ParseError("UID needs a command")
        sub, rest = args[0].upper(), args[1:]
        if sub == "FETCH":
            await self._fetch(rest, uid=True)
            return "OK Fetch completed"
        if sub == "STORE":
            return (await self._store(rest, uid=True)) or "OK Store completed"
        if sub in ("COPY", "MOVE"):
            return await self._copy(rest, uid=True, move=sub == "MOVE")
        if sub == "SEARCH":
            return await self._search(rest, uid=True)
        if sub == "EXPUNGE":
            if len(rest) != 1:
                raise ParseError("UID EXPUNGE needs a UID set")
            return await self._expunge([m.uid for m in self.pick(rest[0], uid=True)])
        raise ParseError(f"Unknown UID command {sub}")
    cmd_UID.states = ("selected",)
