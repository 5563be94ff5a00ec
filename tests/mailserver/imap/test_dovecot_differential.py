"""Dovecot differential suite: the same messages APPENDed (same bytes, flags, INTERNALDATE)
to a private Dovecot 2.3 and to our IMAP server, then ONE client script (``run_script``)
against each; the parsed results must be equal.

``run_script(conn)`` takes a connected, logged-in ``imaplib.IMAP4`` (used as the transport;
the commands go through ``dovecot.command`` so every untagged line is seen and parsed) and
returns ``{step: normalised result}``. Each step is compared separately, so a failure lists
every differing step with both servers' values.

Normalisations (applied identically to both servers), each one a legitimate server choice:
  N1 UIDVALIDITY values differ by nature: each sighting (SELECT/EXAMINE/STATUS/APPENDUID/
     COPYUID) is checked against the first one for that mailbox (a change is recorded as
     ``INCONSISTENT``) and replaced by ``<UIDVALIDITY name>``.
  N2 Text after OK/NO/BAD (and of untagged OK) is free human text: dropped. The status word
     and the response code are kept; RFC 5530 codes (ALREADYEXISTS, NONEXISTENT, CANNOT,
     CLIENTBUG, SERVERBUG, UNAVAILABLE, INUSE, EXPUNGEISSUED, ...) that RFC 3501 does not
     require are dropped here and compared in ``test_rfc5530_response_codes`` only.
  N3 CAPABILITY lists differ by design (Dovecot has ENABLE, LOGIN-REFERRALS...; we have
     SPECIAL-USE, XLIST...): only "IMAP4rev1 is there" is compared.
  N4 Server-specific untagged lines are ignored: ``* OK [HIGHESTMODSEQ]``, ``* OK [NOMODSEQ]``,
     ``* OK [URLMECH]``, ``* OK Still here``, ``* ID`` content, ``* CAPABILITY`` after LOGIN.
  N5 Flag lists and LIST attributes are compared as sets (order is not significant,
     RFC 3501 2.3.2 / 7.2.2), attributes case-insensitively; ``\\Recent`` is removed from FLAGS
     (it depends on which session saw the mail first) and compared in ``test_recent_*``.
  N6 INTERNALDATE is compared as the instant (UTC), not the zone it is printed in: Dovecot
     prints it in its own zone, the RFC leaves the zone to the server.
  N7 Strings are compared by value: a quoted string and a literal with the same bytes are
     equal (RFC 3501 4.3). Atoms and strings are still distinguished.
  N8 Values over 4 KB are compared by length and SHA-256 (so a failure prints short).
  N9 Where RFC 3501 allows a choice of *when* or *for which messages* an untagged response
     is sent (EXISTS after our own APPEND to the selected mailbox; STORE's FETCH for
     messages whose flags did not change, 6.4.6), the state is compared: the FETCHes of the
     changed messages, each reported FLAGS checked against a later FETCH. The exact
     placement is compared in ``test_untagged_placement``.
  N10 The order of ``* n EXPUNGE`` lines: Dovecot sends them descending (5, 3, 1), a server
     may as well send them ascending with renumbering (1, 2, 3): the main test compares the
     expunged UID set obtained by replaying the lines (an impossible line shows as
     INVALID); the raw sequence is compared in ``test_untagged_placement``.
  N11 FLAGS/PERMANENTFLAGS at SELECT: the system flags and \\* are compared; the keywords
     listed (Dovecot lists every keyword ever used in the mailbox, a server may list only
     those in use, RFC 3501 7.2.6) are compared in ``test_untagged_placement``.
  N12 STORE on a mailbox opened with EXAMINE: NO (RFC 3501's "can't store that data") or
     Dovecot's OK-and-ignore are both accepted; nothing may change (compared).
Vietnamese diacritics: Dovecot 2.3 folds with i;unicode-casemap (titlecase + canonical
decomposition) and matches substrings of the decomposed text, so "ca" finds "Cà phê" and
"Báo cáo" ("ca" + U+0300 / U+0301) while "thong bao" does not find "Thông báo" (the mark
sits inside). We keep diacritics distinct: "ca" finds only "Ca trực đêm"; asserted on ours
alone in ``test_search_diacritics``, never forced equal.
Dovecot 2.3.19 bug seen here: ``SEARCH NOT (FLAGGED SEEN)`` / ``OR UNFLAGGED UNSEEN`` leave
out message 1 (\\Seen, not \\Flagged); those are checked against the flags on ours alone
(``test_search_flag_logic``).
"""
from __future__ import annotations

import hashlib
import imaplib
import json
import time
from datetime import datetime, timezone

import pytest

from .corpus import messages
from .dovecot import (Literal, Reply, command, fetch_items, mutf7_decode, mutf7_encode, quote)
from .conftest import PASSWORD, USER

RFC3501_CODES = {"ALERT", "BADCHARSET", "CAPABILITY", "PARSE", "PERMANENTFLAGS", "READ-ONLY", "READ-WRITE",
                 "TRYCREATE", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "APPENDUID", "COPYUID", "UIDNOTSTICKY"}
IGNORED_UNTAGGED_CODES = {"HIGHESTMODSEQ", "NOMODSEQ", "URLMECH", "CAPABILITY", "CLOSED"}
BIG = 4096
PHASES = ["session_and_folders", "select_inbox", "fetch_everything", "sections", "seen_semantics", "search", "store",
          "copy_move", "expunge", "append", "folders", "errors_and_close"]
FLAG_LOGIC = {"NOT (FLAGGED SEEN)": lambda f: not ("\\Flagged" in f and "\\Seen" in f),
              "OR UNFLAGGED UNSEEN": lambda f: "\\Flagged" not in f or "\\Seen" not in f,
              "NOT (SEEN ANSWERED)": lambda f: not ("\\Seen" in f and "\\Answered" in f)}
DIACRITIC_QUERIES = ["ca", "CA", "cà", "CÀ", "cá", "trực", "truc", "đêm", "dem", "ĐÊM", "thong bao", "thông báo"]


# --- normalisation ------------------------------------------------------------------------

