"""Parse a raw RFC 5322 message once, at delivery, into a JSON-serialisable structure.

The IMAP server answers ENVELOPE, BODYSTRUCTURE and BODY[section] from the stored
structure and byte offsets without re-parsing; its answers are Dovecot 2.3's (compared
byte for byte with dovecot-imapd 2.3.19 on hand-made, generated and fuzzed messages,
including its handling of broken input).  The webmail gets decoded views.

parse_structure(raw) -> {"envelope": ENV, "root": PART, "size": len(raw),
    "vsize": RFC822.SIZE (bare LF counted as CRLF), "lines": LF count, "bare_lf": bool}

ENV: "date", "subject", "in_reply_to", "message_id": raw str or None; "from", "sender",
    "reply_to", "to", "cc", "bcc": None or [[name, adl, mailbox, host], ...] with RFC 3501
    group markers ([None, None, group, None] ... [None, None, None, None]) and Dovecot's
    fillers for broken addresses (MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR,
    INVALID_ROUTE).  Sender and Reply-To default to From.  Like Dovecot, the last
    Subject/Date/Message-ID/In-Reply-To wins and repeated address headers add up.

PART: "hstart"/"hend" header block (hend = body start, after the blank line);
    "bstart"/"bend" body; the CRLF before a boundary line belongs to the boundary.
    "type"/"subtype": lower-case; "raw_type": [type, subtype] as written (None if absent;
    ["", ""] if unparsable, as Dovecot); "params": [[name, value], ...] with names and
    values as written, plain ones in header order, then RFC 2231 ones merged and sorted
    by name (Dovecot's order; "charset" "us-ascii" is added only when serialising text
    parts, as Dovecot does); "charset": lower-case, text/* only; "encoding" (default
    "7bit"), "id", "description", "md5", "location": as written or None; "language":
    [tag, ...] or None; "disposition": [type, params or None] or None; "size": body size
    (bare LF counted as CRLF, as IMAP sees it); "lines": LF count for text/* and
    message/rfc822, else None; "filename": decoded, NFC, or None.  multipart/* parts have
    "parts" (possibly empty); message/rfc822 parts have "message": {"envelope", "root"}
    with offsets into the outer bytes.

Raw header strings are the header bytes decoded as latin-1, so every byte survives JSON
(raw_text(s) gives the bytes back); folding line breaks are kept, since Dovecot's output
depends on them (a folded Subject goes out as a literal).  NUL in headers is stored as
U+FFFD in UTF-8 (Dovecot's replacement), so PostgreSQL's jsonb accepts the structure.
section_bytes returns CRLF line endings and NUL as 0x80, as Dovecot sends them.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import datetime
import email.utils
import html
import mimetypes
import re
import unicodedata
import urllib.parse

__all__ = ["MimeError", "parse_structure", "raw_text", "imap_envelope", "imap_bodystructure",
           "section_bytes", "decoded_headers", "decode_words", "body_parts", "part_payload",
           "search_fold", "searchable_text", "part_text"]

MAX_DEPTH = 100          # Dovecot's default message_max_nested_mime_parts (root included)
MAX_PARTS = 10000        # Dovecot's default message_max_total_mime_parts
_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~") | {chr(c) for c in range(48, 58)} | \
    {chr(c) for c in range(65, 91)} | {chr(c) for c in range(97, 123)} | {chr(c) for c in range(128, 256)}
_TOKEN = (_ATEXT - frozenset("/=?")) | {"."}
_ENV_KEYS = ("date", "subject", "from", "sender", "reply_to", "to", "cc", "bcc",
             "in_reply_to", "message_id")
_ADDR_HEADERS = {"from": "from", "sender": "sender", "reply-to": "reply_to", "to": "to",
                 "cc": "cc", "bcc": "bcc"}
_STR_HEADERS = {"date": "date", "subject": "subject", "in-reply-to": "in_reply_to",
                "message-id": "message_id"}


class MimeError(ValueError):
    """Input is not a message at all.  str(e) is English detail, .message_vi is for users."""

    def __init__(self, detail: str, message_vi: str):
        super().__init__(detail)
        self.message_vi = message_vi


def raw_text(s: str) -> bytes:
    """Return the original header bytes of a raw string stored in the structure."""
    return s.encode("latin-1")


# ----------------------------------------------------------------------------- RFC 822 tokens
class _P:
    """Tiny RFC 822 tokenizer mirroring Dovecot's lenient parser.  Return codes:
    <0 error, 0 end of input, >0 more input follows."""

    def __init__(self, s: str):
        self.s, self.i, self.n, self.comment = s, 0, len(s), ""

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def lwsp(self) -> int:
        s, i, n = self.s, self.i, self.n
        while i < n:
            c = s[i]
            if c in " \t\r\n":
                i += 1
            elif c == "(":                        # comment, kept for address names
                self.i = i
                self.comment, ok = self._delimited(")", nest=True)
                if not ok:
                    return -1
                i = self.i
            else:
                break
        self.i = i
        return 1 if i < n else 0

    def run(self, chars) -> str:
        s, i, n = self.s, self.i, self.n
        while i < n and s[i] in chars:
            i += 1
        out, self.i = s[self.i:i], i
        return out

    def token(self):
        return self.run(_TOKEN), self.lwsp()

    def _delimited(self, close, nest=False):
        """Read a quoted string or comment opened at self.i: (content, ok).  Escapes are
        undone and folding (CR)LF dropped; if unterminated, the content is what Dovecot
        had flushed: up to the last escape or line break."""
        s, i, n, buf, flushed, depth = self.s, self.i + 1, self.n, [], 0, 1
        while i < n:
            c = s[i]
            if c == "\\":
                if i + 1 >= n:
                    break
                flushed = len(buf)
                buf.append(s[i + 1])
                i += 2
                continue
            if c == "\n":
                if buf and buf[-1] == "\r":
                    buf.pop()
                flushed = len(buf)
            elif c == close and depth == 1:
                self.i = i + 1
                return "".join(buf), True
            else:
                if nest:
                    depth += (c == "(") - (c == ")")
                buf.append(c)
            i += 1
        self.i = n
        return "".join(buf[:flushed]), False

    def quoted(self):
        text, ok = self._delimited('"')
        return text, self.lwsp() if ok else -1

    def dot_atom(self):
        if self.peek() not in _ATEXT or not self.peek():
            return "", -1
        parts = [self.run(_ATEXT)]
        r = self.lwsp()
        while r > 0 and self.peek() == ".":
            self.i += 1
            if self.lwsp() <= 0 or self.peek() not in _ATEXT:
                return ".".join(parts) + ".", -1
            parts.append(self.run(_ATEXT))
            r = self.lwsp()
        return ".".join(parts), r

    def domain(self):
        self.i += 1  # '@'
        if self.lwsp() <= 0:
            return "", -1
        if self.peek() == "[":
            j = self.s.find("]", self.i)
            if j < 0:
                self.i = self.n
                return "", -1
            out, self.i = self.s[self.i:j + 1], j + 1
            return out, self.lwsp()
        return self.dot_atom()

    def phrase(self):
        if self.i >= self.n:
            return "", 0
        if self.peek() == ".":
            return "", -1
        out = ""
        while True:
            if self.peek() == '"':
                w, r = self.quoted()
            else:
                w, r = self.run(_ATEXT | {"."}), self.lwsp()
            out += w
            if r <= 0:
                return out, r
            c = self.peek()
            if c not in _ATEXT and c not in '".':
                return out, self.lwsp()
            out += " "


def _params(p: _P) -> list:
    """MIME parameters with Dovecot's RFC 2231 merging (continuations sorted, appended last)."""
    plain, ext, last_idx = [], [], 0
    while p.i < p.n:
        key = None
        if p.peek() == ";":
            p.i += 1
            if p.lwsp() > 0:
                key, r = p.token()
        if key is None or r <= 0 or p.peek() != "=":
            p.i += 1                              # garbage: skip a char and retry, like Dovecot
            continue
        p.i += 1
        r = p.lwsp()
        if r <= 0:
            val = ""
        elif p.peek() == '"':
            val, r = p.quoted()
        elif p.peek() == "=":
            val = p.run(set(map(chr, range(256))) - set("; \t\r\n\x00"))
        else:
            val, r = p.token()
        if r < 0:
            p.i += 1
            continue
        star = key.find("*")
        if star >= 0:                             # RFC 2231 name*[N][*]
            rest, extended = key[star + 1:], True
            if rest:       # a bare "name*" reuses the previous index: Dovecot's quirk
                digits = re.match(r"\d*", rest).group()
                last_idx, rest = int(digits or 0), rest[len(digits):]
                extended, rest = rest[:1] == "*", rest[1:] if rest[:1] == "*" else rest
            if not rest:
                ext.append((key[:star], last_idx, extended, val))
                continue
        plain.append([key, val])
    ext.sort(key=lambda e: (e[0], e[1]))
    i = 0
    while i < len(ext):
        j = i
        while j < len(ext) and ext[j][0] == ext[i][0]:
            j += 1
        grp = ext[i:j]
        if any(e[1] != k for k, e in enumerate(grp)):
            plain += [["%s*%d%s" % (e[0], e[1], "*" if e[2] else ""), e[3]] for e in grp]
        else:
            has_ext = any(e[2] for e in grp)
            val = "''" if has_ext and not grp[0][2] else ""
            val += "".join(e[3] if e[2] or not has_ext else e[3].replace("%", "%25") for e in grp)
            plain.append([grp[0][0] + ("*" if has_ext else ""), val])
        i = j
    return plain


