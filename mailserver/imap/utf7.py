"""Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3): "Công việc" ⇄ "C&ALQ-ng vi&Hsc-c"."""
from __future__ import annotations

import base64


class MailboxNameError(ValueError):
    pass


def encode(name: str) -> str:
    out, pending = [], []

    def flush():
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode(text: str) -> str:
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "&":
            if not 0x20 <= ord(ch) <= 0x7E:
                raise MailboxNameError(f"8-bit character in mailbox name {text!r}")
            out.append(ch)
            i += 1
            continue
        end = text.find("-", i + 1)
        if end < 0:
            raise MailboxNameError(f"unterminated shift in {text!r}")
        chunk = text[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            try:
                data = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
                out.append(data.decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                raise MailboxNameError(f"bad modified UTF-7 in {text!r}") from None
        i = end + 1
    return "".join(out)
