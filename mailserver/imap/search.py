"""IMAP SEARCH (RFC 3501 §6.4.4): compile the search keys once, then match messages.

``compile_search(args)`` turns the tokens after ``SEARCH`` / ``UID SEARCH`` into a
``SearchProgram``; ``program.matches(msg, ctx)`` tests one message.  Syntax errors raise
``parser.ParseError`` (the server answers BAD); an unsupported ``CHARSET`` raises
``SearchError`` with ``code="BADCHARSET"`` (the server answers
``NO [BADCHARSET (UTF-8 US-ASCII)]``, the list being ``err.charsets``).

``msg``: ``seq``, ``uid``, ``flags`` (frozenset of str), ``recent``, ``internal_date``
(aware datetime), ``size`` (RFC822.SIZE).  ``ctx``: ``max_seq``, ``max_uid``, ``tz`` (for the
calendar date of internal dates) and ``content(msg) -> (raw, structure)``, called at most
once per ``matches`` call and only when a key needs the header or body
(``program.needs_content``).  Flag, size, date, sequence and UID keys never touch content,
and inside AND / OR they are tried before the keys that do.

Semantics (compared with dovecot-imapd 2.3.19; differences are deliberate and marked *):

* Strings are UTF-8.  ``CHARSET US-ASCII`` is read as UTF-8 too (its superset), as Dovecot
  does; bytes that are not valid UTF-8 are a syntax error (Dovecot: BAD "Invalid search
  key").  Charsets not in ``charset_allowed`` (e.g. KOI8-R, which Dovecot would convert)
  are answered BADCHARSET.
* Text keys are case-insensitive substring matches after ``mime.search_fold`` (NFC +
  casefold).  Diacritics stay distinct: "ca" does not find "cà", "a" does not find "ă"
  and "d" does not find "đ".  *Dovecot compares decomposed titlecase strings, so there
  "ca" finds "cà" (c, a, U+0300) and "co" finds "Công", while "cong" does not find
  "Công" and "da" does not find "Đà": a diacritic only ends a match, it never starts one.
  We keep Vietnamese letters whole, which is what a Vietnamese reader means.
* *Runs of whitespace count as one space, in the needle and in the text (headers are
  unfolded first).  Dovecot compresses only the raw Subject's whitespace (not inside
  encoded words, not the needle's), so "số   12" finds nothing there.
* Header keys match RFC 2047-decoded values (raw 8-bit UTF-8, else windows-1258, also
  decoded) of every occurrence of the field in the top-level header.  An empty string
  matches messages that have the field (SUBJECT "" too), as in Dovecot.
* FROM / TO / CC / BCC match the whole decoded header text, and also its normalised form
  ``Name <local@domain>, ...``.  *Dovecot matches only its own normalised form,
  ``"Name" <local@domain>``, so there FROM "Nguyen Van A <a@x.vn>" finds nothing.
* BODY matches the decoded text of every text/* part (transfer encoding and charset
  undone, attachments and parts of attached messages included); other parts are skipped,
  as in Dovecot.  *HTML is matched as text (tags dropped, entities decoded); Dovecot
  matches the HTML source, so "<b>" or "agrave" find it there and "bàn & ghế" does not.
* TEXT matches every header block ("Name: value" lines, MIME part headers and headers of
  attached messages included, as in Dovecot) and the BODY text.
* BEFORE / ON / SINCE compare the internal date's calendar date in ``ctx.tz``.
  SENTBEFORE / SENTON / SENTSINCE use the calendar date written in the (last) Date:
  header, in its own zone, as Dovecot does.  A message without a valid Date: counts as
  sent on 1 Jan 1970 (it matches every SENTBEFORE and no SENTON / SENTSINCE), as in
  Dovecot.
* Dates are ``d-Mon-yyyy`` or ``dd-Mon-yyyy``, atom or quoted, month case-insensitive.
  *An impossible date (32-Jan-2024, 29-Feb-2023) is a syntax error; Dovecot matches
  nothing.
* Sequence sets follow RFC 3501: ``*`` is ``ctx.max_seq`` / ``ctx.max_uid`` and ranges are
  unordered, so ``UID 5:*`` finds the last message when the largest UID is 3 (as in
  Dovecot) and *``5:*`` finds the last of 3 messages (Dovecot finds nothing there).
  Numbers out of range match nothing; 0 or more than 2^32-1 is a syntax error, and so is
  *a trailing comma (``1:2,``, which Dovecot reads as ``1:2``).  *``$`` (SEARCHRES) is not
  supported.
* KEYWORD / UNKEYWORD compare case-insensitively, as Dovecot; a name starting with "\\"
  is no keyword (KEYWORD \\Seen matches nothing), as Dovecot.  *An empty or non-printable
  keyword is a syntax error (Dovecot: matches nothing).
* Nesting (NOT / OR / parentheses) deeper than ``MAX_NESTING`` is a syntax error.
"""
from __future__ import annotations