class Norm:
    def __init__(self):
        self.uidvalidity: dict[str, str] = {}
        self.codes: list = []          # (step, status, RFC 5530 code) for the strict test
        self.placement: dict = {}      # raw placement facts for test_untagged_placement
        self.recent: dict = {}

    def uv(self, box: str, value) -> str:
        value = str(value)
        first = self.uidvalidity.setdefault(box, value)
        if first != value:
            return f"INCONSISTENT<UIDVALIDITY {box}: {first} then {value}>"
        if not value.isdigit() or int(value) <= 0:
            return f"BAD<UIDVALIDITY {value}>"
        return f"<UIDVALIDITY {box}>"


def val(v):
    """N7/N8: a comparable, JSON-able form of a parsed value."""
    if isinstance(v, bytes):
        if len(v) > BIG:
            return {"len": len(v), "sha256": hashlib.sha256(v).hexdigest()[:16]}
        return "s:" + v.decode("utf-8", "backslashreplace")
    if isinstance(v, str):
        return "a:" + v
    if isinstance(v, list):
        return [val(x) for x in v]
    return v


def flags(v) -> list[str]:
    """N5."""
    return sorted({f for f in (v or []) if f.lower() != "\\recent"}, key=str.lower)


def flagsets(v) -> list[str]:
    return sorted({f.lower() for f in (v or [])})


def idate(v) -> str:
    """N6 (and N6b: an APPEND without a date gets "now": within a day of now -> "<now>")."""
    s = v.decode() if isinstance(v, bytes) else str(v)
    when = datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z").astimezone(timezone.utc)
    if abs((when - datetime.now(timezone.utc)).total_seconds()) < 86400:
        return "<now>"
    return when.isoformat()


def system_flags(v) -> list[str]:
    """N11: the system flags (and \\*) of a FLAGS/PERMANENTFLAGS list; keywords go to strict."""
    return sorted({f.lower() for f in (v or []) if f.startswith("\\")})


def status(step: str, r: Reply, norm: Norm) -> list:
    """N2: status word + RFC 3501 code (+ args, uidvalidity normalised by the caller)."""
    name = r.code_name
    if name and name not in RFC3501_CODES:
        norm.codes.append((step, r.status, name))
        name = None
    return [r.status, name] if name else [r.status]


def seqset(s: str) -> list[int]:
    out = []
    for part in str(s).split(","):
        a, _, b = part.partition(":")
        a_i, b_i = int(a), int(b or a)
        out.extend(range(min(a_i, b_i), max(a_i, b_i) + 1))
    return out


def untagged_status(r: Reply) -> list:
    """Untagged OK/NO/BAD with their codes, minus N4's server-specific ones."""
    out = []
    for u in r.untagged:
        if u.kind in ("OK", "NO", "BAD", "BYE"):
            name = u.code[0].upper() if u.code and isinstance(u.code[0], str) else None
            if name in IGNORED_UNTAGGED_CODES or (name is None and u.kind == "OK"):
                continue
            out.append([u.kind, name])
    return out


# --- the client script --------------------------------------------------------------------

