"""The mail-client share of the load: a candidate who uses a desktop mail client instead of
the webmail. Reading is IMAP with IMAPClient (a real client library; it blocks, so each
session runs in a small thread pool), sending is SMTP submission with aiosmtplib, both with
STARTTLS and AUTH as a mail client set up for the exam room does it. After sending, the client
files its copy in the Sent folder (IMAP APPEND), as Thunderbird and Outlook do, and finds it
there again."""
from __future__ import annotations

import asyncio
import email
import email.header
import email.policy
import mimetypes
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from .load_client import StepFailed

#: IMAP sessions run here (IMAPClient blocks); a few threads are enough for a share of the room
IMAP_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="imap")


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """One client TLS context for every session (making one loads the CA store: tens of ms)."""
    global _TLS
    if _TLS is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE      # the servers' certificate is self-signed (mail.sandbox.local)
        _TLS = ctx
    return _TLS


class MailClient:
    def __init__(self, stats, host: str, smtp_port: int, imap_port: int, address: str, password: str,
                 display_name: str):
        self.stats, self.host = stats, host
        self.smtp_port, self.imap_port = smtp_port, imap_port
        self.address, self.password, self.display_name = address, password, display_name

    # -- IMAP ----------------------------------------------------------------------------
    def _imap(self):
        from imapclient import IMAPClient
        c = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=60)
        c.starttls(_tls())
        c.login(self.address, self.password)
        return c

    async def _in_thread(self, step: str, fn):
        t0 = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(IMAP_THREADS, fn)
        except StepFailed:
            raise
        except Exception as e:  # noqa: BLE001  (any client or server failure is the step's error)
            raise StepFailed(step, f"IMAP: {type(e).__name__}: {e}") from None
        finally:
            self.stats.add(step, time.perf_counter() - t0)
            self.stats.requests += 1

    async def attachment(self, subject: str, filename: str) -> tuple[bytes, str]:
        """Open the INBOX, find the mail by its subject, read it (it becomes \\Seen) and save
        its file ``filename``."""
        def work():
            c = self._imap()
            try:
                c.select_folder("INBOX")
                uids = c.search("ALL")
                envelopes = c.fetch(uids, ["ENVELOPE"])
                uid = next((u for u, d in envelopes.items()
                            if _decode(d[b"ENVELOPE"].subject) == subject), None)
                if uid is None:
                    raise StepFailed("imap read", f"no mail «{subject}» in the INBOX ({len(uids)} mails)")
                raw = c.fetch([uid], ["BODY[]"])[uid][b"BODY[]"]
            finally:
                c.logout()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            for part in msg.iter_attachments():
                if part.get_filename() == filename:
                    return part.get_payload(decode=True), part.get_content_type()
            raise StepFailed("imap read", f"«{subject}» carries no file {filename}")
        return await self._in_thread("imap read", work)

    def build(self, to, cc, bcc, subject: str, body: str, files: list[tuple[str, bytes, str]]) -> EmailMessage:
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = Address(display_name=self.display_name, addr_spec=self.address)
        if to:
            msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(_now())
        msg["Message-ID"] = make_msgid(domain=self.address.split("@")[1])
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        for name, data, ctype in files:
            ctype = ctype or mimetypes.guess_type(name)[0] or "application/octet-stream"
            maintype, _, subtype = ctype.partition("/")
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return msg

    async def send(self, msg: EmailMessage, rcpts: list[str]) -> None:
        t0 = time.perf_counter()
        try:
            errors, _ = await aiosmtplib.send(msg, sender=self.address, recipients=rcpts, hostname=self.host,
                                              port=self.smtp_port, username=self.address, password=self.password,
                                              start_tls=True, tls_context=_tls(), timeout=60)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as e:
            raise StepFailed("smtp send", f"SMTP: {type(e).__name__}: {e}") from None
        finally:
            self.stats.add("smtp send", time.perf_counter() - t0)
            self.stats.requests += 1
        if errors:
            raise StepFailed("smtp send", f"SMTP refused recipients: {errors}")

    async def file_sent_copy(self, msg: EmailMessage) -> None:
        """APPEND the sent message to the Sent folder (special-use \\Sent) and find it there."""
        raw = msg.as_bytes()
        mid = msg["Message-ID"]

        def work():
            c = self._imap()
            try:
                sent = next((name for flags, _d, name in c.list_folders() if b"\\Sent" in flags), None)
                if sent is None:
                    raise StepFailed("imap sent", "no folder with the \\Sent role")
                c.append(sent, raw, flags=[b"\\Seen"])
                c.select_folder(sent)
                if not c.search(["HEADER", "Message-ID", mid]):
                    raise StepFailed("imap sent", f"the copy {mid} is not in {sent} after APPEND")
            finally:
                c.logout()
        await self._in_thread("imap sent", work)


def _decode(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(email.header.make_header(email.header.decode_header(value)))


def _now():
    import datetime as dt
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