import bisect
import codecs
import datetime
import email.utils
import html
import re

from mailserver import mime
from mailserver.imap.parser import Atom, ParseError, Str, is_sequence_set, parse_sequence_set

__all__ = ["SearchError", "SearchProgram", "compile_search", "MAX_NESTING"]

MAX_NESTING = 200          # NOT / OR / list levels; keeps compiling and matching off the recursion limit
_MAX_NZ = 2 ** 32 - 1      # RFC 3501 nz-number
_MAX_SIZE = 2 ** 63 - 1    # RFC 9051 number64
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DATE_RE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_WS_RE = re.compile(r"\s+")
_FILLERS = {"MISSING_MAILBOX", "MISSING_DOMAIN", "SYNTAX_ERROR"}   # mime's Dovecot fillers


class SearchError(Exception):
    """A well-formed SEARCH the server refuses (answered NO).  ``code`` is the response
    code, e.g. "BADCHARSET"; ``charsets`` the supported charsets to list with it."""

    def __init__(self, message: str, code: str | None = None, charsets: tuple = ()):
        super().__init__(message)
        self.code = code
        self.charsets = tuple(charsets)


# ----------------------------------------------------------------------------- text helpers
def _fold(text: str) -> str:
    """The form both needle and text are compared in."""
    return _WS_RE.sub(" ", mime.search_fold(text))


# Linear on hostile input: an unclosed script / style / comment runs to the end (as in a
# browser), and a tag ends at the next "<" at the latest.
_HTML_DROP = re.compile(r"(?is)<(script|style)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)")
_HTML_BLOCK = re.compile(r"(?i)</?(?:p|div|br|hr|tr|td|th|li|ul|ol|dl|dt|dd|table|h[1-6]|"
                         r"blockquote|pre|title|section|article|header|footer)\b[^<>]*>")
_HTML_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")


def _html_text(s: str) -> str:
    """HTML as a reader sees it: block tags break words, inline tags do not."""
    s = _HTML_DROP.sub(" ", s)
    s = _HTML_BLOCK.sub("\n", s)
    return html.unescape(_HTML_TAG.sub("", s))


def _header_fields(block: bytes) -> list[tuple[str, str]]:
    """(lower-case name, raw value as a latin-1 str, folding kept) of a header block."""
    out: list[list[str]] = []
    for line in re.split(rb"\r?\n", block):
        if not line:
            break                                   # blank line: end of the header
        if line[:1] in (b" ", b"\t"):
            if out:
                out[-1][1] += "\r\n" + line.decode("latin-1")
            continue
        name, colon, value = line.partition(b":")
        if colon:
            out.append([name.rstrip(b" \t").decode("latin-1").lower(),
                        value.lstrip(b" \t").decode("latin-1")])
    return [(n, v) for n, v in out]


def _part_text(raw: bytes, part: dict) -> str:
    """Decoded text of a text/* part.  Uses mime's own transfer decoder and lenient charset
    decoder (unknown charset: UTF-8, else windows-1258), so search sees what the webmail
    shows; they are private there only because nothing else needed them yet."""
    text = mime.part_text(raw, part)
    return _html_text(text) if part["subtype"] == "html" else text


