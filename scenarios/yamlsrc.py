"""YAML with line numbers: parse a scenario file once into plain Python data plus a map
from each value's path (``("rubric", "criteria", 3, "points")``) to the line it starts on,
so every validation message can name the file and line."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (a silent overwrite hides an examiner's typo)."""


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
    """Parse YAML text; raises :class:`YamlError` with the line of a syntax error."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "cú pháp YAML không hợp lệ"
        return_line = mark.line + 1 if mark else None
        raise YamlError(return_line, _vi_yaml_problem(problem)) from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise YamlError(None, f"cú pháp YAML không hợp lệ: {exc}") from None
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
    }
    for en, vi in known.items():
        if problem.startswith(en):
            return vi
    if "bị lặp lại" in problem:
        return problem
    return f"cú pháp YAML không hợp lệ ({problem})"