# ----------------------------------------------------------------------------- addresses
def _addresses(value: str, fill: bool = True, groups: bool = True) -> list:
    """RFC 5322 address list -> [name, adl, mailbox, host] items, with Dovecot's
    error recovery and RFC 3501 group markers."""
    p, out = _P(value), []
    if p.lwsp() <= 0:
        return out
    while True:
        start = p.i
        r = _group(p, out, fill, groups)
        if r is None:
            p.i = start
            r = _mailbox(p, out, fill)
        if r == 0 or p.peek() != ",":
            break
        p.i += 1
        if p.lwsp() <= 0:
            break
    return out


def _group(p, out, fill, groups):
    name, r = p.phrase()
    if r <= 0 or p.peek() != ":":
        return None
    p.i += 1
    r = p.lwsp()
    if groups:
        out.append([None, None, name, None])
    if r > 0 and p.peek() != ";":
        while True:
            if _mailbox(p, out, fill) == 0:
                r = -1; break
            if p.peek() != ",":
                break
            p.i += 1
            if p.lwsp() <= 0:
                r = -1; break
    if r >= 0 and p.peek() == ";":
        p.i += 1
        r = p.lwsp()
    if groups:
        out.append([None, None, None, None])
    return 0 if r == 0 else 1


def _mailbox(p, out, fill):
    a, start = [None, None, None, None], p.i
    name, r = p.phrase()
    if r > 0 and p.peek() == "<":
        a[0] = name or None
        if _angle(p, a, fill) < 0 and fill:
            a[3] = "SYNTAX_ERROR"
        r = 1 if p.i < p.n else 0
    else:
        a, p.i, p.comment = [None, None, None, None], start, ""
        quoted = p.peek() == '"'
        local, r = p.quoted() if quoted else p.dot_atom()
        if r >= 0:
            a[2] = local
        r2 = None
        if r != 0 and p.peek() == "@":
            a[3], r2 = p.domain()
            if r2 <= 0:
                r = r2
                if r2 < 0:
                    a[3] = None
        if p.comment:
            a[0] = p.comment
        elif r2 is None:
            extra, _ = p.phrase()
            if extra:                        # "word more words": a display name only
                a[0], a[2] = local + " " + extra, None
            elif quoted and r >= 0:          # a lone quoted string too
                a[0], a[2] = local, None
            else:
                a[3] = ""
            r = -1 if p.i < p.n else 0
    if fill:
        a[2] = a[2] or "MISSING_MAILBOX"
        a[3] = a[3] or "MISSING_DOMAIN"
    out.append(a)
    return r


