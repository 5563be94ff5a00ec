"""The IMAP server: one asyncio task per connection, one coroutine per command
(``cmd_<NAME>``), the store read in an executor and changed only through actions.

States (RFC 3501 §3): not authenticated → authenticated → selected → logout. Every
command that fails answers a tagged NO or BAD; a connection is closed only by LOGOUT, by
the client, or after a long idle time — never because of what a client sent.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from sandbox.kernel.actions import DOOR
from sandbox.kernel.errors import RateLimited, SandboxError

from ..tls import server_ssl_context
from . import data as store
from .fetch import RenderCache
from .mailbox_cmds import MailboxCommands
from .message_cmds import MessageCommands
from .parser import ParseError, literal_at_end, parse_command

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
IDLE_TIMEOUT = 30 * 60
POLL_SECONDS = 0.5
CAPABILITIES = ("IMAP4rev1 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE XLIST "
                "UNSELECT CHILDREN LIST-EXTENDED")


class LineTooLong(Exception):
    def __init__(self, head: bytes):
        super().__init__("line too long")
        tag = head.split(b" ", 1)[0]
        self.tag = tag.decode("ascii", "replace") if re.fullmatch(rb"[A-Za-z0-9._-]{1,64}", tag) else "*"


class LiteralTooBig(Exception):
    def __init__(self, size: int, tag: str):
        super().__init__(size)
        self.size = size
        self.tag = tag


class Connection(MailboxCommands, MessageCommands):
    """One client's session."""

    def __init__(self, server: "IMAPServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.rt = server.runtime
        self.reader = reader
        self.writer = writer
        self.peer = (writer.get_extra_info("peername") or ("?",))[0]
        self.account = None
        self.selected = None       # data.Snapshot of the selected mailbox
        self.readonly = False
        self.tls = False
        self.closing = False
        self.unsubscribe = None
        self._out: list[bytes] = []
        self._out_size = 0

    # --- I/O ---------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Queue output; it goes out in one write when the command ends, before the server
        waits for the client, or when much is queued (one TCP segment per answer, not two)."""
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size > 256 * 1024:
            await self.flush()

    async def flush(self) -> None:
        if self._out:
            self.writer.write(b"".join(self._out))
            self._out.clear()
            self._out_size = 0
            await self.writer.drain()

    async def untagged(self, text: str | bytes) -> None:
        await self.send(b"* " + (text.encode() if isinstance(text, str) else text) + b"\r\n")

    async def run_sync(self, fn, *args):
        def call():
            DOOR.set("imap")  # the worker thread records its actions as coming through IMAP
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.server.executor, call)

    async def read_line(self) -> bytes:
        """One line including CRLF; a line over MAX_LINE is read to its end and refused."""
        await self.flush()  # whatever the client waits for goes out before we wait for it
        try:
            return await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as e:
            # Drain the oversized line so the connection stays usable.
            head = await self.reader.readexactly(e.consumed)
            while True:
                try:
                    await self.reader.readuntil(b"\n")
                    break
                except asyncio.LimitOverrunError as more:
                    await self.reader.readexactly(more.consumed)
            raise LineTooLong(head[:80]) from None

    async def read_command(self) -> bytes | None:
        """A whole command with its literals, without the final CRLF; None at EOF."""
        buf = b""
        while True:
            try:
                line = await self.read_line()
            except asyncio.IncompleteReadError:
                return None
            if not line:
                return None
            lit = literal_at_end(line)
            if lit is None:
                return buf + line.rstrip(b"\r\n")
            size, nonsync = lit
            if size > self.server.max_literal:
                tag = (buf + line).split(b" ", 1)[0].decode("ascii", "replace")
                if nonsync:  # the client sends it anyway: read and drop it
                    await self._discard(size)
                    await self._discard_rest_of_command()
                raise LiteralTooBig(size, tag)
            if not nonsync:
                await self.send(b"+ OK\r\n")
                await self.flush()
            try:
                body = await self.reader.readexactly(size)
            except asyncio.IncompleteReadError:
                return None
            if line.endswith(b"\r\n"):
                buf += line + body
            else:
                buf += line[:-1] + b"\r\n" + body

    async def _discard(self, size: int) -> None:
        while size > 0:
            chunk = await self.reader.read(min(size, 1 << 20))
            if not chunk:
                return
            size -= len(chunk)

    async def _discard_rest_of_command(self) -> None:
        while True:
            line = await self.read_line()
            lit = literal_at_end(line)
            if lit is None:
                return
            await self._discard(lit[0])

    # --- the loop --------------------------------------------------------------------------

    async def serve(self) -> None:
        await self.untagged(f"OK [CAPABILITY {self.capabilities()}] Sandbox IMAP ready (san sang).")
        while not self.closing:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    buf = await self.read_command()
            except TimeoutError:
                await self.untagged("BYE Idle for too long (qua thoi gian cho)")
                await self.flush()
                return
            except LineTooLong as e:
                await self.send(f"{e.tag} BAD Line too long (dong lenh qua dai)\r\n".encode())
                continue
            except LiteralTooBig as e:
                await self.send(f"{e.tag} NO [TOOBIG] Literal of {e.size} bytes is over the limit\r\n".encode())
                continue
            if buf is None:
                return
            if not buf.strip():
                continue
            await self.execute(buf)
            await self.flush()

    async def execute(self, buf: bytes) -> None:
        try:
            tag, name, args = parse_command(buf)
        except ParseError as e:
            tag = getattr(e, "tag", "*")
            await self.send(f"{tag} BAD {e}\r\n".encode())
            return
        handler = getattr(self, f"cmd_{name}", None)
        if handler is None:
            await self.send(f"{tag} BAD Unknown command {name}\r\n".encode())
            return
        allowed = getattr(handler, "states", ("any",))
        state = "selected" if self.selected is not None else ("auth" if self.account else "noauth")
        if "any" not in allowed and state not in allowed and not (state == "selected" and "auth" in allowed):
            if state == "noauth":
                await self.send(f"{tag} BAD Log in first (hay dang nhap truoc)\r\n".encode())
            else:
                await self.send(f"{tag} BAD {name} needs a selected mailbox (chua chon thu muc)\r\n".encode())
            return
        try:
            result = await handler(tag, args)
            if result is not None:
                await self.send(f"{tag} {result}\r\n".encode())
        except ParseError as e:
            await self.send(f"{tag} BAD {e}\r\n".encode())
        except SandboxError as e:
            from ..smtp import ascii_vi
            await self.send(f"{tag} NO {ascii_vi(e.message_vi)}\r\n".encode())
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closing = True
        except Exception:
            log.exception("IMAP command failed: %r", buf[:200])
            await self.send(f"{tag} NO [SERVERBUG] Internal error, nothing was changed (loi may chu)\r\n".encode())

    def capabilities(self) -> str:
        caps = CAPABILITIES
        if not self.tls and self.server.ssl_context is not None:
            caps += " STARTTLS"
        if self.account is None:
            caps += " AUTH=PLAIN AUTH=LOGIN"
            if self.server.require_tls and not self.tls:
                caps += " LOGINDISABLED"
        return caps

    # --- any state ---------------------------------------------------------------------

    async def cmd_CAPABILITY(self, tag, args):
        await self.untagged(f"CAPABILITY {self.capabilities()}")
        return "OK CAPABILITY completed"

    async def cmd_NOOP(self, tag, args):
        await self.refresh(expunges=True)
        return "OK NOOP completed"

    async def cmd_LOGOUT(self, tag, args):
        await self.untagged("BYE Logging out (tam biet)")
        self.closing = True
        return "OK LOGOUT completed"

    async def cmd_ID(self, tag, args):
        await self.untagged('ID ("name" "Sandbox IMAP" "vendor" "Sandbox CDS")')
        return "OK ID completed"

    # --- not authenticated -----------------------------------------------------------------

    async def cmd_STARTTLS(self, tag, args):
        if self.tls or self.server.ssl_context is None:
            return "BAD TLS already active or not available"
        # Whatever the client sent after STARTTLS in the same write arrived in plain text and
        # must not run inside the TLS session (RFC 3501 6.2.1, RFC 2595 3.1: a man in the
        # middle could inject it): dropped, as Dovecot does. asyncio has no public way to
        # empty a StreamReader's buffer.
        await self.send(f"{tag} OK Begin TLS negotiation now\r\n".encode())
        await self.flush()
        pipelined = getattr(self.reader, "_buffer", None)      # no await from here to start_tls
        if pipelined:
            log.warning("IMAP STARTTLS: %d plain-text bytes pipelined after the command dropped", len(pipelined))
            pipelined.clear()
        await self.writer.start_tls(self.server.ssl_context)
        self.tls = True
        return None
    cmd_STARTTLS.states = ("noauth",)

    async def _login(self, tag, login: str, password: str):
        if self.server.require_tls and not self.tls:
            return "NO [PRIVACYREQUIRED] Use STARTTLS first (hay dung STARTTLS)"
        try:
            ref = await self.run_sync(self.rt.mail_login, login, password, self.peer)
        except RateLimited:
            return "NO [UNAVAILABLE] Too many failed logins, try later (dang nhap sai qua nhieu lan)"
        if ref is None:
            await asyncio.sleep(0.2)
            return "NO [AUTHENTICATIONFAILED] Invalid credentials (sai ten dang nhap hoac mat khau)"
        self.account = ref
        return f"OK [CAPABILITY {self.capabilities()}] Logged in"

    async def cmd_LOGIN(self, tag, args):
        if len(args) != 2 or isinstance(args[0], list) or isinstance(args[1], list):
            raise ParseError("LOGIN needs user name and password")
        user, pw = (a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in args)
        return await self._login(tag, user, pw)
    cmd_LOGIN.states = ("noauth",)

    async def cmd_AUTHENTICATE(self, tag, args):
        if not args or isinstance(args[0], (list, bytes)):
            raise ParseError("AUTHENTICATE needs a mechanism")
        mech = args[0].upper()
        initial = args[1] if len(args) > 1 else None
        if mech == "PLAIN":
            resp = str(initial) if initial is not None else await self._challenge(b"")
            if resp is None:
                return "BAD Authentication cancelled"
            try:
                parts = base64.b64decode(resp, validate=True).split(b"\x00")
            except (binascii.Error, ValueError):
                return "BAD Invalid base64"
            if len(parts) != 3:
                return "BAD Invalid PLAIN response"
            return await self._login(tag, parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace"))
        if mech == "LOGIN":
            user = await self._challenge(base64.b64encode(b"Username:"))
            pw = await self._challenge(base64.b64encode(b"Password:")) if user is not None else None
            if user is None or pw is None:
                return "BAD Authentication cancelled"
            try:
                return await self._login(tag, base64.b64decode(user).decode("utf-8", "replace"),
                                         base64.b64decode(pw).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                return "BAD Invalid base64"
        return "NO Unsupported authentication mechanism"
    cmd_AUTHENTICATE.states = ("noauth",)

    async def _challenge(self, data: bytes) -> str | None:
        await self.send(b"+ " + data + b"\r\n")
        line = (await self.read_line()).strip()
        return None if line == b"*" else line.decode("ascii", "replace")

    # --- mailbox change notifications ------------------------------------------------------

    def watch(self, mailbox_id: int | None) -> None:
        """Be woken (``self.changed``) when the mailbox changes: at once for changes made in
        this process, within the poll interval for changes made by other processes."""
        if self.unsubscribe:
            self.unsubscribe()
            self.unsubscribe = None
        if mailbox_id is not None:
            self.changed = asyncio.Event()
            loop = asyncio.get_running_loop()
            local = self.rt.mail_events.subscribe(mailbox_id, lambda _mid: loop.call_soon_threadsafe(self.changed.set))
            remote = self.server.watch(mailbox_id, self)

            def unsubscribe():
                local()
                remote()
            self.unsubscribe = unsubscribe

    def close(self) -> None:
        self.watch(None)


class IMAPServer:
    """The listening socket and what all connections share."""

    def __init__(self, runtime, host: str, port: int, workers: int = 8):
        from ..smtp import is_loopback
        self.runtime = runtime
        self.host, self.port = host, port
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imap-store")
        self.ssl_context = server_ssl_context(runtime.settings.tls_dir)
        self.require_tls = not is_loopback(host)
        # A literal carries at most one message (APPEND): the same size limit as SMTP's.
        self.max_literal = runtime.settings.max_message_size
        self.data_cache = store.DataCache()
        self.render_cache = RenderCache()
        self.recent_claims: dict[int, int] = {}
        self.connections: set[Connection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._watched: dict[int, set[Connection]] = {}
        self._inflight: dict[tuple, asyncio.Future] = {}
        self._poller: asyncio.Task | None = None

    def warm(self, sandbox_id: int, data_ids: list[int]) -> None:
        """Load a just-selected mailbox's message structures into memory in the background,
        so the session's fetches find them there (Dovecot keeps an index for the same)."""
        missing = [d for d in data_ids if self.data_cache.peek_many([d]) is None]
        if missing:
            asyncio.get_running_loop().run_in_executor(
                self.executor, self.data_cache.get_many, self.runtime.db, sandbox_id, missing[-self.data_cache.size:])

    async def changes(self, account, mailbox_id: int, since: int, known_max: int, known_count: int):
        """``data.changes`` with identical requests in flight shared: when one delivery wakes
        many sessions of one mailbox, the store is read once for all of them."""
        key = (account.id, mailbox_id, since, known_max, known_count)
        pending = self._inflight.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self.executor, store.changes, self.runtime.db, account, mailbox_id,
                                           since, known_max, known_count)
            self._inflight[key] = pending
            pending.add_done_callback(lambda _f: self._inflight.pop(key, None))
        return await asyncio.shield(pending)

    def watch(self, mailbox_id: int, conn: Connection):
        """Register a session for the cross-process poller; returns the unregistration."""
        self._watched.setdefault(mailbox_id, set()).add(conn)

        def unwatch():
            conns = self._watched.get(mailbox_id)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._watched[mailbox_id]
        return unwatch

    async def _poll_changes(self) -> None:
        """Other server processes (PostgreSQL deployments) change mailboxes too: one query a
        second reads the change counters of every mailbox a session here has selected."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            ids = list(self._watched)
            if not ids:
                continue
            try:
                current = await loop.run_in_executor(self.executor, store.modseqs, self.runtime.db, ids)
            except Exception:
                log.exception("mailbox change poll failed")
                continue
            for mid, seq in current.items():
                for conn in list(self._watched.get(mid, ())):
                    snap = conn.selected
                    if snap is not None and snap.box.id == mid and snap.box.modseq != seq:
                        conn.changed.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, limit=MAX_LINE)
        self.port = self._server.sockets[0].getsockname()[1]
        self._poller = asyncio.ensure_future(self._poll_changes())

    async def _client(self, reader, writer) -> None:
        DOOR.set("imap")
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # imaplib writes literals in pieces
            except OSError:
                pass
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.serve()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("IMAP connection failed")
        finally:
            conn.close()
            self.connections.discard(conn)
            try:
                writer.close()
            except Exception:
                pass

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self._server is not None:
            self._server.close()
            for conn in list(self.connections):
                conn.writer.close()
            await self._server.wait_closed()
        self.executor.shutdown(wait=False)


class IMAPController:
    """Runs the IMAP server in its own thread and event loop (``start()``/``stop()``),
    like aiosmtpd's Controller."""

    def __init__(self, runtime, host: str = "127.0.0.1", port: int = 1143):
        self.server = IMAPServer(runtime, host, port)
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        ready = threading.Event()
        error: list[BaseException] = []

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.server.start())
            except BaseException as e:  # noqa: BLE001  (reported to the starting thread)
                error.append(e)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="imap", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            raise error[0]

    def stop(self) -> None:
        if self._thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        try:
            fut.result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self._thread = None

