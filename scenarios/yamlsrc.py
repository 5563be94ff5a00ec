"""YAML with line numbers: parse a scenario file once into plain Python data plus a map
from each value's path (``("rubric", "criteria", 3, "points")``) to the line it starts on,
so every validation message can name the file and line.

The input is bounded, so a malformed or hostile file is refused with its line in well under
a second instead of hanging or overflowing the stack: at most :data:`MAX_BYTES` of text,
:data:`MAX_DEPTH` levels of nested lists and groups, :data:`MAX_NODES` values once every
alias (``*name``) is expanded (a "billion laughs" file is refused while it is read, not
after), no alias to a value that contains it, and only scalar mapping keys (``? [a, b]``
or ``{a: 1}: b`` cannot be a field name)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
                         SequenceStartEvent)

Path = tuple[Any, ...]

#: the largest scenario file (the shipped exam sets are about 20 KiB)
MAX_BYTES = 1024 * 1024
#: nesting of lists and groups (the shipped files use at most 9)
MAX_DEPTH = 64
#: values in the file, aliases counted as many times as they are used (shipped: about 1,100)
MAX_NODES = 10_000


class _Refused(yaml.MarkedYAMLError):
    """A limit of this module: its problem is already a Vietnamese message."""


_COMPLEX_KEY = ("khoá phải là một tên (chuỗi), không được là danh sách hay nhóm trường "
                "(dạng '? ...' hoặc '{...}: ...')")

_TOO_DEEP = f"danh sách/nhóm trường lồng nhau quá sâu (quá {MAX_DEPTH} cấp)"


def _vn_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class _Limits:
    """The limits, checked on the event stream as it is read (no recursion, nothing built):
    nesting depth, values with every alias expanded, aliases into their own value, and
    keys that are lists or groups."""

    def __init__(self):
        self.count = 0
        self.stack: list[list] = []          # open collections: [count at start, anchor, mapping?, key next?]
        self.done: dict[str, tuple[int, bool]] = {}   # anchor -> (expanded size, a collection?)
        self.open: set[str] = set()

    def _add(self, n: int, mark) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise _Refused(None, None, f"tệp có quá nhiều giá trị (quá {_vn_int(MAX_NODES)} giá trị khi đã thay "
                                       "mọi bí danh *tên bằng nội dung của nó)", mark)

    def feed(self, ev) -> None:
        if isinstance(ev, (SequenceEndEvent, MappingEndEvent)):
            start, anchor, _m, _k = self.stack.pop()
            if anchor is not None:
                self.open.discard(anchor)
                self.done[anchor] = (self.count - start, True)
            return
        if not isinstance(ev, (ScalarEvent, AliasEvent, SequenceStartEvent, MappingStartEvent)):
            return
        collection = isinstance(ev, (SequenceStartEvent, MappingStartEvent))
        if self.stack and self.stack[-1][2]:            # inside a mapping: a key, then its value
            top = self.stack[-1]
            if top[3] and (collection or (isinstance(ev, AliasEvent) and self.done.get(ev.anchor, (0, False))[1])):
                raise _Refused(None, None, _COMPLEX_KEY, ev.start_mark)
            top[3] = not top[3]
        if isinstance(ev, AliasEvent):
            if ev.anchor in self.open:
                raise _Refused(None, None, f"bí danh *{ev.anchor} trỏ vào chính giá trị chứa nó (tham chiếu vòng)",
                               ev.start_mark)
            self._add(self.done.get(ev.anchor, (1, False))[0], ev.start_mark)   # undefined: the parser says so
            return
        self._add(1, ev.start_mark)
        if isinstance(ev, ScalarEvent):
            if ev.anchor is not None:
                self.done[ev.anchor] = (1, False)
            return
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(None, None, _TOO_DEEP, ev.start_mark)
        self.stack.append([self.count - 1, ev.anchor, isinstance(ev, MappingStartEvent), True])
        if ev.anchor is not None:
            self.open.add(ev.anchor)


def _check_fast(text: str) -> None:
    """The limits on libyaml's events when it is installed (a few milliseconds where the
    pure-Python scanner needs most of a second on a hostile file). A syntax error is left
    to the pure-Python pass, whose messages the translations know."""
    if not getattr(yaml, "__with_libyaml__", False):
        return
    limits = _Limits()
    loader = yaml.CSafeLoader(text)
    try:
        while loader.check_event():
            limits.feed(loader.get_event())
    except _Refused:
        raise
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in (exc.problem or ""):      # libyaml's own limit (1000), met while scanning ahead
            raise _Refused(None, None, _TOO_DEEP, exc.problem_mark) from None
        return
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (a silent overwrite hides an examiner's typo)
    and checks the limits on every event the composer takes, before anything is built."""

    def __init__(self, stream):
        super().__init__(stream)
        self._limits = _Limits()

    def get_event(self):
        event = super().get_event()
        self._limits.feed(event)
        return event

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:   # 2026-02-30, !!int 0xZZ, !!float abc
            shown = node.value if isinstance(node, yaml.ScalarNode) else "..."
            if node.tag == "tag:yaml.org,2002:timestamp":
                message = f"ngày '{shown}' không có thật (viết theo dạng năm-tháng-ngày, ví dụ 2026-01-05)"
            else:
                message = f"giá trị '{shown}' không đọc được theo kiểu {node.tag.rsplit(':', 1)[-1]}"
            raise _Refused(None, None, message, node.start_mark) from None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"khoá '{key}' bị lặp lại (đã có ở dòng {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Source:
    data: Any
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                # the key's line: a value that is a block starts on the next line
                lines[path + (k.value,)] = k.start_mark.line + 1
                _walk(v, path + (k.value,), lines)
                lines[path + (k.value,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)


def parse(text: str) -> Source:
    """Parse YAML text; raises :class:`YamlError` with the line of a syntax error or of the
    place a limit (size, depth, number of values, keys) was passed."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8")) > MAX_BYTES:
        size = f"{len(text.encode('utf-8')) / (1024 * 1024):.1f}".replace(".", ",")
        raise YamlError(1, f"tệp quá lớn ({size} MiB); tệp đề không được vượt quá "
                           f"{MAX_BYTES // (1024 * 1024)} MiB ({_vn_int(MAX_BYTES)} byte)")
    loader = None
    try:
        _check_fast(text)
        loader = _Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise YamlError(exc.problem_mark.line + 1 if exc.problem_mark else 1, exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "cú pháp YAML không hợp lệ"
        if (exc.context or "").startswith("found duplicate anchor"):   # the problem is "second occurrence"
            problem = exc.context
        raise YamlError(mark.line + 1 if mark else 1, _vi_yaml_problem(problem)) from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1 if isinstance(exc.position, int) else 1
        raise YamlError(line, f"tệp có ký tự điều khiển không được phép (mã #x{exc.character:04x})"
                        if isinstance(exc.character, int) else f"cú pháp YAML không hợp lệ: {exc}") from None
    except yaml.YAMLError as exc:  # pragma: no cover - other unmarked errors are rare
        raise YamlError(1, f"cú pháp YAML không hợp lệ: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return Source(data, lines)


def _vi_yaml_problem(problem: str) -> str:
    known = {
        "found character '\\t' that cannot start any token":
            "có ký tự TAB: YAML chỉ dùng dấu cách để thụt lề",
        "mapping values are not allowed here": "dấu hai chấm ở chỗ không hợp lệ (thiếu dấu nháy quanh chuỗi?)",
        "could not find expected ':'": "thiếu dấu hai chấm sau tên trường",
        "expected <block end>, but found '-'": "thụt lề không thẳng hàng",
        "found unexpected end of stream": "tệp kết thúc giữa chừng (thiếu dấu nháy đóng?)",
        "but found another document": "tệp chỉ được chứa một tài liệu YAML (có thêm dòng '---' hoặc '...')",
    }
    for en, vi in known.items():
        if problem.startswith(en):
            return vi
    if "bị lặp lại" in problem:
        return problem
    m = re.match(r"found undefined alias '(.*)'", problem)
    if m:
        return f"bí danh *{m.group(1)} chưa được khai báo (cần có neo &{m.group(1)} ở phía trên)"
    m = re.match(r"found duplicate anchor '(.*)'", problem)
    if m:
        return f"neo &{m.group(1)} được khai báo hai lần"
    return f"cú pháp YAML không hợp lệ ({problem})"
