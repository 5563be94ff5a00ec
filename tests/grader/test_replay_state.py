"""Issue 8, acceptance 2: the replay compares the sandbox's state after every step (the
digest the dispatcher records), so a step whose effect changed between record and replay is
named even when it returns the same result and the final scores agree. Entries recorded
before state digests existed are compared by their results only, and the replay says so."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from docflow.models import IncomingDoc
from mailserver.models import MailOpen
from sandbox.kernel import actions
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Action, Sandbox
from sandbox.replay.api import kept_replays, replay
from scenarios.library import load
from tests.scenarios.harness import Candidate
from tests.scenarios.test_exam_sets import SETS, golden

EXAM = "thi-2022-de-1"


def _session(rt) -> Candidate:
    c = Candidate(rt, load(EXAM), 7, "ts007")
    golden(c, SETS[EXAM])
    c.click_link(SETS[EXAM].mail_seed)  # a mail.opened by the candidate, after the routing
    return c


def _other_directive(ctx, args: dict, result: dict) -> None:
    """After docflow.direct: a different bút phê (the same result, another state)."""
    doc = ctx.session.get(IncomingDoc, args["incoming_id"])
    doc.directive = doc.directive + " Báo cáo trước ngày 30."


def _other_link(ctx, args: dict, result: dict) -> None:
    """After mail.opened: another target stored (the same result, another state)."""
    ctx.session.get(MailOpen, result["open_id"]).target = "http://example.invalid/khac"


@pytest.mark.parametrize("name, change, part", [
    ("docflow.direct", _other_directive, "quản lý văn bản › văn bản đến"),
    ("mail.opened", _other_link, "thư điện tử › hộp thư "),
])
def test_a_changed_effect_is_named_at_its_step(sqlite_runtime, monkeypatch, name, change, part):
    rt = sqlite_runtime
    c = _session(rt)
    with rt.db.read() as s:
        log = list(s.scalars(select(Action).where(Action.sandbox_id == c.sid).order_by(Action.seq)))
    seq = next(e.seq for e in log if e.name == name and e.actor == c.me)
    recorded = actions.ACTIONS[name]

    def changed(ctx, **args):
        result = recorded(ctx, **args)
        if ctx.actor == c.me:  # the candidate's step only (the build directs seeded documents too)
            change(ctx, args, result)
        return result

    monkeypatch.setitem(actions.ACTIONS, name, changed)  # the replay runs the changed handler
    result = replay(rt, "ts007")

    assert result.first_mismatch == seq == result.first_state_mismatch
    bad = [s for s in result.steps if not s.ok]
    assert [s.seq for s in bad] == [seq]  # exactly that step; its result was the same
    assert bad[0].state == "different"
    assert bad[0].detail.startswith(f"trạng thái khác sau bước {seq}: khác ở ")
    assert part in bad[0].detail and "ký số" not in bad[0].detail  # names the part that differs
    assert all(s.state == "same" for s in result.steps if s.seq < seq)
    assert len(result.steps) == len(log) and not result.stopped  # the replay went on to the end
    def scores(report):
        return report["total"], [(r["id"], r["points"]) for r in report["criteria"]]

    # the scores agree (the reports' evidence may quote the changed text): only the state digest tells
    assert scores(result.replay_report) == scores(result.original_report)
    assert kept_replays(rt) == []


def test_entries_without_a_state_digest_are_compared_by_result(sqlite_runtime, monkeypatch):
    """A log recorded before state digests (no contributors then): the replay compares those
    entries' results only, says how many, and still checks the entries that have one."""
    rt = sqlite_runtime
    with monkeypatch.context() as m:  # as the dispatcher recorded before: no state, no created rows
        m.setattr(actions, "STATE_CONTRIBUTORS", {})
        m.setattr(actions, "_KIND_OF_TABLE", {})
        c = Candidate(rt, load(EXAM), 7, "ts007")
    golden(c, SETS[EXAM])
    with rt.db.read() as s:
        log = list(s.scalars(select(Action).where(Action.sandbox_id == c.sid).order_by(Action.seq)))
        assert actions.verify_chain(s, c.sid) == (True, None)
    old = [e.seq for e in log if e.state_digest is None]
    assert old and len(old) < len(log) and all(e.state_digest for e in log if e.seq > old[-1])
    assert all(e.created is None for e in log if e.seq in old)

    result = replay(rt, "ts007")
    assert result.first_mismatch is None, [(s.seq, s.detail) for s in result.steps if not s.ok]
    assert result.unrecorded_state == old
    assert {s.state for s in result.steps if s.seq in old} == {"unrecorded"}
    assert {s.state for s in result.steps if s.seq not in old} == {"same"}
    assert result.notes == [f"{len(old)} bước được ghi trước khi có dấu trạng thái: các bước đó chỉ được so kết quả."]
    assert result.report_same is True


def test_a_recorded_state_digest_is_covered_by_the_chain(sqlite_runtime):
    rt = sqlite_runtime
    c = Candidate(rt, load(EXAM), 7, "ts007")
    c.click_link(SETS[EXAM].mail_seed)
    with rt.db.read() as s:
        last = s.get(Sandbox, c.sid).log_seq
    with rt.db.write() as s:
        s.execute(update(Action).where(Action.sandbox_id == c.sid, Action.seq == last)
                  .values(state_digest="0" * 64))
    with rt.db.read() as s:
        assert actions.verify_chain(s, c.sid) == (False, last)


def test_keep_leaves_the_copy_until_discarded(sqlite_runtime):
    from sandbox.replay.api import discard

    rt = sqlite_runtime
    Candidate(rt, load(EXAM), 7, "ts007")
    first = replay(rt, "ts007", keep=True, grade_at_end=False)
    second = replay(rt, "ts007", keep=True, grade_at_end=False)
    assert (first.replay, second.replay, first.kept) == ("ts007~replay1", "ts007~replay2", True)
    assert [k.name for k in kept_replays(rt, "ts007")] == ["ts007~replay1", "ts007~replay2"]
    discard(rt, "ts007~replay1")
    third = replay(rt, "ts007", grade_at_end=False)  # not kept: gone again, the kept one stays
    assert third.replay == "ts007~replay3"
    assert [k.name for k in kept_replays(rt)] == ["ts007~replay2"]
    with pytest.raises(SandboxError) as refused:
        discard(rt, "ts007")
    assert "không phải bản phát lại" in refused.value.message_vi