def _nodes(root: dict):
    """Every part of a message in order: multipart containers, leaves, attached messages'
    roots and their parts."""
    stack = [root]
    while stack:
        p = stack.pop()
        yield p
        if "parts" in p:
            stack.extend(reversed(p["parts"]))
        elif "message" in p:
            stack.append(p["message"]["root"])


def _sent_date(value) -> datetime.date | None:
    """The calendar date written in a Date: header, in its own zone."""
    if value is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(mime.decode_words(value)).date()
    except Exception:       # garbage dates: None, never raise
        return None


class _Content:
    """Lazily loaded and decoded content of one message, for one ``matches`` call."""

    __slots__ = ("msg", "ctx", "_raw", "_structure", "_fields", "_values", "_addrs", "_body",
                 "_headers_text", "_sent")

    def __init__(self, msg, ctx):
        self.msg, self.ctx = msg, ctx
        self._raw = self._structure = self._fields = self._body = self._headers_text = None
        self._values: dict = {}
        self._addrs: dict = {}
        self._sent = False

    def load(self):
        if self._raw is None:
            self._raw, self._structure = self.ctx.content(self.msg)
        return self._raw, self._structure

    def fields(self) -> list:
        if self._fields is None:
            raw, s = self.load()
            root = s["root"]
            self._fields = _header_fields(raw[root["hstart"]:root["hend"]])
        return self._fields

    def values(self, name: str) -> list[str]:
        """Folded decoded values of every occurrence of a top-level header field."""
        v = self._values.get(name)
        if v is None:
            v = self._values[name] = [_fold(mime.decode_words(val))
                                      for n, val in self.fields() if n == name]
        return v

    def addresses(self, name: str) -> list[str]:
        """Decoded header texts plus the normalised address list, folded."""
        v = self._addrs.get(name)
        if v is None:
            v = list(self.values(name))
            if v:
                items = []
                for a in self.load()[1]["envelope"].get(name) or []:
                    if a[3] is None:                # group start / end marker
                        continue
                    box = "" if a[2] in _FILLERS else mime.decode_words(a[2] or "")
                    host = "" if a[3] in _FILLERS else mime.decode_words(a[3])
                    addr = box + "@" + host if box and host else box
                    disp = mime.decode_words(a[0]) if a[0] else ""
                    items.append("%s <%s>" % (disp, addr) if disp and addr else disp or addr)
                v.append(_fold(", ".join(items)))
            self._addrs[name] = v
        return v

    def body(self) -> str:
        if self._body is None:
            raw, s = self.load()
            self._body = _fold("\n".join(_part_text(raw, p) for p in _nodes(s["root"])
                                         if "parts" not in p and "message" not in p
                                         and p["type"] == "text"))
        return self._body

    def headers_text(self) -> str:
        if self._headers_text is None:
            raw, s = self.load()
            lines = []
            for p in _nodes(s["root"]):
                if p["hend"] > p["hstart"]:
                    lines += ["%s: %s" % (n, mime.decode_words(v))
                              for n, v in _header_fields(raw[p["hstart"]:p["hend"]])]
            self._headers_text = _fold("\n".join(lines))
        return self._headers_text

    def sent_date(self) -> datetime.date:
        if self._sent is False:
            self._sent = _sent_date(self.load()[1]["envelope"].get("date"))
            if self._sent is None:      # no valid Date: 1 January 1970, as Dovecot does
                self._sent = datetime.date(1970, 1, 1)
        return self._sent


def _internal_day(msg, ctx) -> datetime.date:
    d = msg.internal_date
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.astimezone(getattr(ctx, "tz", None) or datetime.timezone.utc).date()