class Script:
    def __init__(self, conn, corpus):
        self.c = conn
        self.corpus = corpus
        self.norm = Norm()
        self.r: dict = {}
        self.phase_of: dict = {}
        self.opened = 0
        self.phase = ""

    def cmd(self, *parts, **kw) -> Reply:
        return command(self.c, *parts, **kw)

    def put(self, key, value):
        assert key not in self.r, key
        self.r[key] = value
        self.phase_of[key] = self.phase
        self.norm.codes = [(step or key, st, code) for step, st, code in self.norm.codes]

    # select/examine/status -----------------------------------------------------------------
    def open_box(self, verb: str, box: str) -> dict:
        r = self.cmd(f"{verb} {quote(mutf7_encode(box))}")
        self.opened += 1
        out = {"status": status(f"{verb} {box}", r, self.norm)}
        if r.code_name in ("READ-WRITE", "READ-ONLY"):
            out["access"] = r.code_name
        for u in r.untagged:
            if u.kind == "EXISTS":
                out["EXISTS"] = u.number
            elif u.kind == "RECENT":
                self.norm.recent[f"{verb} {box}"] = u.number
            elif u.kind == "FLAGS":
                out["FLAGS"] = system_flags(u.tokens[0])
                self.norm.placement[f"{verb} {box} #{self.opened}: FLAGS keywords"] = sorted(
                    set(flagsets(u.tokens[0])) - set(out["FLAGS"]))
            elif u.kind == "OK" and u.code:
                name = u.code[0].upper()
                if name == "UIDVALIDITY":
                    out[name] = self.norm.uv(box, u.code[1])
                elif name in ("UIDNEXT", "UNSEEN"):
                    out[name] = int(u.code[1])
                elif name == "PERMANENTFLAGS":
                    out[name] = system_flags(u.code[1])
                    self.norm.placement[f"{verb} {box} #{self.opened}: PERMANENTFLAGS keywords"] = sorted(
                        set(flagsets(u.code[1])) - set(out[name]))
        return out

    def status_of(self, box: str, items="MESSAGES UIDNEXT UNSEEN UIDVALIDITY") -> dict:
        r = self.cmd(f"STATUS {quote(mutf7_encode(box))} ({items})")
        out = {"status": status(f"STATUS {box}", r, self.norm)}
        for u in r.data("STATUS"):
            lst = u.tokens[1] if len(u.tokens) > 1 else []
            for k, v in zip(lst[::2], lst[1::2]):
                k = k.upper()
                if k == "UIDVALIDITY":
                    out[k] = self.norm.uv(box, v)
                elif k == "RECENT":
                    self.norm.recent[f"STATUS {box}"] = int(v)
                else:
                    out[k] = int(v)
            out["name"] = mutf7_decode(u.tokens[0]) if isinstance(u.tokens[0], (str, bytes)) else u.tokens[0]
        return out

    def list_cmd(self, verb: str, ref: str, pattern: str) -> dict:
        r = self.cmd(f"{verb} {quote(ref)} {quote(mutf7_encode(pattern))}")
        rows = []
        for u in r.data(verb):
            attrs, delim, name = u.tokens[0], u.tokens[1], u.tokens[2]
            name_s = name.encode("latin-1") if isinstance(name, str) else name
            rows.append([flagsets(attrs), val(delim), mutf7_decode(name_s)])
        return {"status": status(f"{verb} {pattern}", r, self.norm), "rows": sorted(rows, key=lambda x: x[2])}

    def fetch(self, spec: str, uid: bool = False) -> tuple[Reply, dict]:
        r = self.cmd(("UID " if uid else "") + "FETCH " + spec)
        return r, fetch_items(r)

    def fetch_norm(self, spec: str, uid: bool = False) -> dict:
        r, items = self.fetch(spec, uid)
        out = {}
        for seq, d in sorted(items.items()):
            row = {}
            for k, v in d.items():
                if k == "FLAGS":
                    row[k] = flags(v)
                elif k == "INTERNALDATE":
                    row[k] = idate(v)
                elif k in ("UID", "RFC822.SIZE"):
                    row[k] = int(v)
                else:
                    row[k] = val(v)
            out[str(seq)] = row
        return {"status": status("FETCH " + spec, r, self.norm), "items": out}

    # the steps -----------------------------------------------------------------------------
    def run(self) -> dict:
        for phase in PHASES:
            self.phase = phase
            getattr(self, phase)()
        self.phase = "codes"
        self.put("codes", self.norm.codes)
        return self.r

    def session_and_folders(self):
        r = self.cmd("CAPABILITY")
        caps = {c.upper() for u in r.data("CAPABILITY") for c in u.tokens if isinstance(c, str)}
        self.put("capability IMAP4rev1", "IMAP4REV1" in caps)                      # N3
        self.caps = caps
        r = self.cmd("NAMESPACE")
        self.put("namespace", [status("NAMESPACE", r, self.norm), [val(u.tokens) for u in r.data("NAMESPACE")]])
        r = self.cmd("NOOP")
        self.put("noop (unauth-free)", status("NOOP", r, self.norm))
        self.put('LIST "" "*"', self.list_cmd("LIST", "", "*"))
        self.put('LIST "" "%"', self.list_cmd("LIST", "", "%"))
        self.put('LIST "" ""', self.list_cmd("LIST", "", ""))
        self.put('LIST "" "inbox"', self.list_cmd("LIST", "", "inbox"))
        self.put('LIST "" "S*"', self.list_cmd("LIST", "", "S*"))
        self.put('LIST "" "nothing*"', self.list_cmd("LIST", "", "nothing*"))
        self.put('LSUB "" "*"', self.list_cmd("LSUB", "", "*"))
        self.put("STATUS INBOX", self.status_of("INBOX", "MESSAGES RECENT UIDNEXT UNSEEN UIDVALIDITY"))
        self.put("STATUS Sent", self.status_of("Sent"))
        self.put("STATUS nonexistent", self.status_of("Không có"))

    def select_inbox(self):
        self.put("EXAMINE INBOX", self.open_box("EXAMINE", "INBOX"))
        r, items = self.fetch("2 (BODY[TEXT] FLAGS)")   # 2 is unseen: read-only must not set \Seen
        self.put("EXAMINE: FETCH 2 BODY[TEXT] flags", flags(items.get(2, {}).get("FLAGS")))
        r = self.cmd("STORE 2 +FLAGS (\\Flagged)")
        # N12: STORE on a read-only mailbox: NO (ours) or OK-and-ignored (Dovecot) are both
        # seen in the wild; what matters is that nothing changed (the next step).
        self.norm.placement["EXAMINE: STORE 2 +FLAGS status"] = r.status
        self.put("EXAMINE: STORE 2 +FLAGS", r.status in ("OK", "NO"))
        self.put("EXAMINE: flags after STORE", self.fetch_norm("2 FLAGS"))
        self.put("SELECT INBOX", self.open_box("SELECT", "INBOX"))
        self.put("SELECT INBOX again", self.open_box("SELECT", "INBOX"))
        self.n = self.r["SELECT INBOX"].get("EXISTS", 0)

    def fetch_everything(self):
        self.put("FETCH 1:* all items", self.fetch_norm(
            "1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)"))
        self.put("UID FETCH 1:* FLAGS", self.fetch_norm("1:* FLAGS", uid=True))
        self.put("FETCH 1:3 FAST", self.fetch_norm("1:3 FAST"))
        self.put("FETCH 2 ALL", self.fetch_norm("2 ALL"))
        self.put("FETCH 3 FULL", self.fetch_norm("3 FULL"))
        self.put("FETCH * UID", self.fetch_norm("* UID"))
        self.put("FETCH 2,4:5 RFC822.SIZE", self.fetch_norm("2,4:5 RFC822.SIZE"))
        self.put("UID FETCH 3:5 (FLAGS)", self.fetch_norm("3:5 (FLAGS)", uid=True))
        self.put("UID FETCH 999 FLAGS (no such uid)", self.fetch_norm("999 FLAGS", uid=True))
        self.put("UID FETCH 11:* UID", self.fetch_norm("11:* UID", uid=True))
        self.put("UID FETCH *:11 UID", self.fetch_norm("*:11 UID", uid=True))
        _, items = self.fetch("1:* (BODYSTRUCTURE)")
        self.structures = {seq: d.get("BODYSTRUCTURE") for seq, d in items.items()}

    def sections(self):
        """Every section of every part (numbers from BODYSTRUCTURE), all with BODY.PEEK."""
        for seq in range(1, self.n + 1):
            key = self.corpus[seq - 1].key if seq <= len(self.corpus) else str(seq)
            secs = ["", "HEADER", "TEXT", "HEADER.FIELDS (FROM SUBJECT)", "HEADER.FIELDS (from Subject X-Priority)",
                    "HEADER.FIELDS.NOT (FROM SUBJECT DATE)", "HEADER.FIELDS (NOSUCHHEADER)"]
            partials = ["<0.100>", "<10.50>", "<100000000.10>"]
            for num, kind in walk_body(self.structures.get(seq), ""):
                secs += [num, f"{num}.MIME"]
                partials_for = [num]
                if kind == "message":
                    secs += [f"{num}.HEADER", f"{num}.TEXT", f"{num}.HEADER.FIELDS (SUBJECT FROM)",
                             f"{num}.HEADER.FIELDS.NOT (SUBJECT)"]
                    partials_for.append(f"{num}.TEXT")
                for p in partials_for:
                    r, items = self.fetch(f"{seq} BODY.PEEK[{p}]<0.100>")
                    self.put(f"[{key}] BODY[{p}]<0.100>", [status("", r, self.norm), val_items(items.get(seq))])
            for s in secs:
                r, items = self.fetch(f"{seq} BODY.PEEK[{s}]")
                self.put(f"[{key}] BODY[{s}]", [status("", r, self.norm), val_items(items.get(seq))])
            for p in partials:
                r, items = self.fetch(f"{seq} BODY.PEEK[]{p}")
                self.put(f"[{key}] BODY[]{p}", [status("", r, self.norm), val_items(items.get(seq))])
            r, items = self.fetch(f"{seq} (RFC822.HEADER RFC822.SIZE)")
            self.put(f"[{key}] RFC822.HEADER", [status("", r, self.norm), val_items(items.get(seq))])
            # BODY[] must be the APPENDed bytes exactly (independent of the other server)
            if seq <= len(self.corpus):
                r, items = self.fetch(f"{seq} BODY.PEEK[]")
                got = (items.get(seq) or {}).get("BODY[]")
                self.put(f"[{key}] BODY[] == appended bytes", got == self.corpus[seq - 1].raw)
        self.put("flags after BODY.PEEK of everything", self.fetch_norm("1:* (FLAGS)"))

    def seen_semantics(self):
        for seq, item in [(2, "BODY[TEXT]"), (5, "RFC822.TEXT"), (8, "BODY[1]"), (11, "RFC822")]:
            r, items = self.fetch(f"{seq} {item}")
            d = items.get(seq, {})
            self.put(f"FETCH {seq} {item} (sets \\Seen)", {"status": status("", r, self.norm),
                                                          "items": sorted(d), "FLAGS": flags(d.get("FLAGS"))})
        r, items = self.fetch("3 BODY.PEEK[HEADER]")
        self.put("FETCH 3 BODY.PEEK[HEADER] (no \\Seen)", sorted(items.get(3, {})))
        self.put("flags after non-peek fetches", self.fetch_norm("1:* (FLAGS)"))

    def search(self):
        U = lambda s: Literal(s.encode("utf-8"))  # noqa: E731  (UTF-8 strings go as literals)
        queries = [
            ("ALL",), ("SEEN",), ("UNSEEN",), ("FLAGGED",), ("UNFLAGGED",), ("ANSWERED",), ("UNANSWERED",),
            ("DRAFT",), ("UNDRAFT",), ("DELETED",), ("UNDELETED",), ("KEYWORD $Forwarded",), ("UNKEYWORD $Forwarded",),
            ("FROM truongphong",), ('FROM "cantho.gov.vn"',), ("TO vanthu",), ("CC truongphong",),
            ("BCC chanhvanphong",), ("SUBJECT meeting",), ("SUBJECT MEETING",), ('SUBJECT "agenda for"',),
            ("SUBJECT Fwd",),
            ("CHARSET UTF-8 SUBJECT ", U("CÔNG VĂN")), ("CHARSET UTF-8 SUBJECT ", U("công văn")),
            ("CHARSET UTF-8 SUBJECT ", U("Công văn khẩn")), ("CHARSET UTF-8 SUBJECT ", U("phòng chống bão")),
            ("CHARSET UTF-8 SUBJECT ", U("BÁO CÁO")), ("CHARSET UTF-8 SUBJECT ", U("đêm")),
            ("CHARSET UTF-8 SUBJECT ", U("ĐÊM")), ("CHARSET UTF-8 FROM ", U("Nguyễn")),
            ("CHARSET UTF-8 FROM ", U("phạm thị")), ("CHARSET UTF-8 TO ", U("Phòng Hành chính")),
            ("CHARSET UTF-8 BODY ", U("Kính gửi")), ("CHARSET UTF-8 BODY ", U("ngân sách")),
            ("CHARSET UTF-8 BODY ", U("NGÂN SÁCH")), ("CHARSET UTF-8 BODY ", U("Quốc khánh")),
            ("CHARSET UTF-8 BODY ", U("giao ban")), ("CHARSET UTF-8 TEXT ", U("Phòng Hành chính")),
            ("CHARSET UTF-8 TEXT ", U("họp giao ban")), ("BODY htmltoken-ABC",), ("TEXT ping",),
            ("BODY nosuchword",), ("CHARSET US-ASCII SUBJECT ping",),
            ('HEADER Message-ID "<grp-7@cantho.gov.vn>"',), ('HEADER X-Priority ""',), ("HEADER Reply-To vanthu",),
            ('HEADER In-Reply-To "inner-4"',),
            ("LARGER 100000",), ("SMALLER 400",), ("LARGER 1000 SMALLER 3000",),
            ("SINCE 05-Jun-2024",), ("BEFORE 05-Jun-2024",), ("ON 07-Jun-2024",), ("SINCE 1-Jan-2030",),
            ("SENTSINCE 07-Jun-2024",), ("SENTBEFORE 04-Jun-2024",), ("SENTON 10-Jun-2024",),
            ("OR FROM vanthu SUBJECT ping",), ("NOT SEEN",),
            ("OR (OR FLAGGED DRAFT) ANSWERED",), ("SEEN FLAGGED",), ("NOT FLAGGED",), ("NOT (FLAGGED)",), ("UNSEEN SUBJECT c",),
            ("UID 2:5",), ("UID 3:*",), ("UID *",), ("UID 2,4,6:7",), ("1:3",), ("2,4,6",), ("5:*",), ("*",),
            ("*:10",), ("NOT 1:3 UNSEEN",), ("UID 1:* NOT UID 5",),
        ]
        for q in queries:
            for uid in (False, True):
                r = self.cmd(*(("UID SEARCH ",) if uid else ("SEARCH ",)), *q)
                nums = sorted(int(x) for u in r.data("SEARCH") for x in u.tokens if isinstance(x, str))
                label = ("UID SEARCH " if uid else "SEARCH ") + "".join(
                    p if isinstance(p, str) else p.data.decode() for p in q)
                self.put(label, [status(label, r, self.norm), nums])
        # Dovecot 2.3.19 answers these two wrongly (it leaves out a \\Seen-only message):
        # compared with the answer computed from FETCH FLAGS in test_search_flag_logic.
        self.flag_logic = {}
        state = self._flag_state()
        for q, pred in FLAG_LOGIC.items():
            r = self.cmd("SEARCH " + q)
            self.flag_logic[q] = {"got": sorted(int(x) for u in r.data("SEARCH") for x in u.tokens if isinstance(x, str)),
                                  "want": sorted(k for k, f in state.items() if pred(set(f)))}
        self.diacritics = {}
        for q in DIACRITIC_QUERIES:   # compared against the corpus on ours only (see module doc)
            r = self.cmd("SEARCH CHARSET UTF-8 SUBJECT ", U(q))
            self.diacritics[q] = sorted(int(x) for u in r.data("SEARCH") for x in u.tokens if isinstance(x, str))
        for bad in ["SEARCH CHARSET KOI8-XX SUBJECT x", "SEARCH NOSUCHKEY", "SEARCH SINCE 32-Foo-2024",
                    "SEARCH (SEEN", "SEARCH UID abc"]:
            r = self.cmd(bad)
            self.put(bad, [status(bad, r, self.norm), [val(u.tokens) for u in r.data("SEARCH")]])
            if r.code_name == "BADCHARSET":  # the optional list of charsets (RFC 3501 7.1): strict test
                self.norm.placement[bad + " BADCHARSET list"] = val(r.code[1:])

    def _flag_state(self) -> dict[int, list[str]]:
        _, items = self.fetch("1:* (FLAGS)")
        return {seq: flags(d.get("FLAGS")) for seq, d in items.items()}

    def _store(self, label, spec, uid=False):
        """N9: the untagged FETCHes of the messages whose flags changed are compared; a
        server may also report unchanged ones (RFC 3501 6.4.6), but then with their true
        flags (else INCONSISTENT). Which ones were reported goes to the strict test."""
        before = self._flag_state()
        r = self.cmd(("UID " if uid else "") + "STORE " + spec)
        after = self._flag_state()
        items = fetch_items(r)
        self.norm.placement[label] = sorted(items)
        untagged = {}
        for k, v in sorted(items.items()):
            row = {kk: (flags(vv) if kk == "FLAGS" else val(vv)) for kk, vv in v.items()}
            if "FLAGS" in row and row["FLAGS"] != after.get(k):
                row["FLAGS"] = f"INCONSISTENT: said {row['FLAGS']}, FETCH says {after.get(k)}"
            if before.get(k) != after.get(k) or not isinstance(row.get("FLAGS"), list):
                untagged[str(k)] = row
        self.put(label, {"status": status(label, r, self.norm), "untagged": untagged,
                         "changed": sorted(k for k in after if before.get(k) != after[k])})

    def store(self):
        self._store("STORE 1 +FLAGS (\\Flagged)", "1 +FLAGS (\\Flagged)")
        self._store("STORE 2:3 -FLAGS (\\Seen)", "2:3 -FLAGS (\\Seen)")
        self._store("STORE 4 FLAGS (\\Answered $Label1)", "4 FLAGS (\\Answered $Label1)")
        self._store("STORE 5 +FLAGS.SILENT (\\Flagged)", "5 +FLAGS.SILENT (\\Flagged)")
        self._store("STORE 6 FLAGS.SILENT ()", "6 FLAGS.SILENT ()")
        self._store("UID STORE 7 +FLAGS (\\Draft Important)", "7 +FLAGS (\\Draft Important)", uid=True)
        self._store("UID STORE 8:9 -FLAGS.SILENT (\\Draft)", "8:9 -FLAGS.SILENT (\\Draft)", uid=True)
        self._store("STORE 1 +FLAGS (\\Recent) (not settable)", "1 +FLAGS (\\Recent)")
        self._store("STORE 1 +FLAGS (\\Bogus)", "1 +FLAGS (\\Bogus)")
        self._store("STORE 999 +FLAGS (\\Seen)", "999 +FLAGS (\\Seen)")
        self._store("UID STORE 999 +FLAGS (\\Seen)", "999 +FLAGS (\\Seen)", uid=True)
        self._store("STORE 1 XFLAGS (\\Seen)", "1 XFLAGS (\\Seen)")
        self.cmd("NOOP")
        self.put("flags after STORE", self.fetch_norm("1:* (FLAGS)"))
        self.put("SELECT INBOX after STORE (FLAGS/PERMANENTFLAGS)", self.open_box("SELECT", "INBOX"))

    def _copyuid(self, code, box):
        if not code or not isinstance(code[0], str) or code[0].upper() != "COPYUID" or len(code) < 4:
            return None
        return [self.norm.uv(box, code[1]), seqset(code[2]), seqset(code[3])]

    def copy_move(self):
        for label, cmdline, box in [("COPY 1:3 Trash", "COPY 1:3 Trash", "Trash"),
                                    ("UID COPY 4,6 Sent", "UID COPY 4,6 Sent", "Sent"),
                                    ("UID COPY 999 Sent (no such uid)", "UID COPY 999 Sent", "Sent"),
                                    ("COPY 1 Nonexistent (TRYCREATE)", "COPY 1 Nonexistent", None),
                                    ("COPY 999 Trash (bad seq)", "COPY 999 Trash", "Trash")]:
            r = self.cmd(cmdline)
            self.put(label, {"status": status(label, r, self.norm), "copyuid": self._copyuid(r.code, box)})
        self.put("STATUS Trash after COPY", self.status_of("Trash"))
        self.put("STATUS Sent after COPY", self.status_of("Sent"))
        for label, cmdline in [("MOVE 2 Junk", "MOVE 2 Junk"), ("UID MOVE 5:6 Junk", "UID MOVE 5:6 Junk"),
                               ("UID MOVE 999 Junk (no such uid)", "UID MOVE 999 Junk"),
                               ("MOVE 1 Nonexistent", "MOVE 1 Nonexistent")]:
            uids_before = self._uids()
            r = self.cmd(cmdline)
            copyuid = [self._copyuid(u.code, "Junk") for u in r.untagged if u.kind == "OK" and u.code]
            copyuid = [c for c in copyuid if c] or ([self._copyuid(r.code, "Junk")] if self._copyuid(r.code, "Junk") else [])
            self.norm.placement[label] = {"copyuid_untagged": any(
                u.kind == "OK" and u.code and str(u.code[0]).upper() == "COPYUID" for u in r.untagged),
                "expunge_seqs": [u.number for u in r.data("EXPUNGE")]}
            self.put(label, {"status": status(label, r, self.norm), "copyuid": copyuid,
                             "expunged uids": replay_expunges(uids_before, [u.number for u in r.data("EXPUNGE")])})
        self.put("STATUS Junk after MOVE", self.status_of("Junk"))
        self.put("SELECT Junk", self.open_box("SELECT", "Junk"))
        self.put("Junk: FETCH 1:* (UID FLAGS INTERNALDATE ENVELOPE)", self.fetch_norm("1:* (UID FLAGS INTERNALDATE ENVELOPE)"))
        self.put("SELECT Trash", self.open_box("SELECT", "Trash"))
        self.put("Trash: FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)", self.fetch_norm("1:* (UID FLAGS INTERNALDATE RFC822.SIZE)"))
        self.put("SELECT INBOX after MOVE", self.open_box("SELECT", "INBOX"))

    def _uids(self) -> list[int]:
        _, items = self.fetch("1:* (UID)")
        return [int(items[s]["UID"]) for s in sorted(items)]

    def expunge(self):
        self.cmd("STORE 1,3,5 +FLAGS.SILENT (\\Deleted)")
        before = self._uids()
        r = self.cmd("EXPUNGE")
        seqs = [u.number for u in r.data("EXPUNGE")]
        self.norm.placement["EXPUNGE"] = seqs
        self.put("EXPUNGE", {"status": status("EXPUNGE", r, self.norm), "expunged uids": replay_expunges(before, seqs)})
        self.put("after EXPUNGE", self.fetch_norm("1:* (UID FLAGS)"))
        uids = self._uids()
        self.cmd(f"UID STORE {uids[0]},{uids[-1]} +FLAGS.SILENT (\\Deleted)")
        before = self._uids()
        r = self.cmd(f"UID EXPUNGE {uids[-1]}")
        seqs = [u.number for u in r.data("EXPUNGE")]
        self.norm.placement["UID EXPUNGE"] = seqs
        self.put("UID EXPUNGE last", {"status": status("UID EXPUNGE", r, self.norm),
                                      "expunged uids": replay_expunges(before, seqs)})
        self.put("after UID EXPUNGE (first still \\Deleted)", self.fetch_norm("1:* (UID FLAGS)"))
        r = self.cmd("UID EXPUNGE 999")
        self.put("UID EXPUNGE 999", [status("", r, self.norm), [u.number for u in r.data("EXPUNGE")]])
        self.put("STATUS INBOX after EXPUNGE", self.status_of("INBOX", "MESSAGES UIDNEXT UNSEEN"))

    def _append(self, label, box, flag_s, date, raw, literal_plus=False):
        parts = [f"APPEND {quote(mutf7_encode(box))} "]
        if flag_s is not None:
            parts.append(f"({flag_s}) ")
        if date:
            parts.append(f'"{date}" ')
        parts.append(Literal(raw))
        r = self.cmd(*parts, literal_plus=literal_plus)
        au = None
        if r.code_name == "APPENDUID" and len(r.code) >= 3:
            au = [self.norm.uv(box, r.code[1]), seqset(r.code[2])]
        self.norm.placement[label] = [u.kind for u in r.untagged if u.kind in ("EXISTS", "RECENT", "FETCH")]
        self.put(label, {"status": status(label, r, self.norm), "appenduid": au})

    def append(self):
        raw = self.corpus[0].raw
        self._append("APPEND Sent (\\Seen) date", "Sent", "\\Seen", "15-Jun-2024 09:00:00 +0700", raw)
        self._append("APPEND Drafts LITERAL+", "Drafts", "\\Draft $Label2", None, self.corpus[2].raw, literal_plus=True)
        self._append("APPEND INBOX (selected) no flags", "INBOX", None, None, self.corpus[4].raw)
        self._append("APPEND INBOX () empty flag list", "INBOX", "", "01-Jan-2024 00:00:00 +0000", b"Subject: x\r\n\r\nx\r\n")
        self._append("APPEND Nonexistent (TRYCREATE)", "Nonexistent", None, None, raw)
        self._append("APPEND bad date", "INBOX", None, "32-Foo-2024 00:00:00 +0000", raw)
        self._append("APPEND bad flag", "INBOX", "\\Bogus", None, raw)
        self.cmd("NOOP")
        self.put("INBOX after APPEND + NOOP", self.fetch_norm("1:* (UID FLAGS INTERNALDATE RFC822.SIZE)"))
        self.put("STATUS Sent after APPEND", self.status_of("Sent"))
        self.put("SELECT Drafts", self.open_box("EXAMINE", "Drafts"))
        self.put("Drafts: FETCH", self.fetch_norm("1:* (UID FLAGS RFC822.SIZE ENVELOPE)"))
        self.put("SELECT INBOX after APPEND", self.open_box("SELECT", "INBOX"))

    def folders(self):
        C = lambda verb, *names: self.cmd(verb + " " + " ".join(quote(mutf7_encode(n)) for n in names))  # noqa: E731
        for label, verb, names in [
            ("CREATE Công văn/2024", "CREATE", ["Công văn/2024"]),
            ("CREATE Lưu trữ", "CREATE", ["Lưu trữ"]),
            ("CREATE Lưu trữ again", "CREATE", ["Lưu trữ"]),
            ("CREATE inbox", "CREATE", ["inbox"]),
        ]:
            self.put(label, status(label, C(verb, *names), self.norm))
        self.put('LIST after CREATE', self.list_cmd("LIST", "", "*"))
        self.put('LIST "" "Công văn/%"', self.list_cmd("LIST", "", "Công văn/%"))
        self.put('LIST "" "C%"', self.list_cmd("LIST", "", "C%"))
        self.put('LIST "" "%" after CREATE', self.list_cmd("LIST", "", "%"))
        self.put('LSUB after CREATE', self.list_cmd("LSUB", "", "*"))
        self.put("SUBSCRIBE Lưu trữ", status("", C("SUBSCRIBE", "Lưu trữ"), self.norm))
        self.put("LSUB after SUBSCRIBE", self.list_cmd("LSUB", "", "*"))
        self.put("UNSUBSCRIBE Lưu trữ", status("", C("UNSUBSCRIBE", "Lưu trữ"), self.norm))
        self.put("LSUB after UNSUBSCRIBE", self.list_cmd("LSUB", "", "*"))
        self.put("STATUS Công văn/2024", self.status_of("Công văn/2024"))
        self.put("COPY 1:2 to Công văn/2024", {"status": status("", r := C("COPY 1:2", "Công văn/2024"), self.norm),
                                              "copyuid": self._copyuid(r.code, "Công văn/2024")})
        self.put("RENAME Lưu trữ -> Lưu trữ cũ", status("", C("RENAME", "Lưu trữ", "Lưu trữ cũ"), self.norm))
        self.put("RENAME Công văn -> Văn bản đến", status("", C("RENAME", "Công văn", "Văn bản đến"), self.norm))
        self.put("RENAME to existing", status("", C("RENAME", "Lưu trữ cũ", "Sent"), self.norm))
        self.put("RENAME nonexistent", status("", C("RENAME", "Không có", "Khác"), self.norm))
        self.put("LIST after RENAME", self.list_cmd("LIST", "", "*"))
        self.put("STATUS Văn bản đến/2024 (moved with parent, same UIDVALIDITY)", self.status_of("Văn bản đến/2024"))
        self.put("EXAMINE Văn bản đến/2024", self.open_box("EXAMINE", "Văn bản đến/2024"))
        self.put("Văn bản đến/2024: FETCH", self.fetch_norm("1:* (UID FLAGS ENVELOPE)"))
        self.open_box("SELECT", "INBOX")  # Dovecot disconnects a session whose selected mailbox is deleted
        self.put("DELETE Lưu trữ cũ", status("", C("DELETE", "Lưu trữ cũ"), self.norm))
        self.put("DELETE INBOX", status("", C("DELETE", "INBOX"), self.norm))
        self.put("DELETE nonexistent", status("", C("DELETE", "Không có"), self.norm))
        self.put("DELETE Văn bản đến (has a child)", status("", C("DELETE", "Văn bản đến"), self.norm))
        self.put("LIST after DELETE of a parent", self.list_cmd("LIST", "", "*"))
        self.put('LIST "" "%" after DELETE of a parent', self.list_cmd("LIST", "", "%"))
        self.put("DELETE Văn bản đến/2024", status("", C("DELETE", "Văn bản đến/2024"), self.norm))
        # N13: a \Noselect parent exists in our store only while it has children, so once its
        # last child is gone it has gone too (our DELETE of it: NO [NONEXISTENT]); Dovecot keeps
        # the empty maildir directory until it is DELETEd (OK). The next LIST compares the
        # state both servers end in.
        C("DELETE", "Văn bản đến")
        self.put("LIST at end", self.list_cmd("LIST", "", "*"))

    def errors_and_close(self):
        self.put("SELECT INBOX (end)", self.open_box("SELECT", "INBOX"))
        for label in ["FETCH 999 FLAGS", "FETCH 1 BODY[99]", "FETCH 1 BODY[1.99]", "FETCH 1 BODY[HEADER.FIELDS]",
                      "FETCH 1 BODY[NOSUCH]", "FETCH 1 (FLAGS", "FETCH 0 FLAGS", "FETCH 1 NOSUCHITEM",
                      "FETCH 1 BODY[]<10.0>", "FETCH 1 BODY[1]<0>", "COPY 1",
                      "UID FETCH 1:2 (UID", "FETCH 1 BODY[MIME]"]:
            r = self.cmd(label)
            self.put(label, [status(label, r, self.norm),
                             {str(k): val_items(v) for k, v in fetch_items(r).items()}])
        self.put("CHECK", status("", self.cmd("CHECK"), self.norm))
        self.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
        r = self.cmd("UNSELECT")
        self.put("UNSELECT (no expunge)", [status("", r, self.norm), [u.number for u in r.data("EXPUNGE")]])
        self.put("FETCH after UNSELECT", status("", self.cmd("FETCH 1 FLAGS"), self.norm))
        self.put("STATUS INBOX after UNSELECT", self.status_of("INBOX", "MESSAGES"))
        self.open_box("SELECT", "INBOX")
        r = self.cmd("CLOSE")
        self.put("CLOSE (expunges silently)", [status("", r, self.norm), [u.number for u in r.data("EXPUNGE")]])
        self.put("STATUS INBOX after CLOSE", self.status_of("INBOX", "MESSAGES"))
        self.put("CLOSE when not selected", status("", self.cmd("CLOSE"), self.norm))
        self.put("SELECT nonexistent", self.open_box("SELECT", "Không có"))
        self.put("EXPUNGE after failed SELECT", status("", self.cmd("EXPUNGE"), self.norm))
        self.put("LOGIN when authenticated", status("", self.cmd(f"LOGIN {USER} {quote(PASSWORD)}"), self.norm))
        self.put("unknown command", status("", self.cmd("XYZZY"), self.norm))
        self.put("NOOP at end", status("", self.cmd("NOOP"), self.norm))