def _angle(p, a, fill):
    p.i += 1
    if p.lwsp() <= 0:
        return -1
    if p.peek() == "@":
        route, ok = [], True
        while p.peek() == "@":
            d, r = p.domain()
            if r <= 0:
                ok = False
                break
            route.append("@" + d)
            while p.lwsp() > 0 and p.peek() == ",":
                p.i += 1
        if ok and p.peek() == ":":
            a[1] = ",".join(route)
            p.i += 1
        else:
            a[1] = "INVALID_ROUTE" if fill else None
            if p.i >= p.n:
                return -1
        if p.lwsp() <= 0:
            return -1
    if p.peek() != ">":
        local, r = p.quoted() if p.peek() == '"' else p.dot_atom()
        if r < 0:
            return -1
        a[2] = local
        if r == 0:
            return -1
        if p.peek() == "@":
            dom, r = p.domain()
            if r < 0:
                return -1
            a[3] = dom
            if r == 0:
                return -1
    if p.peek() != ">":
        return -1
    p.i += 1
    return p.lwsp()


# ----------------------------------------------------------------------------- headers
def _fields(raw: bytes, start: int, end: int) -> list:
    """Split a header block into fields: [(name or None, field_start, field_end)]."""
    out, pos = [], start
    while pos < end:
        nl = raw.find(b"\n", pos, end)
        nxt = end if nl < 0 else nl + 1
        if raw[pos:nxt] in (b"\r\n", b"\n"):
            break
        if raw[pos] in b" \t" and out:
            out[-1][2] = nxt
        else:
            colon = raw.find(b":", pos, nxt)
            name = raw[pos:colon].rstrip(b" \t").decode("latin-1") if colon >= 0 else None
            out.append([name, pos, nxt])
        pos = nxt
    return out


def _value(raw: bytes, f) -> str:
    v = raw[raw.index(b":", f[1]) + 1:f[2]]
    v = v[:-2] if v.endswith(b"\r\n") else v[:-1] if v.endswith(b"\n") else v
    # leading blanks are skipped, except that a blank-only value only loses its first one
    return (v.lstrip(b" \t") or v[1:]).decode("latin-1")


def _headers(raw: bytes, start: int, end: int) -> list:
    return [(f[0].lower(), _value(raw, f)) for f in _fields(raw, start, end) if f[0] is not None]


def _envelope(hdrs: list) -> dict:
    env = dict.fromkeys(_ENV_KEYS)
    for name, value in hdrs:
        if name in _STR_HEADERS:
            env[_STR_HEADERS[name]] = value
        elif name in _ADDR_HEADERS:
            key = _ADDR_HEADERS[name]
            env[key] = (env[key] or []) + _addresses(value)
    for key in _ADDR_HEADERS.values():
        env[key] = env[key] or None
    env["sender"] = env["sender"] or env["from"]
    env["reply_to"] = env["reply_to"] or env["from"]
    return env


def _header_end(raw: bytes, pos: int, boundary=None):
    """End of the header block at pos (after its blank line), and the boundary line that
    cut it short, if any."""
    n = len(raw)
    while pos < n:
        if boundary and raw.startswith(b"--", pos):
            hit = boundary(pos)
            if hit:
                return pos, hit
        nl = raw.find(b"\n", pos)
        nxt = n if nl < 0 else nl + 1
        if nxt - pos <= 2 and raw[pos:nxt] in (b"\r\n", b"\n"):
            return nxt, None
        pos = nxt
    return n, None


