"""SMTP submission server (aiosmtpd).

AUTH PLAIN/LOGIN is required before MAIL; the authenticated account decides the sandbox.
STARTTLS is offered with a certificate made into the data dir; cleartext AUTH is allowed only
when the server listens on loopback. Recipients resolve inside the sender's sandbox only: an
address of another world's domain is refused (no relay), an unknown address of the world's
own domains is accepted and answered with a bounce in the sender's INBOX, as a real server
does. Every accepted message goes through ``mailserver.api.submit`` (action ``mail.submit``),
with group commit: messages of several clients arriving together share one transaction, and
each is acknowledged (250) only after that transaction committed (``GroupCommitter``).

SMTP replies are ASCII (RFC 5321): Vietnamese messages are sent without diacritics after an
English text that mail clients show as is.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
import unicodedata
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from sandbox.kernel.actions import DOOR
from sandbox.kernel.errors import Forbidden, RateLimited, SandboxError

from . import api
from .addresses import domain_of, normalize_address
from .errors import MailError
from .mime import MimeError
from .store import world_domains
from .tls import server_ssl_context

log = logging.getLogger(__name__)
# Cleartext AUTH is allowed on loopback only (see SubmissionController); aiosmtpd warns on
# every connection about it.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)
logging.getLogger("mail.log").addFilter(
    lambda record: "auth_require_tls == False" not in record.getMessage()
    and "login_data is deprecated" not in record.getMessage())


def ascii_vi(text: str) -> str:
    """Vietnamese without diacritics, for protocol lines that must be ASCII."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "replace").decode()


def reply(code: int, enhanced: str, english: str, vietnamese: str = "") -> str:
    return f"{code} {enhanced} {english}" + (f" ({ascii_vi(vietnamese)})" if vietnamese else "")


class SubmissionHandler:
    """aiosmtpd handler: only the hooks we need (MAIL, RCPT, DATA) and the authenticator."""

    DOMAIN_CACHE_SECONDS = 5.0

    def __init__(self, runtime):
        self.rt = runtime
        self._domains_cache: dict[int, tuple[float, set[str]]] = {}
        self._committer: GroupCommitter | None = None

    def authenticator(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        peer = session.peer[0] if session.peer else None
        try:
            ref = self.rt.mail_login(login, password, peer)
        except RateLimited:
            return AuthResult(success=False, handled=False,
                              message="454 4.7.0 Too many failed logins, try again later (dang nhap sai qua nhieu lan)")
        if ref is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=ref)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        account = session.auth_data
        if not isinstance(account, api.AccountRef):
            return reply(530, "5.7.0", "Authentication required", "Can dang nhap truoc khi gui thu")
        try:
            sender = normalize_address(address)
        except MailError:
            return reply(553, "5.1.7", f"Bad sender address <{address}>", "Dia chi nguoi gui khong hop le")
        if sender != account.address:
            return reply(553, "5.7.1", f"Sender address <{address}> not owned by user {account.address}",
                         "Ban chi duoc gui thu tu dia chi cua minh")
        envelope.mail_from = sender
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        account = session.auth_data
        try:
            rcpt = normalize_address(address)
        except MailError:
            return reply(553, "5.1.3", f"Bad recipient address <{address}>", "Dia chi nguoi nhan khong hop le")
        if len(envelope.rcpt_tos) >= 100:
            return reply(452, "4.5.3", "Too many recipients", "Qua nhieu nguoi nhan")
        domains = self._domains(account.sandbox_id)
        if domain_of(rcpt) not in domains:
            return reply(554, "5.7.1", f"<{rcpt}>: Relay access denied",
                         "Khong chuyen thu ra ngoai he thong")
        envelope.rcpt_tos.append(rcpt)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    def _domains(self, sandbox_id: int) -> set[str]:
        """The world's domains, cached for a few seconds: every RCPT asks, they rarely change."""
        now = time.monotonic()
        hit = self._domains_cache.get(sandbox_id)
        if hit and hit[0] > now:
            return hit[1]
        with self.rt.db.read() as session:
            domains = world_domains(session, sandbox_id)
        self._domains_cache[sandbox_id] = (now + self.DOMAIN_CACHE_SECONDS, domains)
        return domains

    async def handle_DATA(self, server, session, envelope):
        account = session.auth_data
        raw = envelope.original_content or b""
        if not raw.strip():
            return reply(554, "5.6.0", "Empty message", "Thu rong, khong co noi dung")
        peer = session.peer[0] if session.peer else None
        try:
            self.rt.blobs.put(raw)       # the file before the transaction (stored once, by content)
            result = await self.committer.submit(account, raw, list(envelope.rcpt_tos), envelope.mail_from, peer)
        except Exception as e:  # noqa: BLE001 - every failure is an answer, nothing was stored
            return failure_reply(e)
        return f"250 2.0.0 Ok: queued as {result['submission_id']}"

    @property
    def committer(self) -> "GroupCommitter":
        if self._committer is None:
            self._committer = GroupCommitter(self.rt)
        return self._committer