def val_items(d: dict | None) -> dict | None:
    if d is None:
        return None
    return {k: (flags(v) if k == "FLAGS" else val(v)) for k, v in d.items()}


def walk_body(bs, prefix: str):
    """(part number, kind) of every part of a message body, from its BODYSTRUCTURE."""
    if not isinstance(bs, list) or not bs:
        return
    join = (lambda i: f"{prefix}.{i}") if prefix else str
    if isinstance(bs[0], list):
        for i, child in enumerate([x for x in bs if isinstance(x, list)], 1):
            yield from walk_part(child, join(i))
    else:
        yield from walk_part(bs, join(1))


def walk_part(bs, num: str):
    if isinstance(bs[0], list):
        yield num, "multipart"
        for i, child in enumerate([x for x in bs if isinstance(x, list)], 1):
            yield from walk_part(child, f"{num}.{i}")
    elif (bs[0] or b"").lower() == b"message" and (bs[1] or b"").lower() == b"rfc822" and len(bs) > 8:
        yield num, "message"
        yield from walk_body(bs[8], num)
    else:
        yield num, "leaf"


def replay_expunges(uids: list[int], seqs: list[int]) -> list[int] | str:
    """The UIDs removed by a series of ``* n EXPUNGE`` (each renumbers the rest)."""
    uids, gone = list(uids), []
    for n in seqs:
        if not 1 <= n <= len(uids):
            return f"INVALID EXPUNGE {n} of {len(uids)}"
        gone.append(uids.pop(n - 1))
    return sorted(gone)