# ----------------------------------------------------------------------------- structure parser
class _Parser:
    def __init__(self, raw: bytes):
        self.raw, self.n, self.count, self._prio = raw, len(raw), 0, {}

    def prio(self, stack):
        key = tuple(stack)
        if key not in self._prio:    # longest boundary wins, then the innermost
            order = sorted(range(len(stack)), key=lambda k: (-len(stack[k]), -k))
            self._prio[key] = [(k, b"--" + stack[k]) for k in order]
        return self._prio[key]

    def boundary_at(self, pos, prio):
        raw = self.raw
        for k, b in prio:
            if raw.startswith(b, pos):
                return pos, k, raw.startswith(b"--", pos + len(b))
        return None

    def find(self, pos, stack):
        if not stack:
            return None
        prio, raw = self.prio(stack), self.raw
        if pos == 0 or raw[pos - 1] == 10:
            hit = self.boundary_at(pos, prio)
            if hit:
                return hit
        while True:
            pos = raw.find(b"\n--", pos)
            if pos < 0:
                return None
            hit = self.boundary_at(pos + 1, prio)
            if hit:
                return hit
            pos += 1

    def trim(self, pos, floor):
        raw = self.raw
        if raw.startswith(b"\r\n", pos - 2):
            pos -= 2
        elif raw.startswith(b"\n", pos - 1):
            pos -= 1
        return max(pos, floor)

    def line_end(self, pos):
        nl = self.raw.find(b"\n", pos)
        return self.n if nl < 0 else nl + 1

    def part(self, hstart, stack, child, digest, depth):
        """Parse the part starting at hstart.  Returns (part, hit, anc): hit is the boundary
        line that ended it (None at end of input), anc the end offset for its ancestors."""
        raw, n, prio = self.raw, self.n, self.prio(stack) if stack else None
        self.count += 1
        hend, hit = _header_end(raw, hstart, prio and (lambda pos: self.boundary_at(pos, prio)))
        bstart = hend
        hdrs = _headers(raw, hstart, hend)
        p = _mime(hdrs, child, digest)
        if not child:
            p["_env"] = hdrs              # a message's own header: the caller builds its envelope
        rfc822 = p["type"] == "message" and p["subtype"] == "rfc822"
        frozen = self.count >= MAX_PARTS      # Dovecot: no more parts; body runs to the end
        if (rfc822 and frozen) or ((rfc822 or p["type"] == "multipart") and depth + 1 >= MAX_DEPTH):
            # Dovecot's nesting limit: such a part is served as application/octet-stream
            p.update(type="application", subtype="octet-stream", _boundary=None,
                     raw_type=["application", "octet-stream"])
            p.pop("parts", None)
            rfc822 = False
        anc, seg, epilogue = None, bstart, False
        if hit or frozen:
            pass
        elif p["type"] == "multipart" and p["_boundary"] is not None:
            inner = stack + [p["_boundary"].encode("latin-1")]
            hit = self.find(bstart, inner)
            while hit and hit[1] == len(stack):
                nxt = self.line_end(hit[0])
                if raw[nxt - 1:nxt] != b"\n":        # unterminated last line starts no part
                    hit = anc = None
                    break
                if hit[2]:                            # close delimiter: skip the epilogue
                    hit, anc, seg, epilogue = self.find(nxt, stack), None, nxt, True
                    break
                kid, hit, anc = self.part(nxt, inner, True, p["subtype"] == "digest", depth + 1)
                p["parts"].append(kid)
        elif rfc822:
            if bstart < n and not (prio and self.boundary_at(bstart, prio)):
                emb, hit, anc = self.part(bstart, stack, False, False, depth + 1)
                p["message"] = {"envelope": _envelope(emb.pop("_env")), "root": emb}
            elif bstart < n:
                hit = self.boundary_at(bstart, prio)
        else:
            hit = self.find(bstart, stack)
        # The CRLF before a boundary belongs to the boundary.  Like Dovecot, take it from
        # the innermost part only: from its body (or epilogue), else from its header; its
        # ancestors then end after that CRLF.  An empty epilogue gives none up.
        if anc is not None:
            end = anc
        elif hit is None:
            end = anc = n
        elif seg < hit[0]:
            end = anc = self.trim(hit[0], seg)
        else:
            end, anc = (hit[0] if epilogue else self.trim(hit[0], hstart)), hit[0]
        p.update(hstart=hstart, hend=min(hend, end), bstart=min(bstart, end), bend=end)
        if rfc822 and "message" not in p:             # empty message/rfc822 body
            emb = _mime([], False, False)
            emb.pop("_boundary")
            emb.update(hstart=end, hend=end, bstart=end, bend=end, size=0, lines=0)
            p["message"] = {"envelope": _envelope([]), "root": emb}
        b0, b1 = p["bstart"], p["bend"]
        lf = raw.count(b"\n", b0, b1)
        p["size"] = b1 - b0 + lf - raw.count(b"\r\n", b0, b1)
        p["lines"] = lf if p["type"] == "text" or "message" in p else None
        p.pop("_boundary", None)
        return p, hit, anc