# ----------------------------------------------------------------------------- the program
class SearchProgram:
    """A compiled search.  ``needs_content``: whether any key needs the header or body."""

    __slots__ = ("needs_content", "_fn", "_text")

    def __init__(self, fn, needs_content: bool, text: str):
        self._fn, self.needs_content, self._text = fn, needs_content, text

    def matches(self, msg, ctx) -> bool:
        return self._fn(msg, ctx, _Content(msg, ctx) if self.needs_content else None)

    def __repr__(self) -> str:
        return "<SearchProgram %s>" % self._text


# Compiled tree: ("all",), ("leaf", fn, needs_content, text), ("and", [nodes]),
# ("or", [nodes]), ("not", node).  fn(msg, ctx, content) -> bool.

def _needs(node) -> bool:
    kind = node[0]
    if kind == "leaf":
        return node[2]
    if kind in ("and", "or"):
        return any(_needs(c) for c in node[1])
    return kind == "not" and _needs(node[1])


def _describe(node) -> str:
    kind = node[0]
    if kind == "all":
        return "ALL"
    if kind == "leaf":
        return node[3]
    if kind == "not":
        return "NOT " + _describe(node[1])
    inner = " ".join(_describe(c) for c in node[1])
    return "(%s)" % inner if kind == "and" else "(OR %s)" % inner


def _and(children: list):
    flat = []
    for c in children:
        if c[0] == "and":
            flat.extend(c[1])
        elif c[0] != "all":
            flat.append(c)
    if not flat:
        return ("all",)
    if len(flat) == 1:
        return flat[0]
    flat.sort(key=_needs)           # stable: keys without content first
    return ("and", flat)


def _or(a, b):
    if a[0] == "all" or b[0] == "all":
        return ("all",)
    flat = [x for c in (a, b) for x in (c[1] if c[0] == "or" else [c])]
    flat.sort(key=_needs)
    return ("or", flat)


def _not(a):
    return a[1] if a[0] == "not" else ("not", a)


def _build(node):
    """The tree as one closure."""
    kind = node[0]
    if kind == "all":
        return lambda m, c, s: True
    if kind == "leaf":
        return node[1]
    if kind == "not":
        f = _build(node[1])
        return lambda m, c, s: not f(m, c, s)
    fns = [_build(x) for x in node[1]]
    if kind == "and":
        if len(fns) == 2:
            f, g = fns
            return lambda m, c, s: f(m, c, s) and g(m, c, s)
        return lambda m, c, s: all(f(m, c, s) for f in fns)
    if len(fns) == 2:
        f, g = fns
        return lambda m, c, s: f(m, c, s) or g(m, c, s)
    return lambda m, c, s: any(f(m, c, s) for f in fns)


# ----------------------------------------------------------------------------- keys
_SYSTEM_FLAGS = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft",
                 "FLAGGED": "\\Flagged", "SEEN": "\\Seen"}
_HEADER_KEYS = {"SUBJECT": "subject"}
_ADDRESS_KEYS = {"FROM": "from", "TO": "to", "CC": "cc", "BCC": "bcc"}


def _flag_leaf(flag: str, want: bool, text: str):
    if want:
        return ("leaf", lambda m, c, s: flag in m.flags, False, text)
    return ("leaf", lambda m, c, s: flag not in m.flags, False, text)


def _keyword_leaf(kw: str, want: bool, text: str):
    low = kw.lower()
    if kw.startswith("\\"):       # a system flag is no keyword (Dovecot: never matches)
        return ("leaf", lambda m, c, s: not want, False, text)

    def has(m, c, s):
        flags = m.flags
        return kw in flags or any(f.lower() == low for f in flags if not f.startswith("\\"))
    if want:
        return ("leaf", has, False, text)
    return ("leaf", lambda m, c, s: not has(m, c, s), False, text)