# --- delivery and runs ----------------------------------------------------------------------

def deliver(conn, corpus) -> list:
    out = []
    for m in corpus:
        r = command(conn, f"APPEND INBOX ({' '.join(m.flags)}) \"{m.internaldate}\" ", Literal(m.raw))
        assert r.status == "OK", (m.key, r)
        out.append([r.status, r.code_name, seqset(r.code[2]) if r.code_name == "APPENDUID" else None])
    return out


def connect(port: int) -> imaplib.IMAP4:
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    conn.login(USER, PASSWORD)
    return conn


def full_run(port: int, corpus) -> dict:
    conn = connect(port)
    try:
        delivered = deliver(conn, corpus)
    finally:
        conn.logout()
    conn = connect(port)   # a new session, as a client would open after delivery
    try:
        script = Script(conn, corpus)
        t0 = time.monotonic()
        results = script.run()
        results["deliver (APPENDUID)"] = delivered
        return {"results": results, "placement": script.norm.placement, "recent": script.norm.recent,
                "seconds": time.monotonic() - t0, "caps": sorted(script.caps),
                "diacritics": script.diacritics, "flag_logic": script.flag_logic, "phase_of": script.phase_of}
    finally:
        try:
            conn.logout()
        except Exception:
            pass


def compare(ours: dict, theirs: dict, skip=("codes",)) -> list[str]:
    diffs = []
    for key in list(dict.fromkeys(list(theirs) + list(ours))):
        if key in skip:
            continue
        a, b = ours.get(key, "<missing>"), theirs.get(key, "<missing>")
        if a != b:
            diffs.append(f"{key}\n    ours:    {json.dumps(a, ensure_ascii=False)[:1500]}\n"
                         f"    dovecot: {json.dumps(b, ensure_ascii=False)[:1500]}")
    return diffs


