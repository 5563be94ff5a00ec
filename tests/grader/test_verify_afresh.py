"""The grader verifies a document once per grading and keeps the report under the SHA-256 of
the bytes it read: a PDF whose bytes changed after signing (altered in the blob store under
the same name, after a grading already verified it) is verified afresh and the criterion on
the leader's signature fails; the report of the untouched bytes is never reused for other bytes."""
from __future__ import annotations

from grader.engine import grade
from grader.state import SandboxState
from sandbox.kernel import jobs
from scenarios.library import load
from tests.scenarios import plans
from tests.scenarios.harness import START, Candidate

EXAM = "thi-2022-de-1"


def _signing(report: dict, scenario) -> dict[str, str]:
    ids = {c.id for c in scenario.rubric.criteria if c.check is not None and c.check.type.startswith("signing.")}
    assert ids, "the exam set grades the signature"
    return {r["id"]: r["verdict"] for r in report["criteria"] if r["id"] in ids}


def test_changed_bytes_are_verified_afresh_and_fail(sqlite_runtime):
    rt = sqlite_runtime
    loaded = load(EXAM)
    c = Candidate(rt, loaded, 7, "ts-tamper")
    plans.ApiExecutor(c).run(plans.plan(loaded, c.v, START.date(), "golden"))
    jobs.run_pending(rt)
    state = SandboxState(rt, c.sid)
    good = grade(state, loaded.scenario)
    assert set(_signing(good, loaded.scenario).values()) == {"pass"}

    draft = next(name for name in state.anchors["drafts"] if state.outgoing(name).pdf_blob)
    blob = state.outgoing(draft).pdf_blob
    original = rt.blobs.get(blob)
    calls = []
    from signing import api as signing_api
    real = signing_api.verify_pdf

    def counting(data, **kw):
        calls.append(data)
        return real(data, **kw)

    signing_api.verify_pdf = counting
    try:
        again = grade(state, loaded.scenario)      # the same bytes: the report of this grading is reused
        assert again == good and calls == []

        tampered = bytearray(original)
        tampered[tampered.index(b"stream") + 40] ^= 0x01   # inside the signed content
        path = rt.blobs._path(blob)
        path.write_bytes(bytes(tampered))          # same blob name, other bytes
        for st in (state, SandboxState(rt, c.sid)):   # the state that verified the original, and a new one
            calls.clear()
            bad = grade(st, loaded.scenario)
            assert calls and all(d == bytes(tampered) for d in calls)   # verified afresh, these bytes
            verdicts = _signing(bad, loaded.scenario)
            # the leader's signature is no longer intact: the criterion on it fails (the diff
            # analysis of S2 still finds nothing but the clerk's fields changed after it)
            assert verdicts["S1"] == "fail", verdicts
            s1 = next(r for r in bad["criteria"] if r["id"] == "S1")
            assert s1["evidence"]["intact"] is False and s1["awarded"] == 0
            assert bad["total"] < good["total"]
        report = state.verify(blob)
        assert report.status == "invalid" and report.verdict("intact") and not report.verdict("intact").ok

        path.write_bytes(original)                 # the original bytes again: the original report
        assert grade(SandboxState(rt, c.sid), loaded.scenario) == good
    finally:
        signing_api.verify_pdf = real