def _mime(hdrs: list, child: bool, digest: bool) -> dict:
    """Content-* fields of one part, with Dovecot's rules: first occurrence wins (except a
    parameterless Content-Disposition), and all are ignored unless the part is MIME."""
    d = dict.fromkeys(("raw_type", "id", "description", "md5", "disposition", "language",
                       "location", "encoding", "_boundary"))
    is_mime, params = child, []
    for name, value in hdrs:
        if name == "mime-version":
            is_mime = True
        if not name.startswith("content-"):
            continue
        sub, p = name[8:], _P(value)
        if sub == "type":
            is_mime = True
            if d["raw_type"] is None:
                p.lwsp()
                t, r = p.token()
                st = ""
                if r > 0:           # "type" alone is kept; other damage gives "" ""
                    if p.peek() == "/" and t:
                        p.i += 1
                        p.lwsp()
                        st, r = p.token()
                    if not st or r < 0 or (r > 0 and p.peek() != ";"):
                        t = st = ""
                    else:
                        params = _params(p)
                if not st and t.lower() == "multipart":   # Dovecot's special case
                    t, st = "application", "octet-stream"
                d["raw_type"] = [t, st]
        elif sub == "transfer-encoding" and d["encoding"] is None:
            p.lwsp()
            tok, r = p.token()
            d["encoding"] = tok if tok and r == 0 else None
        elif sub in ("id", "md5", "location", "description") and d[sub] is None:
            d[sub] = value
        elif sub == "language" and d["language"] is None and p.lwsp() > 0:
            langs = []
            while True:
                tok = p.run(_ATEXT)
                r = p.lwsp()
                if not tok or r < 0:
                    break
                langs.append(tok)
                if r == 0 or p.peek() != ",":
                    break
                p.i += 1
                if p.lwsp() <= 0:
                    break
            d["language"] = langs or None
        elif sub == "disposition" and not (d["disposition"] and d["disposition"][1]):
            p.lwsp()
            tok, r = p.token()
            if r >= 0:
                d["disposition"] = [tok, _params(p) or None]
    if not is_mime:
        d = dict.fromkeys(d)
    rt = d["raw_type"]
    if rt is not None:
        t, st = rt[0].lower(), rt[1].lower()
        d["params"] = params if is_mime else []
    else:
        t, st = ("message", "rfc822") if digest else ("text", "plain")
        d["params"] = []
    if t == "multipart":
        d["parts"] = []
        d["_boundary"] = next((v for k, v in d["params"] if k.lower() == "boundary"), None)
    d.update(type=t, subtype=st, encoding=d["encoding"] or "7bit")
    cs = next((v for k, v in d["params"] if k.lower() == "charset"), None)
    d["charset"] = (cs or "us-ascii").lower() if t == "text" else None
    d["filename"] = _filename(d)
    return d