def _set_leaf(token: Atom, uid: bool, text: str):
    for n in re.findall(r"\d+", token):
        if int(n) > _MAX_NZ:
            raise ParseError("number too big in sequence set %r" % str(token))
    parse_sequence_set(token, 1)            # 0 and other errors: ParseError now
    cache: list = [None, None, None]        # largest, range starts, range ends

    def ranges(largest: int):
        if cache[0] != largest:
            merged: list[list[int]] = []
            for lo, hi in sorted(parse_sequence_set(token, largest)):
                if merged and lo <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            cache[:] = [largest, [r[0] for r in merged], [r[1] for r in merged]]
        return cache[1], cache[2]

    def match(m, c, s):
        n, largest = (m.uid, c.max_uid) if uid else (m.seq, c.max_seq)
        starts, ends = ranges(largest)
        i = bisect.bisect_right(starts, n) - 1
        return i >= 0 and n <= ends[i]
    return ("leaf", match, False, text)


def _date_leaf(key: str, day: datetime.date, text: str):
    op = key.replace("SENT", "")
    if key.startswith("SENT"):
        def get(m, c, s):
            return s.sent_date()
    else:
        def get(m, c, s):
            return _internal_day(m, c)
    if op == "BEFORE":
        fn = lambda m, c, s: get(m, c, s) < day          # noqa: E731
    elif op == "ON":
        fn = lambda m, c, s: get(m, c, s) == day         # noqa: E731
    else:
        fn = lambda m, c, s: get(m, c, s) >= day         # noqa: E731
    return ("leaf", fn, key.startswith("SENT"), text)


def _header_leaf(name: str, needle: str, text: str):
    return ("leaf", lambda m, c, s: any(needle in v for v in s.values(name)), True, text)


def _address_leaf(name: str, needle: str, text: str):
    return ("leaf", lambda m, c, s: any(needle in v for v in s.addresses(name)), True, text)