# --- the tests ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus():
    return messages(big=True)


@pytest.fixture(scope="module")
def dovecot_run(dovecot_server, corpus):
    return full_run(dovecot_server.port, corpus)


@pytest.fixture(scope="module")
def our_run(our_imap, corpus):
    return full_run(our_imap.port, corpus)


def test_harness_dovecot_sanity(dovecot_run, corpus):
    """The script itself, proven on Dovecot: facts any correct server shows."""
    r = dovecot_run["results"]
    assert r["capability IMAP4rev1"] is True
    assert r["SELECT INBOX"]["EXISTS"] == len(corpus)
    assert all(r[f"[{m.key}] BODY[] == appended bytes"] for m in corpus)
    assert r["SEARCH CHARSET UTF-8 SUBJECT CÔNG VĂN"][1] == [2, 4, 5, 6]
    assert r["deliver (APPENDUID)"] == [["OK", "APPENDUID", [i]] for i in range(1, len(corpus) + 1)]


def test_delivery_same_as_dovecot(our_run, dovecot_run):
    assert our_run["results"]["deliver (APPENDUID)"] == dovecot_run["results"]["deliver (APPENDUID)"]


@pytest.mark.parametrize("phase", PHASES)
def test_same_results_as_dovecot(our_run, dovecot_run, phase):
    """Every step of one phase of the script gives the same normalised result."""
    keys = [k for k, p in dovecot_run["phase_of"].items() if p == phase]
    keys += [k for k, p in our_run["phase_of"].items() if p == phase and k not in keys]
    pick = lambda run: {k: run["results"].get(k, "<missing>") for k in keys}  # noqa: E731
    diffs = compare(pick(our_run), pick(dovecot_run))
    assert not diffs, f"{len(diffs)} differences from Dovecot:\n" + "\n".join(diffs)


