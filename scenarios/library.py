"""The shipped exam sets and drills: one YAML file per scenario in ``scenarios/library/``,
its id the file name without ``.yaml`` (ids are unique because file names are)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sandbox.kernel.errors import NotFound, SandboxError

from .schema import Scenario
from .validate import CheckValidator, Problem, validate_file

LIBRARY = Path(__file__).with_name("library")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Loaded:
    id: str
    path: Path
    scenario: Scenario


class InvalidScenario(SandboxError):
    def __init__(self, problems: list[Problem]):
        super().__init__("Tệp đề không hợp lệ:\n" + "\n".join(str(p) for p in problems),
                         f"{len(problems)} problem(s)")
        self.problems = problems


def scenario_id(path: Path) -> str:
    return path.name.removesuffix(".yaml")


def library_paths(folder: Path = LIBRARY) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def find(ref: str, folder: Path = LIBRARY) -> Path:
    """A scenario by id (from the library) or by path to a ``.yaml`` file."""
    p = Path(ref)
    if p.suffix == ".yaml" and p.exists():
        return p
    if _ID.match(ref) and (folder / f"{ref}.yaml").is_file():
        return folder / f"{ref}.yaml"
    raise NotFound(f"Không tìm thấy đề '{ref}'. Xem danh sách bằng lệnh: sandbox scenario list",
                   f"no scenario {ref!r}")


def load(ref: str | Path, check_validator: CheckValidator | None = None, folder: Path = LIBRARY) -> Loaded:
    path = find(str(ref), folder)
    sc, problems = validate_file(path, check_validator)
    if problems or sc is None:
        raise InvalidScenario(problems)
    return Loaded(scenario_id(path), path, sc)
