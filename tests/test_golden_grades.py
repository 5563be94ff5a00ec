"""The score report of every shipped scenario's plan profiles, played through the APIs, is the
one recorded in ``tests/data/golden-grades.txt`` (a refactor changes no behaviour).

After an intended change of grading, regenerate the file:
``python scripts/golden_grades.py > tests/data/golden-grades.txt`` and say why in the commit."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_golden_grades_are_the_recorded_ones():
    spec = importlib.util.spec_from_file_location("golden_grades", ROOT / "scripts" / "golden_grades.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    recorded = (ROOT / "tests" / "data" / "golden-grades.txt").read_text().split("\n")
    now = mod.lines()
    recorded = [line for line in recorded if line]
    assert len(now) == len(recorded) and len(now) >= 60
    changed = [f"{a}  →  {b.split()[-1]}" for a, b in zip(recorded, now) if a != b]
    assert not changed, "score reports changed:\n" + "\n".join(changed)
