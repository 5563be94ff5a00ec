"""E-mail address handling shared by every door."""
from __future__ import annotations

import re
import unicodedata
from email.utils import getaddresses

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


def parse_address_list(text: str) -> list[tuple[str, str]]:
    """Split what a person typed into a To/CC/BCC field ("A <a@x>, b@y; c@z") into
    (name, address) pairs with validated addresses. Raises ``MailError`` naming the bad one."""
    text = (text or "").replace(";", ",")
    pairs = []
    for name, addr in getaddresses([text]):
        if not addr and not name:
            continue
        if not addr or "@" not in addr:
            raise MailError(f"Địa chỉ thư không hợp lệ: «{(name or addr).strip()}».", f"bad address in {text!r}", code=553)
        pairs.append((unicodedata.normalize("NFC", name.strip()), normalize_address(addr)))
    return pairs
