"""IMAP commands on mailboxes: SELECT/EXAMINE, LIST/LSUB/XLIST, STATUS, CREATE/DELETE/RENAME,
SUBSCRIBE, APPEND, NAMESPACE, CHECK/CLOSE/UNSELECT, IDLE; and the selected-mailbox refresh
that reports other sessions' changes (EXISTS, EXPUNGE, FLAGS)."""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime

from ..mime import MimeError
from . import data as store
from . import utf7
from .fetch import MONTHS, flags_list
from .parser import Atom, ParseError, Str

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
XLIST_USE = {"\\Sent": "\\Sent", "\\Drafts": "\\Drafts", "\\Trash": "\\Trash", "\\Junk": "\\Spam"}
_DATE_TIME = re.compile(r"^\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")


def check_flags(tokens) -> list[str]:
    """Flags from a command: system flags must be known ones (\\Recent cannot be set),
    keywords must be atoms. Anything else is a syntax error (BAD), as Dovecot answers."""
    out = []
    for t in tokens:
        if not isinstance(t, Atom):
            raise ParseError("flags must be atoms")
        if t.startswith("\\"):
            known = next((f for f in SYSTEM_FLAGS if f.lower() == t.lower()), None)
            if known is None:
                raise ParseError(f"Invalid system flag {t}")
            out.append(known)
        elif re.fullmatch(r"[!#$&'+-\[^-~]+", t):
            out.append(str(t))
        else:
            raise ParseError(f"Invalid keyword {t}")
    return out


def mailbox_arg(token) -> str:
    """A mailbox name from the wire (modified UTF-7 atom or string) as stored (Unicode)."""
    if isinstance(token, list) or token is None:
        raise ParseError("mailbox name expected")
    text = token.decode("utf-8", "replace") if isinstance(token, bytes) else str(token)
    try:
        name = utf7.decode(text) if "&" in text else text
    except utf7.MailboxNameError as e:
        raise ParseError(str(e)) from None
    return "INBOX" if name.upper() == "INBOX" else name.rstrip("/")


def mailbox_wire(name: str) -> bytes:
    enc = utf7.encode(name)
    if enc and re.fullmatch(r"[A-Za-z0-9&.,_/+-]+", enc):
        return enc.encode()
    return b'"' + enc.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def parse_date_time(text: str) -> datetime:
    m = _DATE_TIME.match(text)
    if not m or m.group(2).capitalize() not in MONTHS:
        raise ParseError(f"bad date-time {text!r}")
    from datetime import timedelta, timezone
    off = (int(m.group(8)) * 60 + int(m.group(9))) * (1 if m.group(7) == "+" else -1)
    try:
        return datetime(int(m.group(3)), MONTHS.index(m.group(2).capitalize()) + 1, int(m.group(1)),
                        int(m.group(4)), int(m.group(5)), int(m.group(6)), tzinfo=timezone(timedelta(minutes=off)))
    except ValueError:
        raise ParseError(f"bad date-time {text!r}") from None


def _pattern(reference: str, pattern: str) -> re.Pattern:
    full = (reference + pattern) if reference and not pattern.startswith("/") else pattern
    out = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in full)
    return re.compile("^" + out + "$", re.I if full.upper().startswith("INBOX") else 0)


