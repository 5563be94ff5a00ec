"""E-mail address handling shared by every door."""
from __future__ import annotations

import re
import unicodedata
from email.utils import parseaddr

from .errors import MailError

_ADDR_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def normalize_address(value: str) -> str:
    """Lower-cased, trimmed, NFC address; raises ``MailError`` (553) when it is not one."""
    addr = unicodedata.normalize("NFC", (value or "").strip().strip("<>").strip()).lower()
    if not _ADDR_RE.match(addr):
        raise MailError(f"Địa chỉ thư không hợp lệ: «{value.strip()}».", f"invalid address {value!r}", code=553)
    return addr


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1]


def _split_entries(text: str) -> list[str]:
    """Split on commas and semicolons that are not inside quotes or angle brackets."""
    entries, current, quoted, angle = [], [], False, False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == "<" and not quoted:
            angle = True
        elif c == ">" and not quoted:
            angle = False
        elif c in ",;" and not quoted and not angle:
            entries.append("".join(current))
            current = []
            continue
        current.append(c)
    entries.append("".join(current))
    return [e.strip() for e in entries if e.strip()]


def parse_address_list(text: str) -> list[tuple[str, str]]:
    """Split what a person typed into a To/CC/BCC field ("A <a@x>, b@y; c@z") into
    (name, address) pairs with validated addresses. Raises ``MailError`` naming the whole
    entry that is not an address."""
    pairs = []
    for entry in _split_entries(text or ""):
        name, addr = parseaddr(entry)
        if not addr or "@" not in addr or (not name and addr.strip() != entry.strip("<> ")):
            raise MailError(f"Địa chỉ thư không hợp lệ: «{entry}».", f"bad address {entry!r}", code=553)
        try:
            address = normalize_address(addr)
        except MailError:
            raise MailError(f"Địa chỉ thư không hợp lệ: «{entry}».", f"bad address {entry!r}", code=553) from None
        pairs.append((unicodedata.normalize("NFC", name.strip()), address))
    return pairs
