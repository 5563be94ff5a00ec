"""Fuzzing the IMAP command parser (``mailserver.imap.parser``, FETCH attributes, SEARCH
programs). Contract: a command line is either parsed into (tag, command, tokens) or refused
with ``ParseError`` (which the server answers BAD); FETCH attributes and sequence sets raise
``ParseError``, a SEARCH program ``SearchError`` (answered NO); never another exception."""
from __future__ import annotations

from hypothesis import example, given, strategies as st

from mailserver.imap import parser
from mailserver.imap.fetch import parse_atts
from mailserver.imap.search import SearchError, compile_search
from tests.fuzz.conftest import count

COMMANDS = ["FETCH", "UID", "SEARCH", "SELECT", "LOGIN", "APPEND", "STORE", "COPY", "LIST", "STATUS", "NOOP"]
TOKENS = ["1:*", "*", "1,3:5", "0", "4294967296", "(FLAGS", "BODY[HEADER.FIELDS (From To)]", "BODY.PEEK[1.2.MIME]<0.10>",
          "BODY[]<5>", "RFC822", "ENVELOPE", "BODYSTRUCTURE", "ALL", "FAST", "FULL", "(", ")", "[", "]", "\"quoted\\\"\"",
          "\"unterminated", "{5}", "{5+}", "~{3}", "NIL", "CHARSET", "UTF-8", "SUBJECT", "FROM", "OR", "NOT", "SINCE",
          "1-Jan-2024", "32-Foo-2024", "LARGER", "-1", "HEADER", "UID", "BEFORE", "TEXT", "\\Seen", "KEYWORD", "%", "\x00"]


def _check(line: bytes) -> None:
    try:
        tag, command, args = parser.parse_command(line)
    except parser.ParseError as e:
        assert isinstance(getattr(e, "tag", "*"), str)
        return
    assert isinstance(tag, str) and command.isupper()
    if command == "UID" and args and isinstance(args[0], str):
        command, args = str(args[0]).upper(), args[1:]
    try:
        if command == "FETCH" and args:
            if isinstance(args[0], str):
                parser.parse_sequence_set(str(args[0]), 7)
            parse_atts(args[1:], uid_command=False)
        elif command == "SEARCH":
            compile_search(args)
    except (parser.ParseError, SearchError):
        pass


@st.composite
def command_lines(draw):
    tag = draw(st.sampled_from(["a1", "A001", "*", "+", "x.y", ""]) | st.text("abcXYZ019.", max_size=5))
    words = draw(st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=10))
    cmd = draw(st.sampled_from(COMMANDS) | st.text(max_size=6))
    sep = draw(st.sampled_from([" ", "  ", "\t"]))
    return (tag + " " + cmd + " " + sep.join(words)).encode("utf-8", "surrogatepass")


@given(command_lines())
@example(b"a1 FETCH 1 (BODY[HEADER.FIELDS (")
@example(b"a1 SEARCH (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((")
@example(b"a1 UID FETCH 1:* BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20]")
def test_fuzz_imap_structured(line):
    count("test_fuzz_imap_structured")
    _check(line)


@given(st.binary(max_size=300))
@example(b"\x80 A")   # found by this target: an 8-bit tag raised UnicodeDecodeError
def test_fuzz_imap_bytes(line):
    count("test_fuzz_imap_bytes")
    _check(line)


@given(st.text(alphabet="0123456789:*,-x ", max_size=30), st.integers(0, 2**32))
def test_fuzz_imap_sequence_set(text, largest):
    count("test_fuzz_imap_sequence_set")
    try:
        ranges = parser.parse_sequence_set(text, largest)
    except parser.ParseError:
        return
    assert all(lo <= hi for lo, hi in ranges)
