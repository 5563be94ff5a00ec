"""Print one line per shipped scenario and plan profile: the SHA-256 of the canonical score
report after the plan is played through the public APIs on a fresh sandbox (seed 7), with
the webmail's random Message-IDs replaced by a counter and the values that vary by design
(certificate fingerprints, file digests, a signed file's size) blanked.

Used to show that a refactor changes no behaviour: run it before and after and compare
(``python scripts/golden_grades.py > before.txt``). ``tests/test_golden_grades.py`` keeps the
figures of the current code in ``tests/data/golden-grades.txt``."""
from __future__ import annotations

import hashlib
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


#: Values that differ from run to run by design: keys are drawn from a pool of fresh RSA keys
#: and PDFs get a random /ID, so certificate fingerprints and file digests vary.
VARYING = {"fingerprint", "sha256"}


def _steady(value):
    if isinstance(value, dict):
        return {k: "<varies>" if k in VARYING else _steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    if isinstance(value, str):  # a signed PDF's size varies by a few bytes with its key
        return re.sub(r"\(\d+ byte\)", "(N byte)", value)
    return value


def lines(seed: int = 7) -> list[str]:
    from grader.engine import report_json
    from sandbox.kernel import jobs
    from scenarios.library import library_paths, load, scenario_id
    from tests.conftest import open_runtime
    from tests.scenarios import plans
    from tests.scenarios.harness import START, Candidate

    # The webmail's Message-IDs are random (as a real client's are): number them instead.
    import itertools

    import mailserver.webmail.compose as compose
    counter = [itertools.count(1)]  # numbered afresh for each report: a new scenario only adds lines
    compose.make_msgid = lambda domain=None, **_: f"<golden.{next(counter[0])}@{domain}>"

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        rt = open_runtime(Path(tmp))
        try:
            for path in library_paths():
                sid = scenario_id(path)
                loaded = load(sid)
                for profile in plans.profile_names(sid):
                    counter[0] = itertools.count(1)
                    c = Candidate(rt, loaded, seed, f"{sid}.{profile}")
                    the_plan = plans.plan(loaded, c.v, START.date(), profile)
                    plans.ApiExecutor(c).run(the_plan)
                    jobs.run_pending(rt)  # what the plan left to the automatic clerk (the worker's, in serve)
                    digest = hashlib.sha256(report_json(_steady(c.grade())).encode()).hexdigest()
                    out.append(f"{sid} {profile} {digest}")
        finally:
            rt.close()
    return out


if __name__ == "__main__":
    print("\n".join(lines()))
