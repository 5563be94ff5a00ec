"""FETCH: which attributes a client asked for, and their IMAP wire form.

ENVELOPE, BODYSTRUCTURE and sections come from the structure stored at delivery
(``mailserver.mime``), so nothing is parsed again here; rendered ENVELOPE/BODYSTRUCTURE
bytes are cached by message data id (message data never changes).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from sandbox.kernel.clock import VN_TZ

from .. import mime
from .parser import Atom, ParseError

MACROS = {"ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
          "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
          "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]}
SIMPLE = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "UID",
          "RFC822", "RFC822.HEADER", "RFC822.TEXT"}
_SECTION_ATT = re.compile(r"^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$", re.I)
_SECTION_SPEC = re.compile(r"^(?:\d+(?:\.\d+)*)?(?:\.?(HEADER|TEXT|MIME|HEADER\.FIELDS(?:\.NOT)?\s*\(([^)]*)\)))?$", re.I)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class Att:
    """One requested attribute. ``section`` is None for the simple ones."""

    name: str                     # FLAGS, UID, BODY, BODY.PEEK, RFC822, ...
    section: str | None = None    # e.g. "1.2.HEADER.FIELDS (FROM TO)" (normalised upper case)
    origin: int | None = None
    length: int | None = None

    @property
    def sets_seen(self) -> bool:
        return self.name in ("BODY", "RFC822", "RFC822.TEXT") and (self.section is not None or self.name != "BODY")

    @property
    def needs_content(self) -> bool:
        return self.name not in ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "UID")

    def label(self) -> bytes:
        """The name the response uses (``BODY[HEADER]<0>`` for a partial)."""
        if self.section is None:
            return self.name.encode()
        base = "BINARY" if self.name.startswith("BINARY") else "BODY"
        out = f"{base}[{self.section}]"
        if self.origin is not None:
            out += f"<{self.origin}>"
        return out.encode()


def parse_atts(tokens: list, uid_command: bool) -> list[Att]:
    """The attributes of a FETCH command (after the sequence set)."""
    if not tokens:
        raise ParseError("FETCH needs attributes")
    items = tokens[0] if isinstance(tokens[0], list) and len(tokens) == 1 else tokens
    if len(items) == 1 and isinstance(items[0], Atom) and items[0].upper() in MACROS and not isinstance(tokens[0], list):
        items = [Atom(x) for x in MACROS[items[0].upper()]]
    if not items:
        raise ParseError("empty FETCH attribute list")
    atts: list[Att] = []
    for tok in items:
        if not isinstance(tok, Atom):
            raise ParseError(f"bad FETCH attribute {tok!r}")
        up = tok.upper()
        if up in SIMPLE:
            atts.append(Att(up))
            continue
        m = _SECTION_ATT.match(tok)
        if not m:
            raise ParseError(f"unknown FETCH attribute {tok}")
        spec = m.group(2).strip()
        sm = _SECTION_SPEC.match(spec)
        if not sm or spec.upper().startswith("MIME"):  # MIME only after a part number
            raise ParseError(f"Invalid BODY[..] section {spec!r}")
        if sm.group(2) is not None:
            fields = sm.group(2).split()
            if not fields:
                raise ParseError("HEADER.FIELDS needs field names")
            head = spec[:spec.index("(")].rstrip().upper()
            spec = f"{head} ({' '.join(f.upper() for f in fields)})"
        else:
            spec = spec.upper()
        origin = int(m.group(3)) if m.group(3) is not None else None
        length = int(m.group(4)) if m.group(4) is not None else None
        if length == 0 and origin is None:
            raise ParseError("bad partial")
        atts.append(Att(m.group(1).upper(), spec, origin, length))
    if uid_command and not any(a.name == "UID" for a in atts):
        atts.insert(0, Att("UID"))
    return atts


def imap_date(when) -> bytes:
    t = when.astimezone(VN_TZ)
    off = t.utcoffset().total_seconds() // 60
    sign = "+" if off >= 0 else "-"
    off = abs(int(off))
    return f'"{t.day:02d}-{MONTHS[t.month - 1]}-{t.year} {t.hour:02d}:{t.minute:02d}:{t.second:02d} {sign}{off // 60:02d}{off % 60:02d}"'.encode()


def flags_list(flags) -> bytes:
    return b"(" + " ".join(sorted(flags)).encode() + b")"


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


class RenderCache:
    """Rendered ENVELOPE and BODYSTRUCTURE/BODY by (data id, kind)."""

    def __init__(self, size: int = 20000):
        self._lock = Lock()
        self._items: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._size = size

    def get(self, data_id: int, kind: str, structure: dict) -> bytes:
        key = (data_id, kind)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                return hit
        if kind == "ENVELOPE":
            value = mime.imap_envelope(structure)
        else:
            value = mime.imap_bodystructure(structure["root"], extensible=(kind == "BODYSTRUCTURE"))
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def render(msg, atts: list[Att], structure: dict | None, raw_loader, cache: RenderCache, flags=None) -> bytes:
    """The parenthesised FETCH data of one message."""
    parts = []
    for a in atts:
        n = a.name
        if n == "UID":
            parts.append(b"UID %d" % msg.uid)
        elif n == "FLAGS":
            parts.append(b"FLAGS " + flags_list(flags if flags is not None else msg.flags))
        elif n == "INTERNALDATE":
            parts.append(b"INTERNALDATE " + imap_date(msg.internal_date))
        elif n == "RFC822.SIZE":
            parts.append(b"RFC822.SIZE %d" % msg.size)
        elif n in ("ENVELOPE", "BODYSTRUCTURE", "BODY") and a.section is None:
            parts.append(n.encode() + b" " + cache.get(msg.data_id, n, structure))
        elif n == "RFC822":
            parts.append(b"RFC822 " + literal(mime.section_bytes(raw_loader(), structure, "")))
        elif n == "RFC822.HEADER":
            parts.append(b"RFC822.HEADER " + literal(mime.section_bytes(raw_loader(), structure, "HEADER")))
        elif n == "RFC822.TEXT":
            parts.append(b"RFC822.TEXT " + literal(mime.section_bytes(raw_loader(), structure, "TEXT")))
        else:
            data = mime.section_bytes(raw_loader(), structure, a.section)
            if a.origin is not None:
                data = data[a.origin:a.origin + a.length] if a.length is not None else data[a.origin:]
            parts.append(a.label() + b" " + literal(data))
    return b"(" + b" ".join(parts) + b")"