def failure_reply(e: BaseException) -> str:
    """The SMTP answer to a submission that was not stored."""
    if isinstance(e, MimeError):
        return reply(554, "5.6.0", f"Malformed message: {e}", e.message_vi)
    if isinstance(e, MailError):
        return f"{e.code} 5.0.0 {ascii_vi(e.message_vi)}"
    if isinstance(e, Forbidden):  # permanent (e.g. the exam's time is up): a client must not retry
        return f"550 5.7.1 {ascii_vi(e.message_vi)}"
    if isinstance(e, SandboxError):
        return f"451 4.3.0 {ascii_vi(e.message_vi)}"
    log.error("submission failed", exc_info=e)   # a server fault: never drop the client
    return "451 4.3.0 Temporary server error, try again (loi tam thoi cua may chu)"


class GroupCommitter:
    """Group commit: the messages accepted at about the same moment (several clients) are
    stored in ONE write transaction (``Database.batch``), each still its own ``mail.submit``
    action with its own log entry, and each client is answered (250) only once that
    transaction has committed.

    Runs on the server's own loop thread, not in a thread pool: the work is CPU-bound
    Python, and handing it to other threads only adds GIL contention (measured: 77 msg/s
    through a pool of 8, 133 msg/s inline, 10 clients). A message waits for the loop to
    finish what is ready (``GATHER_TICKS`` turns, so the other clients' messages already
    received join it), then the batch is applied while the loop waits.

    If the batch fails (one message refused, a fault, the commit itself), nothing of it is
    stored; its messages are then applied one by one, each in its own transaction, so one
    bad message costs the others nothing and each client gets its own answer."""

    #: messages per transaction at most (a transaction holds SQLite's one write lock)
    MAX_BATCH = 16
    #: loop turns a batch waits for more messages
    GATHER_TICKS = 2

    def __init__(self, runtime):
        self.rt = runtime
        self._pending: list[tuple] = []
        self._flushing = False
        #: what happened (tests, benchmarks): transactions committed and messages per batch
        self.batches: list[int] = []

    async def submit(self, account, raw: bytes, rcpts: list[str], mail_from: str | None, client: str | None) -> dict:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending.append((account, raw, rcpts, mail_from, client, fut))
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        try:
            while self._pending:
                for _ in range(self.GATHER_TICKS):
                    if len(self._pending) >= self.MAX_BATCH:
                        break
                    await asyncio.sleep(0)
                batch, self._pending = self._pending[:self.MAX_BATCH], self._pending[self.MAX_BATCH:]
                self.apply(batch)
        finally:
            self._flushing = False

    def apply(self, batch: list[tuple]) -> None:
        """Store ``batch`` and resolve each message's future (result or exception)."""
        DOOR.set("smtp")
        # the same sandbox's messages keep their order; sandboxes are locked in id order
        batch = sorted(batch, key=lambda item: item[0].sandbox_id)
        if len(batch) > 1:
            try:
                with self.rt.db.batch():
                    results = [self._submit(item) for item in batch]
            except Exception:  # noqa: BLE001 - nothing committed: each on its own below
                log.info("a batch of %d messages failed; storing them one by one", len(batch))
            else:
                self.batches.append(len(batch))
                for item, result in zip(batch, results):
                    _resolve(item[-1], result=result)
                return
        for item in batch:
            try:
                result = self._submit(item)
            except Exception as e:  # noqa: BLE001 - answered by handle_DATA
                _resolve(item[-1], error=e)
            else:
                self.batches.append(1)
                _resolve(item[-1], result=result)

    def _submit(self, item: tuple) -> dict:
        account, raw, rcpts, mail_from, client, _fut = item
        return api.submit(self.rt.dispatcher, self.rt.blobs, account, raw, rcpts, via="smtp", mail_from=mail_from,
                          client=client)


def _resolve(fut, *, result=None, error: BaseException | None = None) -> None:
    if fut.done():      # the client went away meanwhile
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SMTPServer(SMTP):
    """aiosmtpd's protocol with the server socket's Nagle off (small replies, many round trips)."""

    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


class SubmissionController(Controller):
    """Runs the submission server in its own thread and event loop (``start()``/``stop()``)."""

    def __init__(self, runtime, host: str = "127.0.0.1", port: int = 2525):
        self.runtime = runtime
        self.handler_obj = SubmissionHandler(runtime)
        super().__init__(
            self.handler_obj, hostname=host, port=port,
            ready_timeout=10,
            authenticator=self.handler_obj.authenticator, auth_required=True,
            auth_require_tls=not is_loopback(host),
            tls_context=server_ssl_context(runtime.settings.tls_dir),
            data_size_limit=runtime.settings.max_message_size,
            enable_SMTPUTF8=True, decode_data=False, ident="Sandbox ESMTP",
        )

    def factory(self):
        return SMTPServer(self.handler, **self.SMTP_kwargs)