class MailboxCommands:
    """Mixed into ``server.Connection``."""

    def _dispatch(self, action_name: str, /, **args) -> dict:
        return self.rt.dispatcher.dispatch(self.account.sandbox_id, self.account.address, action_name,
                                           {"account_id": self.account.id, **args})

    async def act(self, action_name: str, /, **args) -> dict:
        """Apply a mail action as the logged-in person (the one way IMAP changes anything)."""
        return await self.run_sync(lambda: self._dispatch(action_name, **args))

    async def find(self, name: str):
        return await self.run_sync(store.find_mailbox, self.rt.db, self.account, name)

    # --- selection -----------------------------------------------------------------------

    async def _select(self, tag, args, readonly: bool):
        if len(args) != 1:
            raise ParseError("SELECT needs one mailbox name")
        name = mailbox_arg(args[0])
        if self.selected is not None:
            self.selected = None
            self.watch(None)
            await self.untagged("OK [CLOSED] Previous mailbox closed.")
        box = await self.find(name)
        if box is None:
            return "NO Mailbox doesn't exist (thu muc khong ton tai)"
        snap = await self.run_sync(store.snapshot, self.rt.db, self.account, box.id)
        claims = self.server.recent_claims
        claimed = claims.get(box.id, 0)
        for m in snap.msgs:
            m.recent = m.uid > claimed
        if not readonly and snap.msgs:
            claims[box.id] = max(claimed, snap.msgs[-1].uid)
        self._renumber(snap)
        self.selected, self.readonly = snap, readonly
        self.watch(box.id)
        self.server.warm(self.account.sandbox_id, [m.data_id for m in snap.msgs])
        keywords = sorted({f for m in snap.msgs for f in m.flags if not f.startswith("\\")})
        await self.untagged(b"FLAGS " + flags_list(list(SYSTEM_FLAGS) + keywords))
        perm = b"()" if readonly else flags_list(list(SYSTEM_FLAGS) + keywords + ["\\*"])
        await self.untagged(b"OK [PERMANENTFLAGS " + perm + b"] Flags permitted.")
        await self.untagged(f"{len(snap.msgs)} EXISTS")
        await self.untagged(f"{sum(m.recent for m in snap.msgs)} RECENT")
        unseen = next((m.seq for m in snap.msgs if "\\Seen" not in m.flags), None)
        if unseen:
            await self.untagged(f"OK [UNSEEN {unseen}] First unseen.")
        await self.untagged(f"OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
        await self.untagged(f"OK [UIDNEXT {box.uidnext}] Predicted next UID")
        return f"OK [{'READ-ONLY' if readonly else 'READ-WRITE'}] {'Examine' if readonly else 'Select'} completed"

    async def cmd_SELECT(self, tag, args):
        return await self._select(tag, args, readonly=False)
    cmd_SELECT.states = ("auth",)

    async def cmd_EXAMINE(self, tag, args):
        return await self._select(tag, args, readonly=True)
    cmd_EXAMINE.states = ("auth",)

    @staticmethod
    def _renumber(snap) -> None:
        for i, m in enumerate(snap.msgs, 1):
            m.seq = i

    async def refresh(self, expunges: bool) -> None:
        """Tell the client what changed in the selected mailbox since it last heard.
        Without ``expunges`` (during FETCH, STORE, SEARCH), removed messages stay numbered."""
        snap = self.selected
        if snap is None:
            return
        known_max = snap.msgs[-1].uid if snap.msgs else 0
        found = await self.server.changes(self.account, snap.box.id, snap.box.modseq, known_max, len(snap.msgs))
        if found is store.UNCHANGED:
            return
        if found is None:
            await self.untagged("BYE Mailbox was deleted (thu muc da bi xoa)")
            self.closing = True
            return
        box, changed, present = found
        changed = [dataclasses.replace(m) for m in changed]  # shared with other sessions: copy
        by_uid = {m.uid: m for m in changed}
        if expunges and present is not None:
            # Highest sequence number first (as Dovecot), so each number is valid when sent.
            for i in range(len(snap.msgs) - 1, -1, -1):
                if snap.msgs[i].uid not in present:
                    await self.untagged(f"{i + 1} EXPUNGE")
                    del snap.msgs[i]
        for i, m in enumerate(snap.msgs):
            new = by_uid.get(m.uid)
            if new is not None and new.flags != m.flags:
                m.flags = new.flags
                await self.untagged(b"%d FETCH (FLAGS %s)" % (i + 1, flags_list(self.flags_of(m))))
        added = [m for m in changed if m.uid > known_max]
        claims = self.server.recent_claims
        for m in added:
            m.recent = not self.readonly and m.uid > claims.get(snap.box.id, 0)
            if m.recent:
                claims[snap.box.id] = m.uid
        snap.msgs = snap.msgs + added
        self._renumber(snap)
        if added:
            await self.untagged(f"{len(snap.msgs)} EXISTS")
            await self.untagged(f"{sum(m.recent for m in snap.msgs)} RECENT")
        if present is None or all(m.uid in present for m in snap.msgs):
            snap.box = box  # all caught up (else the next refresh looks again)

    @staticmethod
    def flags_of(m):
        return set(m.flags) | ({"\\Recent"} if m.recent else set())

    async def cmd_CHECK(self, tag, args):
        await self.refresh(expunges=True)
        return "OK CHECK completed"
    cmd_CHECK.states = ("selected",)

    async def cmd_CLOSE(self, tag, args):
        snap = self.selected
        if not self.readonly and any("\\Deleted" in m.flags for m in snap.msgs):
            await self.act("mail.expunge", mailbox_id=snap.box.id)
        self.selected = None
        self.watch(None)
        return "OK CLOSE completed"
    cmd_CLOSE.states = ("selected",)

    async def cmd_UNSELECT(self, tag, args):
        self.selected = None
        self.watch(None)
        return "OK UNSELECT completed"
    cmd_UNSELECT.states = ("selected",)

    async def cmd_IDLE(self, tag, args):
        await self.send(b"+ idling\r\n")
        reader = asyncio.ensure_future(self.read_line())
        try:
            while True:
                changed = getattr(self, "changed", None) if self.selected is not None else None
                waits = [reader] + ([asyncio.ensure_future(changed.wait())] if changed is not None else [])
                done, pending = await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)
                for p in pending:
                    if p is not reader:
                        p.cancel()
                if reader in done:
                    line = reader.result().strip().upper()
                    return "OK IDLE terminated" if line == b"DONE" else "BAD Expected DONE"
                if changed is not None:
                    changed.clear()
                await self.refresh(expunges=True)
                await self.flush()
        finally:
            if not reader.done():
                reader.cancel()
    cmd_IDLE.states = ("auth",)

    # --- listing -------------------------------------------------------------------------

    async def _list(self, args, command: str, subscribed_only: bool = False):
        if len(args) < 2:
            raise ParseError(f"{command} needs a reference and a pattern")
        if isinstance(args[0], list):  # LIST-EXTENDED selection options: accept, ignore
            args = args[1:]
        reference, pattern = (mailbox_arg(a) if a not in (b"", Str(b"")) else "" for a in args[:2])
        if pattern == "":
            await self.untagged(f'{command} (\\Noselect) "/" ""')
            return f"OK {command} completed"
        boxes = await self.run_sync(store.mailboxes, self.rt.db, self.account)
        names = {b.name for b in boxes}
        entries = {b.name: b for b in boxes}
        for name in names:  # parents that exist only as a path are \Noselect placeholders
            parts = name.split("/")
            for i in range(1, len(parts)):
                entries.setdefault("/".join(parts[:i]), None)
        rx = _pattern(reference, pattern)
        for name in sorted(entries, key=lambda n: (n != "INBOX", n)):
            b = entries[name]
            if subscribed_only and (b is None or not b.subscribed):
                continue
            if not rx.match(name):
                continue
            attrs = []
            if b is None:
                attrs.append("\\Noselect")
            if command != "LSUB":
                attrs.append("\\HasChildren" if any(n.startswith(name + "/") for n in entries) else "\\HasNoChildren")
            if b is not None and command == "XLIST":
                if name == "INBOX":
                    attrs.append("\\Inbox")
                elif b.special_use in XLIST_USE:
                    attrs.append(XLIST_USE[b.special_use])
            elif b is not None and b.special_use:
                attrs.append(b.special_use)
            await self.untagged(f"{command} ({' '.join(attrs)}) \"/\" ".encode() + mailbox_wire(name))
        return f"OK {command} completed"

    async def cmd_LIST(self, tag, args):
        return await self._list(args, "LIST")
    cmd_LIST.states = ("auth",)

    async def cmd_XLIST(self, tag, args):
        return await self._list(args, "XLIST")
    cmd_XLIST.states = ("auth",)

    async def cmd_LSUB(self, tag, args):
        return await self._list(args, "LSUB", subscribed_only=True)
    cmd_LSUB.states = ("auth",)

    async def cmd_NAMESPACE(self, tag, args):
        await self.untagged('NAMESPACE (("" "/")) NIL NIL')
        return "OK NAMESPACE completed"
    cmd_NAMESPACE.states = ("auth",)

    async def cmd_STATUS(self, tag, args):
        if len(args) != 2 or not isinstance(args[1], list):
            raise ParseError("STATUS needs a mailbox and a list of items")
        name = mailbox_arg(args[0])
        items = [str(a).upper() for a in args[1]]
        bad = [i for i in items if i not in ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")]
        if bad or not items:
            raise ParseError(f"unknown STATUS item {bad[0] if bad else ''}")
        box = await self.find(name)
        if box is None:
            return "NO Mailbox doesn't exist (thu muc khong ton tai)"
        snap = await self.run_sync(store.snapshot, self.rt.db, self.account, box.id)
        claimed = self.server.recent_claims.get(box.id, 0)
        values = {"MESSAGES": len(snap.msgs), "RECENT": sum(m.uid > claimed for m in snap.msgs),
                  "UIDNEXT": box.uidnext, "UIDVALIDITY": box.uidvalidity,
                  "UNSEEN": sum("\\Seen" not in m.flags for m in snap.msgs)}
        body = " ".join(f"{i} {values[i]}" for i in items)
        await self.untagged(b"STATUS " + mailbox_wire(box.name) + f" ({body})".encode())
        return "OK STATUS completed"
    cmd_STATUS.states = ("auth",)

    # --- changing mailboxes -----------------------------------------------------------------

    async def cmd_CREATE(self, tag, args):
        if len(args) != 1:
            raise ParseError("CREATE needs one mailbox name")
        name = mailbox_arg(args[0])
        if name == "INBOX" or await self.find(name):
            return "NO [ALREADYEXISTS] Mailbox already exists"
        # Missing parents are not made: LIST shows them as \Noselect, as Dovecot does.
        # CREATE does not subscribe (clients SUBSCRIBE themselves).
        await self.act("mail.create_folder", name=name, subscribed=False)
        return "OK Create completed"
    cmd_CREATE.states = ("auth",)

    async def cmd_DELETE(self, tag, args):
        if len(args) != 1:
            raise ParseError("DELETE needs one mailbox name")
        name = mailbox_arg(args[0])
        box = await self.find(name)
        if box is None:
            return "NO [NONEXISTENT] Mailbox doesn't exist (thu muc khong ton tai)"
        if self.selected is not None and self.selected.box.id == box.id:
            self.selected = None
            self.watch(None)
        await self.act("mail.delete_folder", mailbox_id=box.id)
        return "OK Delete completed"
    cmd_DELETE.states = ("auth",)

    async def cmd_RENAME(self, tag, args):
        if len(args) != 2:
            raise ParseError("RENAME needs two mailbox names")
        old, new = mailbox_arg(args[0]), mailbox_arg(args[1])
        box = await self.find(old)
        if await self.find(new):
            return "NO [ALREADYEXISTS] Target mailbox already exists"
        if box is not None:
            await self.act("mail.rename_folder", mailbox_id=box.id, new_name=new)
            return "OK Rename completed"
        # A \Noselect placeholder: its children move under the new name.
        children = [b for b in await self.run_sync(store.mailboxes, self.rt.db, self.account)
                    if b.name.startswith(old + "/")]
        if not children:
            return "NO [NONEXISTENT] Mailbox doesn't exist (thu muc khong ton tai)"
        for child in children:  # the highest real folders; each takes its own children along
            if not any(child.name.startswith(c.name + "/") for c in children):
                await self.act("mail.rename_folder", mailbox_id=child.id, new_name=new + child.name[len(old):])
        return "OK Rename completed"
    cmd_RENAME.states = ("auth",)

    async def _subscribe(self, args, value: bool):
        if len(args) != 1:
            raise ParseError("one mailbox name expected")
        box = await self.find(mailbox_arg(args[0]))
        if box is None:
            return "NO Mailbox doesn't exist (thu muc khong ton tai)"
        await self.act("mail.subscribe", mailbox_id=box.id, subscribed=value)
        return f"OK {'Subscribe' if value else 'Unsubscribe'} completed"

    async def cmd_SUBSCRIBE(self, tag, args):
        return await self._subscribe(args, True)
    cmd_SUBSCRIBE.states = ("auth",)

    async def cmd_UNSUBSCRIBE(self, tag, args):
        return await self._subscribe(args, False)
    cmd_UNSUBSCRIBE.states = ("auth",)

    async def cmd_APPEND(self, tag, args):
        if len(args) < 2 or not isinstance(args[-1], bytes) or isinstance(args[-1], Atom):
            raise ParseError("APPEND needs a mailbox and a message literal")
        name = mailbox_arg(args[0])
        flags, when = [], None
        for extra in args[1:-1]:
            if isinstance(extra, list):
                flags = check_flags(extra)
            elif isinstance(extra, bytes):
                when = parse_date_time(extra.decode("ascii", "replace"))
            else:
                raise ParseError("bad APPEND arguments")
        box = await self.find(name)
        if box is None:
            return "NO [TRYCREATE] Mailbox doesn't exist (thu muc khong ton tai)"
        raw = bytes(args[-1])
        if not raw:
            return "NO Can't save a zero byte message (thu rong)"
        blob = await self.run_sync(self.rt.blobs.put, raw)
        try:
            result = await self.act("mail.append", mailbox_id=box.id, raw=blob, flags=flags,
                                    internal_date=when.isoformat() if when else None)
        except MimeError:
            return "NO Can't save an empty message (thu rong)"
        if self.selected is not None and self.selected.box.id == box.id:
            await self.refresh(expunges=False)
        return f"OK [APPENDUID {result['uidvalidity']} {result['uid']}] Append completed"
    cmd_APPEND.states = ("auth",)
