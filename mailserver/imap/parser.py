"""IMAP command syntax: the tokens of one complete command (literals already read in).

Tokens are ``Atom`` (an unquoted atom; a fetch attribute such as
``BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>`` stays one atom), ``Str`` (a quoted string or
a literal, as bytes) and ``list`` (a parenthesised list). ``NIL`` is the atom ``NIL``.
"""
from __future__ import annotations

import re

MAX_DEPTH = 32


class ParseError(Exception):
    """The command is not valid IMAP syntax (answered with a tagged BAD)."""


class Atom(str):
    """An unquoted atom; compare case-insensitively with ``.upper()``."""


class Str(bytes):
    """A quoted string or a literal."""

    def text(self) -> str:
        return self.decode("utf-8", "replace")


_LITERAL_RE = re.compile(rb"\{(\d{1,10})(\+?)\}\r\n")
# RFC 3501's atom-specials less "%", "*" and "\\": LIST patterns, sequence sets and flags
# are read as atoms too, and checked where they are used.
ATOM_STOP = b'(){ "' + bytes(range(0, 32)) + b"\x7f"


def literal_at_end(line: bytes) -> tuple[int, bool] | None:
    """If a command line ends with a literal announcement ``{n}`` / ``{n+}`` (CRLF
    included), return (n, non-synchronising); else None."""
    m = re.search(rb"\{(\d{1,10})(\+?)\}\r?\n$", line)
    return (int(m.group(1)), m.group(2) == b"+") if m else None


def tokenize(buf: bytes, pos: int = 0) -> list:
    """All tokens of ``buf`` (a command without its final CRLF)."""
    out, pos = _sequence(buf, pos, 0)
    if pos != len(buf):
        raise ParseError(f"unexpected {buf[pos:pos + 1]!r} at {pos}")
    return out


def _sequence(buf: bytes, pos: int, depth: int, closing: bytes | None = None) -> tuple[list, int]:
    if depth > MAX_DEPTH:
        raise ParseError("lists nested too deeply")
    items: list = []
    n = len(buf)
    while pos < n:
        c = buf[pos:pos + 1]
        if c == b" ":
            pos += 1
            continue
        if closing is not None and c == closing:
            return items, pos + 1
        if c == b"(":
            sub, pos = _sequence(buf, pos + 1, depth + 1, b")")
            items.append(sub)
        elif c == b'"':
            s, pos = _quoted(buf, pos + 1)
            items.append(s)
        elif c == b"{":
            m = _LITERAL_RE.match(buf, pos)
            if not m:
                raise ParseError("bad literal announcement")
            size = int(m.group(1))
            start = m.end()
            if start + size > n:
                raise ParseError("literal shorter than announced")
            items.append(Str(buf[start:start + size]))
            pos = start + size
        elif c == b")":
            raise ParseError("unbalanced ')'")
        else:
            a, pos = _atom(buf, pos)
            items.append(a)
    if closing is not None:
        raise ParseError("missing ')'")
    return items, pos


def _quoted(buf: bytes, pos: int) -> tuple[Str, int]:
    out = bytearray()
    n = len(buf)
    while pos < n:
        c = buf[pos]
        if c == 0x22:
            return Str(bytes(out)), pos + 1
        if c == 0x5C:
            if pos + 1 >= n or buf[pos + 1] not in (0x22, 0x5C):
                raise ParseError("bad escape in quoted string")
            out.append(buf[pos + 1])
            pos += 2
            continue
        if c in (0x0D, 0x0A):
            raise ParseError("CR or LF in quoted string")
        out.append(c)
        pos += 1
    raise ParseError("unterminated quoted string")


def _atom(buf: bytes, pos: int) -> tuple[Atom, int]:
    start = pos
    n = len(buf)
    while pos < n:
        c = buf[pos]
        if c == 0x5B:  # '[': a section spec runs to its ']' with spaces and lists inside
            end = buf.find(b"]", pos)
            if end < 0:
                raise ParseError("missing ']'")
            pos = end + 1
            if pos < n and buf[pos] == 0x3C:  # <partial>
                end = buf.find(b">", pos)
                if end < 0:
                    raise ParseError("missing '>'")
                pos = end + 1
            continue
        if c in ATOM_STOP or c == 0x5D:
            break
        pos += 1
    if pos == start:
        raise ParseError(f"unexpected {buf[pos:pos + 1]!r}")
    try:
        return Atom(buf[start:pos].decode("ascii")), pos
    except UnicodeDecodeError:
        raise ParseError("8-bit characters in an atom") from None


def parse_command(buf: bytes) -> tuple[str, str, list]:
    """(tag, upper-case command name, argument tokens). ``UID FETCH`` gives command ``UID``
    with ``FETCH`` as first argument. Raises ``ParseError``; if even the tag is unreadable,
    the error's ``tag`` attribute is ``"*"``."""
    m = re.match(rb"([^\x00-\x20(){%*\"\\\]\x7f-\xff+]+) ([A-Za-z]+)(?: |$)", buf)  # a tag is ASCII
    if not m:
        err = ParseError("no tag or command")
        tag = buf.split(b" ", 1)[0]
        err.tag = tag.decode("ascii", "replace") if tag and re.fullmatch(rb"[\x21-\x7e]+", tag) else "*"
        raise err
    tag = m.group(1).decode("ascii")
    try:
        args = tokenize(buf, m.end())
    except ParseError as e:
        e.tag = tag
        raise
    return tag, m.group(2).decode("ascii").upper(), args


# --- sequence sets -------------------------------------------------------------------------

_SEQ_RE = re.compile(r"^(\d+|\*)(?::(\d+|\*))?$")


def parse_sequence_set(text: str, largest: int) -> list[tuple[int, int]]:
    """``1:3,5,7:*`` → ranges [(1, 3), (5, 5), (7, largest)], each low ≤ high. ``*`` is the
    largest number in use (the last sequence number or UID); with an empty mailbox ``*`` is 0."""
    if not isinstance(text, str) or not text:
        raise ParseError("missing sequence set")
    ranges = []
    for part in text.split(","):
        m = _SEQ_RE.match(part)
        if not m:
            raise ParseError(f"bad sequence set {text!r}")
        a = largest if m.group(1) == "*" else int(m.group(1))
        b = a if m.group(2) is None else (largest if m.group(2) == "*" else int(m.group(2)))
        if (m.group(1) != "*" and a == 0) or (m.group(2) not in (None, "*") and b == 0):
            raise ParseError(f"0 in sequence set {text!r}")
        ranges.append((min(a, b), max(a, b)))
    return ranges


def in_ranges(n: int, ranges: list[tuple[int, int]]) -> bool:
    return any(lo <= n <= hi for lo, hi in ranges)


def is_sequence_set(token) -> bool:
    return isinstance(token, Atom) and bool(re.fullmatch(r"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*", token))


# --- writing ---------------------------------------------------------------------------------

def quote(value: str | bytes | None) -> bytes:
    """An IMAP string: NIL, a quoted string, or a literal when quoting cannot carry it."""
    if value is None:
        return b"NIL"
    data = value.encode("utf-8") if isinstance(value, str) else value
    if any(b in (0x0D, 0x0A, 0x00) or b > 0x7F for b in data) or len(data) > 1000:
        return b"{%d}\r\n" % len(data) + data
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