class _Compiler:
    def __init__(self, tokens: list, codec: str):
        self.toks, self.i, self.codec = tokens, 0, codec

    def next(self, what: str, key: str):
        if self.i >= len(self.toks):
            raise ParseError("missing %s after %s" % (what, key) if key else "missing %s" % what)
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def string(self, key: str, what: str = "string") -> str:
        tok = self.next(what, key)
        if isinstance(tok, Str):
            try:
                return bytes(tok).decode(self.codec)
            except UnicodeDecodeError:
                raise ParseError("search string for %s is not valid %s" % (key, self.codec)) from None
        if isinstance(tok, Atom):
            return str(tok)
        raise ParseError("unexpected list after search key %s" % key)

    def date(self, key: str) -> datetime.date:
        text = self.string(key, "date")
        m = _DATE_RE.fullmatch(text)
        month = _MONTHS.get(m.group(2).upper()) if m else None
        if month is None:
            raise ParseError("bad date %r for search key %s (d-Mon-yyyy)" % (text, key))
        try:
            return datetime.date(int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            raise ParseError("no such date %r for search key %s" % (text, key)) from None

    def number(self, key: str) -> int:
        text = self.string(key, "number")
        if not re.fullmatch(r"\d{1,19}", text) or int(text) > _MAX_SIZE:
            raise ParseError("bad number %r for search key %s" % (text, key))
        return int(text)

    def program(self):
        if not self.toks:
            raise ParseError("missing search keys")
        nodes = []
        while self.i < len(self.toks):
            nodes.append(self.key(0))
        return _and(nodes)

    def key(self, depth: int, after: str = ""):
        if depth > MAX_NESTING:
            raise ParseError("search keys nested too deeply")
        tok = self.next("search key", after)
        if isinstance(tok, list):
            if not tok:
                raise ParseError("empty list of search keys")
            sub = _Compiler(tok, self.codec)
            nodes = []
            while sub.i < len(tok):
                nodes.append(sub.key(depth + 1))
            return _and(nodes)
        if isinstance(tok, Str):
            raise ParseError("a string is no search key: %r" % bytes(tok)[:50])
        if is_sequence_set(tok):
            return _set_leaf(tok, False, str(tok))
        k = tok.upper()
        if k == "ALL":
            return ("all",)
        if k in _SYSTEM_FLAGS:
            return _flag_leaf(_SYSTEM_FLAGS[k], True, k)
        if k.startswith("UN") and k[2:] in _SYSTEM_FLAGS:
            return _flag_leaf(_SYSTEM_FLAGS[k[2:]], False, k)
        if k in ("KEYWORD", "UNKEYWORD"):
            kw = self.string(k, "keyword")
            if not kw or not re.fullmatch(r"[\x21-\x7e]+", kw):
                raise ParseError("bad keyword %r" % kw)
            return _keyword_leaf(kw, k == "KEYWORD", "%s %s" % (k, kw))
        if k == "RECENT":
            return ("leaf", lambda m, c, s: m.recent, False, k)
        if k == "OLD":
            return ("leaf", lambda m, c, s: not m.recent, False, k)
        if k == "NEW":
            return ("leaf", lambda m, c, s: m.recent and "\\Seen" not in m.flags, False, k)
        if k == "LARGER":
            n = self.number(k)
            return ("leaf", lambda m, c, s: m.size > n, False, "%s %d" % (k, n))
        if k == "SMALLER":
            n = self.number(k)
            return ("leaf", lambda m, c, s: m.size < n, False, "%s %d" % (k, n))
        if k in ("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"):
            day = self.date(k)
            return _date_leaf(k, day, "%s %s" % (k, day.isoformat()))
        if k == "UID":
            tok = self.next("UID set", k)
            if not is_sequence_set(tok):
                raise ParseError("bad UID set %r" % (tok,))
            return _set_leaf(tok, True, "UID " + tok)
        if k == "NOT":
            return _not(self.key(depth + 1, k))
        if k == "OR":
            a = self.key(depth + 1, k)
            return _or(a, self.key(depth + 1, k))
        if k in _HEADER_KEYS:
            s = self.string(k)
            return _header_leaf(_HEADER_KEYS[k], _fold(s), "%s %r" % (k, s))
        if k in _ADDRESS_KEYS:
            s = self.string(k)
            return _address_leaf(_ADDRESS_KEYS[k], _fold(s), "%s %r" % (k, s))
        if k == "HEADER":
            name = self.string(k, "field name")
            s = self.string(k)
            return _header_leaf(name.lower(), _fold(s), "HEADER %s %r" % (name, s))
        if k == "BODY":
            s = self.string(k)
            needle = _fold(s)
            return ("leaf", lambda m, c, st: needle in st.body(), True, "BODY %r" % s)
        if k == "TEXT":
            s = self.string(k)
            needle = _fold(s)
            return ("leaf", lambda m, c, st: needle in st.headers_text() or needle in st.body(),
                    True, "TEXT %r" % s)
        raise ParseError("unknown search key %s" % tok)


def _codec_name(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def compile_search(args: list, *, charset_allowed=("UTF-8", "US-ASCII")) -> SearchProgram:
    """Compile the arguments of SEARCH (tokens from ``parser.tokenize``, possibly starting
    with ``CHARSET name``).  ParseError for bad syntax, SearchError(code="BADCHARSET") for
    a charset not in ``charset_allowed``."""
    args = list(args)
    codec = "utf-8"
    if args and isinstance(args[0], Atom) and args[0].upper() == "CHARSET":
        if len(args) < 2 or isinstance(args[1], list):
            raise ParseError("missing charset name")
        name = args[1] if isinstance(args[1], Atom) else bytes(args[1]).decode("ascii", "replace")
        wanted = _codec_name(name)
        allowed = {_codec_name(a) for a in charset_allowed} - {None}
        if wanted is None or wanted not in allowed:
            raise SearchError("unsupported charset %s" % name, code="BADCHARSET",
                              charsets=charset_allowed)
        # US-ASCII strings are read as UTF-8, its superset (Dovecot does the same)
        codec = "utf-8" if wanted in ("utf-8", "ascii") else wanted
        args = args[2:]
    tree = _Compiler(args, codec).program()
    return SearchProgram(_build(tree), _needs(tree), _describe(tree))