@pytest.mark.xfail(strict=False, reason=(
    "legal choices where ours keeps differing from Dovecot, decided by the lead: "
    "SELECT's FLAGS/PERMANENTFLAGS list keywords in use now (Dovecot: every keyword ever used); "
    "[BADCHARSET (UTF-8 US-ASCII)] lists charsets (Dovecot: bare [BADCHARSET]); "
    "STORE on an EXAMINEd mailbox answers NO (Dovecot: OK, ignored)"))
def test_untagged_placement(our_run, dovecot_run):
    """N9/N10's exact placement: when EXISTS/FETCH come and the order of EXPUNGE lines.
    Both choices are legal; a difference here is for the lead to weigh (clients like
    Thunderbird cope with either)."""
    diffs = compare(our_run["placement"], dovecot_run["placement"], skip=())
    assert not diffs, "\n".join(diffs)


@pytest.mark.xfail(strict=False, reason=(
    "RFC 5530 codes are optional; ours sends [ALREADYEXISTS] and [NONEXISTENT] (RENAME/DELETE "
    "of a missing folder); Dovecot also sends [CANNOT] and [CLIENTBUG]"))
def test_rfc5530_response_codes(our_run, dovecot_run):
    """N2's dropped codes: Dovecot answers with RFC 5530 codes ([ALREADYEXISTS],
    [NONEXISTENT], [CANNOT]...). Not required by RFC 3501."""
    assert our_run["results"]["codes"] == dovecot_run["results"]["codes"]


