"""The built wheel installs anywhere: it holds every file the code reads, no ``tests`` package,
and runs ``sandbox demo --no-serve`` and a grading from a fresh venv outside the checkout.

No network: the wheel is built without build isolation (setuptools of the test venv, from
the ``test`` extra) from a copy of the checkout's files, installed with ``--no-deps``, and the new
venv sees the dependencies through a ``.pth`` file naming this venv's ``site-packages``. A
``.pth`` that names a directory does not run the ``.pth`` files inside it, so the editable
install of the checkout stays off: the installed copy is the one imported (checked). A stub
``psycopg`` that refuses to import shows that SQLite installations need no ``postgres`` extra.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sandbox", "mailserver", "docflow", "signing", "scenarios", "grader")
#: The build's own files (besides the packages).
BUILD_FILES = {"setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in"}
#: Files in the packages that nothing reads at run time (none today).
NOT_DATA = {".md", ".txt", ".rst"}
SCENARIO = "luyen-gui-thu-cc-bcc"

#: Run by the new venv's python: where things were imported from, the sample bank loaded
#: through the app's own path, every Flask template compiled, every static file served.
PROBE = r'''
import json, sys, sysconfig
from pathlib import Path
from flask import url_for
from sqlalchemy import func, select
import docflow, grader, mailserver, sandbox, scenarios, signing
from sandbox.contest import theory
from sandbox.contest.models import Question
from sandbox.kernel.settings import Settings
from sandbox.runtime import Runtime
from sandbox.web import create_app

rt = Runtime.open(Settings(data_dir=sys.argv[1]))
theory.ensure_sample_bank(rt)
with rt.db.read() as s:
    questions = s.scalar(select(func.count()).select_from(Question).where(Question.bank == theory.SAMPLE_BANK))
app = create_app(rt, {"TESTING": True})
templates = sorted(app.jinja_env.list_templates())
for name in templates:
    app.jinja_env.get_template(name)
client = app.test_client()
static = {}
with app.test_request_context():
    for endpoint, folder in [("static", app.static_folder)] + [
            (f"{bp.name}.static", bp.static_folder) for bp in app.blueprints.values() if bp.has_static_folder]:
        for f in sorted(Path(folder).iterdir()):
            resp = client.get(url_for(endpoint, filename=f.name))
            static[str(f)] = resp.status_code
            resp.close()
rt.close()
print(json.dumps({
    "site": sysconfig.get_paths()["purelib"],
    "sys_path": sys.path,
    "modules": {m.__name__: m.__file__ for m in (docflow, grader, mailserver, sandbox, scenarios, signing)},
    "meta_path": [type(f).__module__ + "." + type(f).__qualname__ for f in sys.meta_path],
    "banks_dir": str(theory.BANKS_DIR),
    "questions": questions,
    "templates": templates,
    "static": static,
    "psycopg": "psycopg" in sys.modules,
}))
'''


def _work_tree_files() -> list[str]:
    """The files of the work tree that git keeps or would keep (tracked, or new and not ignored)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True).stdout.decode()
    return sorted(f for f in out.split("\0") if f and (ROOT / f).is_file())


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, f"{cmd} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the packages and the build's files, installed into a fresh
    venv outside the checkout; ``env`` runs its commands with nothing of the checkout on the path."""
    tmp = tmp_path_factory.mktemp("wheel")
    assert ROOT not in tmp.parents
    files = _work_tree_files()
    src = tmp / "src"
    # A copy of what the build reads (so it leaves no build/ or egg-info in the checkout, and a
    # stale build/ folder there cannot leak into the wheel).
    for f in files:
        if PurePosixPath(f).parts[0] in PACKAGES or f in BUILD_FILES:
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"), str(src)])
    (wheel,) = (tmp / "dist").glob("*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "test-deps.pth").write_text("".join(f"{d}\n" for d in deps))
    stub = site / "psycopg"
    stub.mkdir()
    (stub / "__init__.py").write_text('raise ImportError("psycopg is not installed (the postgres extra)")\n')
    _run(pip + ["--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])

    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SANDBOX_DATA_DIR", "SANDBOX_DATABASE_URL"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    work = tmp / "work"
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "site": site, "deps": list(deps), "env": env, "work": work, "tmp": tmp,
            "files": files}


def test_wheel_holds_the_packages_and_every_data_file_and_no_tests(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    tops = {PurePosixPath(n).parts[0] for n in names}
    (dist_info,) = [t for t in tops if t.endswith(".dist-info")]
    assert tops == set(PACKAGES) | {dist_info}
    assert not [n for n in names if n.startswith("tests/")]
    shipped = [f for f in installed["files"] if PurePosixPath(f).parts[0] in PACKAGES
               and PurePosixPath(f).suffix not in NOT_DATA]
    missing = sorted(set(shipped) - names)
    assert not missing, "not in the wheel (setup.cfg [options.package_data]):\n" + "\n".join(missing)
    assert "sandbox/contest/banks/mau.yaml" in names
    metadata = zipfile.ZipFile(installed["wheel"]).read(f"{dist_info}/METADATA").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    driver = [r for r in requires if "psycopg" in r]
    assert driver and all('extra == "postgres"' in r for r in driver), driver  # PostgreSQL's driver: an extra
    assert not [r for r in requires if "certomancer" in r]


def test_installed_package_is_the_one_imported_and_reads_its_data(installed):
    sandbox_cmd = installed["venv"] / "bin" / "sandbox"
    assert sandbox_cmd.is_file()
    probe = installed["tmp"] / "probe.py"
    probe.write_text(PROBE)
    out = _run([str(installed["venv"] / "bin" / "python"), str(probe), str(installed["tmp"] / "probe-data")],
               cwd=installed["work"], env=installed["env"]).stdout
    info = json.loads(out.strip().splitlines()[-1])
    site = Path(info["site"]).resolve()
    assert site == installed["site"].resolve()
    for name, file in info["modules"].items():
        assert Path(file).resolve() == site / name / "__init__.py"
    checkout = [p for p in info["sys_path"] if p not in installed["deps"]
                and ROOT in (Path(p).resolve(), *Path(p).resolve().parents)]
    assert not checkout, checkout
    assert not [f for f in info["meta_path"] if "editable" in f]
    assert Path(info["banks_dir"]).resolve() == site / "sandbox" / "contest" / "banks"
    assert info["questions"] > 0
    html = [n for n in zipfile.ZipFile(installed["wheel"]).namelist()
            if n.endswith(".html") and not n.startswith("grader/")]
    assert len(info["templates"]) == len(html) and "admin/results.html" in info["templates"]
    assert info["static"] and all(code == 200 for code in info["static"].values()), info["static"]
    assert all(Path(f).resolve().is_relative_to(site) for f in info["static"])
    assert info["psycopg"] is False


def test_demo_and_a_grading_run_from_the_installed_wheel(installed):
    run = dict(cwd=installed["work"], env=installed["env"])
    data = str(installed["tmp"] / "data")
    demo = _run(["sandbox", "--data-dir", data, "demo", "--no-serve"], **run).stdout
    assert "=== Cuộc thi demo ===" in demo and "lanhdao@sonoivu.cantho.gov.vn" in demo
    _run(["sandbox", "--data-dir", data, "sandbox", "create", "--scenario", SCENARIO, "--seed", "1", "--name", "x"],
         **run)
    html = installed["tmp"] / "report.html"
    report = json.loads(_run(["sandbox", "--data-dir", data, "grade", "x", "--json", "--html", str(html)],
                             **run).stdout)
    assert report["criteria"] and all("verdict" in c for c in report["criteria"])
    assert "<html" in html.read_text(encoding="utf-8").lower()
    assert not list(installed["work"].iterdir())  # nothing written next to the caller