def parse_structure(raw: bytes) -> dict:
    """Parse a raw message (bytes) into the stored structure.  Never raises on sloppy
    input; raises MimeError only when there is no message at all."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError("raw must be bytes")
    raw = bytes(raw)
    if not raw:
        raise MimeError("empty message (0 bytes)", "Thư rỗng (0 byte)")
    if not raw.strip():
        raise MimeError("message has neither header nor body",
                        "Thư không có phần đầu và nội dung")
    root = _Parser(raw).part(0, [], False, False, 0)[0]
    lf = raw.count(b"\n")
    bare = lf - raw.count(b"\r\n")
    out = {"envelope": _envelope(root.pop("_env")), "root": root,
           "size": len(raw), "vsize": len(raw) + bare, "lines": lf, "bare_lf": bare > 0}
    return _nul_free(out) if b"\x00" in raw else out


def _nul_free(x):
    """Header NULs are parsed as NULs (they end tokens) but stored as U+FFFD, as Dovecot."""
    if isinstance(x, str):
        return x.replace("\x00", "\xef\xbf\xbd")
    if isinstance(x, list):
        return [_nul_free(v) for v in x]
    if isinstance(x, dict):
        return {k: _nul_free(v) for k, v in x.items()}
    return x


# ----------------------------------------------------------------------------- IMAP output
def _b(s: str) -> bytes:
    return s.encode("latin-1")


def _lit(b: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(b), b)


def _nstring(s) -> bytes:
    """Dovecot imap_append_nstring: quoted unless 8-bit, CR/LF or more than 4 escapes."""
    if s is None:
        return b"NIL"
    b = _b(s)
    if re.search(rb"[\r\n\x80-\xff]", b) or b.count(b'"') + b.count(b"\\") > 4:
        return _lit(b)
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _nolf(s) -> bytes:
    if s is None or not re.search("[\r\n]", s):
        return _nstring(s)
    return _nstring(re.sub(r"[\r\n]+(?=[^ \t\r\n])", " ", s).replace("\r", "").replace("\n", ""))


def _human(s) -> bytes:
    """Dovecot imap_append_string_for_humans: whitespace collapsed, literal if changed."""
    if s is None:
        return b"NIL"
    b = _b(s)
    if not re.search(rb'[\t\r\n"\\\x80-\xff]|  |^ | $', b):
        return b'"' + b + b'"'
    b = re.sub(rb"[ \t\r\n]+", b" ", b).strip(b" ")
    return _lit(b) if b else b'""'


def _addr_list(lst) -> bytes:
    if not lst:
        return b"NIL"
    return b"(" + b"".join(b"(%s %s %s %s)" % (_human(a[0]), _nstring(a[1]), _nstring(a[2]),
                                                   _nstring(a[3])) for a in lst) + b")"


def imap_envelope(structure: dict) -> bytes:
    """ENVELOPE of a structure (or of a part's "message" dict), in IMAP wire form."""
    e = structure["envelope"]
    return b"(%s)" % b" ".join([_nolf(e["date"]), _human(e["subject"])]
                               + [_addr_list(e[k]) for k in _ENV_KEYS[2:8]]
                               + [_nolf(e["in_reply_to"]), _nolf(e["message_id"])])


def _plist(params, charset_default=False) -> bytes:
    items = [_nstring(x) for kv in params for x in kv]
    if charset_default and not any(k.lower() == "charset" for k, _ in params):
        items += [b'"charset"', b'"us-ascii"']
    return b"(" + b" ".join(items) + b")" if items else b"NIL"


def _ext(p) -> bytes:
    d = p["disposition"]
    disp = b"NIL" if d is None else b"(%s %s)" % (_nstring(d[0]), _plist(d[1] or []))
    lang = b"NIL" if not p["language"] else b"(" + b" ".join(map(_nstring, p["language"])) + b")"
    return b" %s %s %s" % (disp, lang, _nolf(p["location"]))


_EMPTY = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'


def imap_bodystructure(part: dict, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (extensible=True) or BODY (False) of a part, e.g. structure["root"]."""
    if "parts" in part:
        kids = b"".join(imap_bodystructure(c, extensible) for c in part["parts"])
        kids = kids or _EMPTY + (b" NIL NIL NIL NIL)" if extensible else b")")
        out = kids + b" " + _nstring(part["raw_type"][1])
        if extensible:
            out += b" " + _plist(part["params"]) + _ext(part)
        return b"(" + out + b")"
    text = "message" not in part and part["type"] == "text"
    if "message" in part:
        head = b'"message" "rfc822"'
    elif part["raw_type"] is None:
        head = b'"text" "plain"'
    else:
        head = _nstring(part["raw_type"][0]) + b" " + _nstring(part["raw_type"][1])
    out = b"%s %s %s %s %s %d" % (head, _plist(part["params"], text), _nolf(part["id"]),
                                  _nolf(part["description"]), _nstring(part["encoding"]),
                                  part["size"])
    if text:
        out += b" %d" % part["lines"]
    elif "message" in part:
        out += b" %s %s %d" % (imap_envelope(part["message"]),
                               imap_bodystructure(part["message"]["root"], extensible),
                               part["lines"])
    if extensible:
        out += b" " + _nolf(part["md5"]) + _ext(part)
    return b"(" + out + b")"


# ----------------------------------------------------------------------------- sections
def _level(root):
    """Parts addressable by the next section number inside a message whose root is root."""
    return [(c, False) for c in root["parts"]] if "parts" in root else [(root, True)]


def _find_part(structure: dict, nums):
    level, node = _level(structure["root"]), None
    for num in nums:
        if not level or not 1 <= num <= len(level):
            return None
        node, via_msg = level[num - 1]
        if "message" in node:
            level = _level(node["message"]["root"])
        elif "parts" in node:
            level = [(c, False) for c in node["parts"]]
        else:    # Dovecot lets "N.1" name a non-multipart part N once
            level = None if via_msg else [(node, True)]
    return node


def _header_fields(raw, p, names, negate, top) -> bytes:
    """HEADER.FIELDS[.NOT].  Dovecot adds a missing line end and blank line only for the
    top-level header; for an embedded message whose header has no blank line it reads on,
    past the part's end, to the next blank line or the end of the message."""
    end = p["hend"]
    fields = _fields(raw, p["hstart"], end)
    eoh = raw[fields[-1][2] if fields else p["hstart"]:end]
    if not top and eoh not in (b"\r\n", b"\n"):
        fields = _fields(raw, p["hstart"], len(raw))
        last = fields[-1][2] if fields else p["hstart"]
        eoh = raw[last:raw.find(b"\n", last) + 1] if last < len(raw) else b""
    keep = [f for f in fields if ((f[0] or "").lower() in names) != negate]
    out = [raw[f[1]:f[2]] for f in keep]
    if top and not negate:
        return b"".join(x if x.endswith(b"\n") else x + b"\r\n" for x in out) + b"\r\n"
    return b"".join(out) + eoh


_SECTION = re.compile(r"((?:\d+\.)*\d+)?(?:^|\.|$)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|"
                      r"MIME)?\s*(?:\((.*)\))?\s*", re.I | re.S)


def section_bytes(raw: bytes, structure: dict, section: str) -> bytes:
    """Bytes of BODY[section] as Dovecot returns them (CRLF line endings, NUL as 0x80);
    b"" for a section that does not exist."""
    m = _SECTION.fullmatch(section.strip())
    if not m:
        return b""
    nums = [int(x) for x in m.group(1).split(".")] if m.group(1) else []
    spec = (m.group(2) or "").upper()
    if bool(m.group(3) is not None) != spec.startswith("HEADER.FIELDS"):
        return b""
    if not nums:
        if spec == "MIME":
            return b""
        p = structure["root"]
        data = raw if not spec else None
    else:
        part = _find_part(structure, nums)
        if part is None:
            return b""
        if spec in ("", "MIME"):
            a, b = (part["bstart"], part["bend"]) if not spec else (part["hstart"], part["hend"])
            data, p = raw[a:b], None
        elif "message" in part:
            p, data = part["message"]["root"], None
        else:
            return b""
    if data is None:
        if spec == "HEADER":
            data = raw[p["hstart"]:p["hend"]]
        elif spec == "TEXT":
            data = raw[p["bstart"]:p["bend"]]
        else:
            names = {n.strip('"').lower() for n in m.group(3).split()}
            data = _header_fields(raw, p, names, spec.endswith("NOT"), not nums)
    if structure.get("bare_lf"):
        data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    return data.replace(b"\x00", b"\x80") if b"\x00" in data else data


# ----------------------------------------------------------------------------- decoding
_AUTO = {"", "us-ascii", "ascii", "x-unknown", "unknown", "unknown-8bit", "default"}


def _codec(charset):
    """Python codec for a MIME charset; None means unknown: UTF-8, else windows-1258."""
    cs = (charset or "").split("*")[0].strip().strip('"').lower()
    if cs in _AUTO:
        return None
    try:
        info = codecs.lookup({"iso-8859-1": "cp1252", "latin1": "cp1252"}.get(cs, cs))
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _text(b: bytes, charset=None) -> str:
    """Decode leniently with the charset; without a usable one, UTF-8 else windows-1258
    (legacy Vietnamese)."""
    codec = _codec(charset)
    if codec is None:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return b.decode("cp1258", "replace")
    try:
        return b.decode(codec, "replace")
    except Exception:           # odd codecs (e.g. punycode) may still fail
        return b.decode("utf-8", "replace")


_EW = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _ew_bytes(enc, data: str) -> bytes:
    if enc in "bB":
        return _b64(data.encode("latin-1"))
    data = data.replace("_", " ").encode("latin-1")
    return binascii.a2b_qp(data)


def decode_words(s) -> str:
    """RFC 2047-decode a raw (latin-1) header string; unfolded and NFC-normalised."""
    if s is None:
        return ""
    s = re.sub(r"\r?\n(?=[ \t])", "", s)
    out, pos, pend, pend_cs = [], 0, b"", None
    for m in _EW.finditer(s):
        gap = s[pos:m.start()]
        if gap and (gap.strip(" \t") or pend_cs is None):
            if pend:
                out.append(_text(pend, pend_cs)); pend = b""
            out.append(_text(gap.encode("latin-1")))
        cs = m.group(1)
        if pend and _codec(cs) != _codec(pend_cs):
            out.append(_text(pend, pend_cs)); pend = b""
        pend += _ew_bytes(m.group(2), m.group(3))   # join split multibyte sequences
        pend_cs, pos = cs, m.end()
    if pend:
        out.append(_text(pend, pend_cs))
    out.append(_text(s[pos:].encode("latin-1")))
    return unicodedata.normalize("NFC", "".join(out))


def _filename(d: dict):
    """Attachment name from Content-Disposition filename, else Content-Type name: RFC 2231
    (merged or not), RFC 2047 words, or raw UTF-8 / windows-1258 bytes."""
    cands = (d["disposition"][1] or []) if d["disposition"] else []
    for params in (cands, d["params"]):
        low = {k.lower(): v for k, v in params}
        for base in ("filename", "name"):
            if base + "*" in low:
                v = low[base + "*"]
                cs, _, v = v.split("'", 2) if v.count("'") >= 2 else ("", "", v)
                name = _text(urllib.parse.unquote_to_bytes(v), cs or None)
            elif base in low:
                name = decode_words(low[base])
            else:
                segs = sorted((int(m.group(1)), m.group(2), v) for k, v in low.items()
                              for m in [re.fullmatch(re.escape(base) + r"\*(\d+)(\*?)", k)] if m)
                if not segs:
                    continue
                name = "".join(urllib.parse.unquote(v.split("'", 2)[-1] if i == 0 else v)
                               if star else v for i, star, v in segs)
            # NFC; no control characters; "/" and "\\" become "_" so the name is no path
            name = re.sub(r"[\x00-\x1f\x7f]", "", unicodedata.normalize("NFC", name))
            name = name.replace("/", "_").replace("\\", "_").strip()
            if name:
                return name
    return None


_NOT_B64 = bytes(sorted(set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")))


def _b64(data: bytes) -> bytes:
    """Lenient base64: ignore anything outside the alphabet, mend a broken tail."""
    data = data.translate(None, _NOT_B64)
    data = data[:len(data) - (len(data) % 4 == 1)]
    return base64.b64decode(data + b"=" * (-len(data) % 4))


def _decoded_size(raw: bytes, part: dict) -> int:
    if part["encoding"].lower() == "base64":     # exact, without decoding
        n = len(raw[part["bstart"]:part["bend"]].translate(None, _NOT_B64))
        n -= n % 4 == 1
        return n // 4 * 3 + (n % 4 and n % 4 - 1)
    return len(_decoded(raw, part))


def _decoded(raw: bytes, part: dict) -> bytes:
    body, enc = raw[part["bstart"]:part["bend"]], part["encoding"].lower()
    if enc == "base64":
        return _b64(body)
    if enc == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def decoded_headers(raw: bytes) -> dict:
    """Webmail view of the top-level header: RFC 2047 decoded, NFC, never raising."""
    hdrs = _headers(raw, 0, _header_end(raw, 0)[0])
    last = {}
    addrs = {"from": [], "to": [], "cc": [], "reply_to": []}
    for name, value in hdrs:
        last[name] = value
        key = name.replace("-", "_")
        if key in addrs:
            for a in _addresses(value, fill=False, groups=False):
                addr = a[2] + "@" + a[3] if a[2] and a[3] else (a[2] or "")
                if addr or a[0]:
                    addrs[key].append((decode_words(a[0]) if a[0] else "", _text(raw_text(addr))))
    date = None
    if "date" in last:
        try:
            date = email.utils.parsedate_to_datetime(decode_words(last["date"]))
            if date.tzinfo is None:
                date = date.replace(tzinfo=datetime.timezone.utc)
        except Exception:       # garbage dates: never raise
            date = None
    plain = {k: " ".join(decode_words(last[k]).split()) if k in last else None
             for k in ("message-id", "in-reply-to", "references")}
    return {"subject": " ".join(decode_words(last["subject"]).split()) if "subject" in last else None,
            "from": addrs["from"], "to": addrs["to"], "cc": addrs["cc"],
            "reply_to": addrs["reply_to"], "date": date, "message_id": plain["message-id"],
            "in_reply_to": plain["in-reply-to"], "references": plain["references"]}


def _walk(root, prefix=""):
    """Yield (section number, part) for every non-multipart part of a message."""
    def rec(node, num):
        if "parts" in node:
            for i, c in enumerate(node["parts"], 1):
                yield from rec(c, num + "." + str(i))
        else:
            yield num.lstrip("."), node
    if "parts" in root:
        yield from rec(root, prefix)
    else:
        yield (prefix + ".1").lstrip("."), root


def body_parts(raw: bytes, structure: dict, _sizes: bool = True) -> dict:
    """Decoded text, HTML and attachment list for the webmail.  The text is the first
    inline text/plain part (else the first text/html with tags stripped); every other
    non-multipart part, attached messages included, is listed as an attachment."""
    text = html_body = None
    atts = []
    for num, p in _walk(structure["root"]):
        disp = (p["disposition"][0].lower() if p["disposition"] else "")
        ctype = p["type"] + "/" + p["subtype"]
        if ctype in ("text/plain", "text/html") and disp != "attachment" and not p["filename"]:
            body = unicodedata.normalize("NFC", _text(_decoded(raw, p), p["charset"]))
            body = body.replace("\r\n", "\n")
            if ctype == "text/plain" and text is None:
                text = body; continue
            if ctype == "text/html" and html_body is None:
                html_body = body; continue
        name = p["filename"]
        if not name and "message" in p:
            subj = decode_words(p["message"]["envelope"]["subject"]).strip()
            name = re.sub(r'[\\/:*?"<>|\r\n\t]+', "_", subj)[:100] + ".eml" if subj else None
        if not name:
            ext = ".eml" if "message" in p else mimetypes.guess_extension(ctype) or ".bin"
            name = "part-%s%s" % (num, ext)
        cid = p["id"].strip().strip("<>") if p["id"] else None
        atts.append({"part": num, "filename": name, "content_type": ctype,
                     "size": _decoded_size(raw, p) if _sizes else None, "inline": disp == "inline" or
                     (not disp and cid is not None), "content_id": cid})
    if text is None:
        text = _strip_html(html_body) if html_body else ""
    return {"text": text, "html": html_body, "attachments": atts}


def part_payload(raw: bytes, structure: dict, part_number: str) -> bytes:
    """Decoded (base64 / quoted-printable) bytes of one part; KeyError if it does not exist."""
    try:
        part = _find_part(structure, [int(x) for x in str(part_number).split(".")])
    except ValueError:
        part = None
    if part is None or "parts" in part:
        raise KeyError(part_number)
    return _decoded(raw, part)


def _strip_html(s: str) -> str:
    s = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", s)
    s = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>", "\n", s)
    return html.unescape(re.sub(r"<[^>]*>", " ", s))


def search_fold(text: str) -> str:
    """Fold for Vietnamese case-insensitive search: NFC + casefold, diacritics kept."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text or "").casefold())


def searchable_text(raw: bytes, structure: dict) -> str:
    """Folded subject, addresses and text body for webmail search, capped at 64 KB (UTF-8)."""
    h = decoded_headers(raw)
    bits = [h["subject"] or ""]
    for key in ("from", "to", "cc"):
        bits += ["%s %s" % a for a in h[key]]
    b = body_parts(raw, structure, _sizes=False)
    bits.append(b["text"] or _strip_html(b["html"] or ""))
    out = search_fold("\n".join(bits))
    return out.encode("utf-8")[:65536].decode("utf-8", "ignore")


def part_text(raw: bytes, part: dict) -> str:
    """A text part's content as str: transfer encoding undone, decoded leniently with its
    charset (UTF-8, else windows-1258, when it has none usable)."""
    return _text(_decoded(raw, part), part.get("charset"))