def test_recent(our_run, dovecot_run):
    """\\Recent / RECENT counts, session-dependent (N5): the first session to see new mail."""
    assert our_run["recent"] == dovecot_run["recent"]


def test_search_diacritics(our_run, dovecot_run, corpus):
    """Ours: SUBJECT matches case-insensitively with diacritics kept ("ca" is not "cà", "truc"
    is not "trực"). Dovecot's answers are recorded in the message, not required: it folds
    with i;unicode-casemap (decomposes, drops combining marks), so "ca" also finds "Cà phê"
    and "Báo cáo", and "truc" finds "trực"."""
    import unicodedata
    fold = lambda s: unicodedata.normalize("NFC", s).casefold()  # noqa: E731
    want = {q: [i for i, m in enumerate(corpus, 1) if fold(q) in fold(m.subject)] for q in DIACRITIC_QUERIES}
    assert want["ca"] == [9] and want["cà"] == [8]
    assert our_run["diacritics"] == want, f"Dovecot answered {dovecot_run['diacritics']}"


def test_search_flag_logic(our_run, dovecot_run):
    """NOT/OR over flags, checked against the flags themselves. Dovecot 2.3.19 gets
    ``NOT (FLAGGED SEEN)`` and ``OR UNFLAGGED UNSEEN`` wrong (it drops the message that is
    \\Seen and not \\Flagged): its answer is shown, not required."""
    for q, res in our_run["flag_logic"].items():
        assert res["got"] == res["want"], (q, res, "dovecot:", dovecot_run["flag_logic"][q])
