"""Fuzzing the scenario YAML loader (``scenarios.validate``/``scenarios.library``). Contract:
``validate_text`` returns ``(scenario or None, problems)`` and never raises: every problem is
a Vietnamese ``file:line: message``; ``library.load`` raises only ``InvalidScenario``."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import example, given, strategies as st

from scenarios.library import InvalidScenario, load
from scenarios.validate import validate_text
from tests.fuzz.conftest import count

MINIMAL_PATH = Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml"
MINIMAL = MINIMAL_PATH.read_text(encoding="utf-8")
MINIMAL_DATA = yaml.safe_load(MINIMAL)
SNIPPETS = [":", "- ", "  ", "\n", "&a ", "*a", "!!python/object:os.system", "? ", "{", "}", "[", "]", "\"", "'", "#",
            "{recipient.name}", "{x.y.z}", "{", "}", "%", "|", ">", "\t", "---", "...", "~", "null", "1e999", "-1",
            "<<: *a", "Ư", "\x00", "\ufeff"]


def _check(text: str) -> None:
    sc, problems = validate_text(text, "fuzz.yaml")
    for p in problems:
        assert isinstance(p.message, str) and p.message
    if sc is None:
        assert problems


scalars = st.none() | st.booleans() | st.integers(-10**6, 10**12) | st.floats(allow_nan=True) | st.text(max_size=30)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                      max_leaves=12)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(MINIMAL_DATA) if p]


@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4))
def test_fuzz_scenario_values(changes):
    """The shipped drill with values swapped for others of any type, anywhere."""
    count("test_fuzz_scenario_values")
    data = copy.deepcopy(MINIMAL_DATA)
    for path, value in changes:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _check(yaml.safe_dump(data, allow_unicode=True))


@given(st.lists(st.tuples(st.integers(0, len(MINIMAL)), st.sampled_from(SNIPPETS) | st.text(max_size=5),
                          st.integers(0, 8)), min_size=1, max_size=6))
@example([(0, "\x00", 0)])
def test_fuzz_scenario_text(edits):
    """The drill's text with characters inserted and cut anywhere."""
    count("test_fuzz_scenario_text")
    text = MINIMAL
    for pos, insert, cut in edits:
        pos = min(pos, len(text))
        text = text[:pos] + insert + text[pos + cut:]
    _check(text)


@given(st.text(max_size=300))
def test_fuzz_scenario_any_text(text):
    count("test_fuzz_scenario_any_text")
    _check(text)


@given(st.binary(max_size=200))
def test_fuzz_scenario_file(tmp_path_factory, raw):
    count("test_fuzz_scenario_file")
    path = tmp_path_factory.getbasetemp() / "fuzz-de.yaml"
    path.write_bytes(raw)
    try:
        load(str(path))
    except InvalidScenario as e:
        assert e.message_vi
