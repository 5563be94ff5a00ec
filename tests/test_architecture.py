"""The house rules of DESIGN.md §2–3, read off the import graph of the code as it is.

* **Floors.** Every module stands on a floor; it imports modules of its own floor or below,
  never above. The kernel (``sandbox.kernel``) is the ground floor and imports nothing of ours
  outside itself.
* **No circles.** No module imports (even lazily, inside a function) a module that imports it
  back, directly or around a loop.
* **Public APIs.** A tool package is reached by other packages only through its public
  modules, and nobody outside it imports its tables (``models``).
* **Time and chance** come from the sandbox's clock and seeded generators: the global
  ``random`` functions are never called.

The checks are functions of a graph, so the tests at the end feed them bad graphs and show
that each rule can fail.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sandbox", "mailserver", "docflow", "signing", "scenarios", "grader")

#: Floors, lowest first: (floor name, module prefixes). A module belongs to the floor of its
#: longest matching prefix.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("kernel", ("sandbox.kernel",)),
    ("tools", ("mailserver", "signing", "docflow")),
    ("scenarios", ("scenarios",)),
    ("grader", ("grader",)),
    ("contest", ("sandbox.contest",)),
    ("replay", ("sandbox.replay",)),
    ("features", ("sandbox.appeals", "sandbox.training")),
    ("composition", ("sandbox", "sandbox.runtime", "sandbox.web", "sandbox.server", "sandbox.cli",
                     "sandbox.demo")),
]

#: What a tool package may import of another tool package on its floor (DESIGN.md §2: docflow
#: stands on signing and mailserver through their public APIs).
TOOL_ORDER = {"mailserver": set(), "signing": set(), "docflow": {"signing", "mailserver"}}

#: A tool package's public modules: what packages outside it may import.
PUBLIC = {
    "mailserver": ("mailserver", "mailserver.api", "mailserver.errors", "mailserver.mime",
                   "mailserver.webmail", "mailserver.smtp", "mailserver.imap.server",
                   "mailserver.state_digest"),
    "signing": ("signing", "signing.api", "signing.errors", "signing.web", "signing.demo",
                "signing.example", "signing.pki", "signing.verify", "signing.state_digest"),
    "docflow": ("docflow", "docflow.api", "docflow.errors", "docflow.web", "docflow.rules",
                "docflow.state_digest"),
}


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.where}: {self.what}"


# --- reading the code --------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(mod: str, path: Path, known: set[str]) -> dict[str, int]:
    """Every module of ours that ``mod`` imports, anywhere in the file (functions included,
    ``if TYPE_CHECKING:`` blocks excluded), with the line of the first such import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = {id(n) for t in ast.walk(tree) if _type_checking(t) for n in ast.walk(t)}
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    found: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != mod:
            found.setdefault(name, line)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{name}.{alias.name}"
                add(sub if sub in known else name, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


# --- the rules -----------------------------------------------------------------------------------


def floor_of(mod: str) -> int:
    best, floor = -1, 0
    for i, (_name, prefixes) in enumerate(FLOORS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, floor = len(p), i
    return floor


def _tool(mod: str) -> str | None:
    top = mod.split(".")[0]
    return top if top in TOOL_ORDER else None


def floor_problems(graph: dict[str, dict[str, int]]) -> list[Problem]:
    out = []
    for mod, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            here, there = floor_of(mod), floor_of(target)
            if there > here:
                out.append(Problem("floor", f"{mod}:{line}",
                                   f"imports {target} ({FLOORS[there][0]}) from below ({FLOORS[here][0]})"))
            elif here == there and _tool(mod) and _tool(target) and _tool(mod) != _tool(target) \
                    and _tool(target) not in TOOL_ORDER[_tool(mod)]:
                out.append(Problem("floor", f"{mod}:{line}",
                                   f"{_tool(mod)} may not import {_tool(target)} ({target})"))
    return out


def public_api_problems(graph: dict[str, dict[str, int]]) -> list[Problem]:
    out = []
    for mod, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            tool = _tool(target)
            if not tool or mod.split(".")[0] == tool:
                continue
            if target == f"{tool}.models" or target.startswith(f"{tool}.models."):
                out.append(Problem("tables", f"{mod}:{line}", f"imports {target}: {tool}'s tables are its own"))
            elif target not in PUBLIC[tool] and mod != "sandbox.runtime":
                out.append(Problem("public api", f"{mod}:{line}",
                                   f"imports {target}, not a public module of {tool}"))
    return out


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def cycle_problems(graph: dict[str, dict[str, int]]) -> list[Problem]:
    out = []
    for comp in cycles(graph):
        members = set(comp)
        links = [f"{a} → {b} (line {graph[a][b]})" for a in comp for b in sorted(graph[a]) if b in members]
        out.append(Problem("circle", comp[0], "; ".join(links)))
    return out


GLOBAL_RANDOM = {"random", "randint", "randrange", "choice", "choices", "shuffle", "sample",
                 "uniform", "getrandbits", "seed", "gauss"}


def randomness_problems() -> list[Problem]:
    out = []
    for mod, path in sorted(modules().items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "random" \
                    and node.func.attr in GLOBAL_RANDOM:
                out.append(Problem("chance", f"{mod}:{node.lineno}",
                                   f"random.{node.func.attr}(): use a seeded random.Random"))
            if isinstance(node, ast.ImportFrom) and node.module == "random" \
                    and any(a.name in GLOBAL_RANDOM for a in node.names):
                out.append(Problem("chance", f"{mod}:{node.lineno}", "imports the global generator's functions"))
    return out


# --- the code as it is ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_every_module_has_a_floor(graph):
    assert len(graph) > 150
    assert floor_of("sandbox.kernel.db") == 0
    assert FLOORS[floor_of("sandbox.contest.web.admin")][0] == "contest"
    assert FLOORS[floor_of("sandbox.web")][0] == "composition"


def test_no_import_runs_up_a_floor(graph):
    problems = floor_problems(graph)
    assert not problems, "\n".join(map(str, problems))


def test_the_kernel_imports_nothing_above_it(graph):
    kernel = {m: t for m, t in graph.items() if m.startswith("sandbox.kernel")}
    assert len(kernel) >= 12
    outside = [f"{m} → {t}" for m, ts in kernel.items() for t in ts if not t.startswith("sandbox.kernel")]
    assert not outside, outside


def test_no_import_circles(graph):
    problems = cycle_problems(graph)
    assert not problems, "\n".join(map(str, problems))


def test_tool_packages_are_reached_through_their_public_modules(graph):
    problems = public_api_problems(graph)
    assert not problems, "\n".join(map(str, problems))


def test_no_global_random():
    problems = randomness_problems()
    assert not problems, "\n".join(map(str, problems))


# --- the rules can fail ----------------------------------------------------------------------------


def test_a_kernel_import_of_a_feature_is_caught():
    bad = {"sandbox.kernel.db": {"sandbox.contest.models": 7}, "sandbox.contest.models": {"sandbox.kernel.db": 3}}
    problems = floor_problems(bad)
    assert [p.where for p in problems] == ["sandbox.kernel.db:7"]
    assert "from below (kernel)" in problems[0].what


def test_a_tool_importing_a_sibling_it_may_not_is_caught():
    bad = {"signing.document": {"docflow.api": 4}, "docflow.api": {"signing.api": 2}}
    assert [p.where for p in floor_problems(bad)] == ["signing.document:4"]


def test_a_circle_is_caught():
    bad = {"a.x": {"a.y": 1}, "a.y": {"a.z": 2}, "a.z": {"a.x": 3}, "a.w": {"a.x": 4}}
    assert cycles(bad) == [["a.x", "a.y", "a.z"]]
    assert "a.z → a.x (line 3)" in cycle_problems(bad)[0].what
    assert cycles({"a.x": {"a.y": 1}, "a.y": {}}) == []


def test_a_query_of_another_packages_tables_is_caught():
    bad = {"grader.state": {"mailserver.models": 9, "mailserver.api": 8}, "mailserver.models": {}, "mailserver.api": {}}
    problems = public_api_problems(bad)
    assert [(p.rule, p.where) for p in problems] == [("tables", "grader.state:9")]


def test_the_reader_sees_lazy_imports_and_skips_type_checking(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sandbox.web\n"
                   "def f():\n    from .kernel import db\n    from grader import engine\n")
    known = {"sandbox.kernel.db", "grader.engine", "grader", "sandbox.web", "sandbox"}
    assert imports_of("sandbox.m", src, known) == {"sandbox.kernel.db": 5, "grader.engine": 6}
