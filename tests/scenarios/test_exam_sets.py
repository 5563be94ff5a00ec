"""Every shipped full exam set (main and backup): the golden path through the public APIs
scores full marks for two seeds with different task values, an untouched sandbox scores 0,
and each seeded mistake loses exactly its criterion's points with a message that names it.

The sets share criterion ids (M mail, D routing, S signing, T status, A security), so one
description per set (:class:`Spec`) drives the same golden path and mistakes for all."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pytest

from sandbox.kernel.errors import SandboxError
from scenarios.library import load

from .harness import Candidate, lost


@dataclass(frozen=True)
class Spec:
    mail_seed: str                      # the inbox mail holding the attachment of task 1
    cc: str                             # person put in CC in task 1
    body: str                           # body of the task-1 mail
    incoming: str                       # the incoming document to route
    info_unit: str                      # the unit "nhận để biết"
    units: tuple[str, ...]              # the units a lead may be given to
    draft: str                          # the draft to sign
    specialist: str                     # whose certificate is the trap
    status_to: str                      # who gets the status report
    status: Callable[[dict], str]       # its body, from the candidate's values
    phishing: tuple[str, str] | None = None  # (seed mail, IT person) for the 2024 sets


def _overdue(v: dict) -> str:
    return f"Văn bản {v['kiem_tra']['symbol']}: {v['kiem_tra']['unit_name']} đang quá hạn xử lý.\n"


SETS = {
    "thi-2022-de-1": Spec("chi_dao", "chanhvp", "Đề nghị đồng chí chỉ đạo tổng hợp danh sách dự thi.\n",
                          "kh98", "vp", ("tcbc", "cchc", "ccvc"), "cv_cu_thi", "binh", "chanhvp", _overdue),
    "thi-2022-de-2": Spec("chi_dao", "chanhvp", "Đề nghị phòng rà soát, đăng ký công chức tham gia lớp.\n",
                          "kh135", "vp", ("xdcq", "cchc", "ttr"), "cv_dang_ky", "yen", "chanhvp", _overdue),
    "thi-2023-de-1": Spec("chi_dao", "chanhvp", "Đề nghị phòng xây dựng chỉ tiêu chuyển đổi số của đơn vị.\n",
                          "kh_cds", "vp", ("pnv", "vhtt", "tckh"), "bc_cds", "tri", "chutich", _overdue),
    "thi-2023-de-2": Spec("chi_dao", "chanhvp", "Đề nghị phòng đề xuất hoạt động hưởng ứng của đơn vị.\n",
                          "cv_ngay_cds", "vp", ("cntt", "bcvt", "ttbc"), "cv_huong_dan", "tu", "giamdoc",
                          _overdue),
    "thi-2024-de-1": Spec("chi_dao", "chanhvp", "Đề nghị phòng lập danh sách thí sinh, rà soát chữ ký số cá nhân.\n",
                          "kh52", "vp", ("pnv", "vhtt", "ptp"), "cv_cu_thi_sinh", "vy", "chutich", _overdue,
                          phishing=("lua_dao", "cntt")),
    "thi-2024-de-2": Spec("chi_dao", "chanhvp", "Đề nghị phòng rà soát chữ ký số cá nhân, hộp thư công vụ.\n",
                          "cv_attt", "vp", ("qlkh", "qlcn", "ttr"), "bc_chu_ky_so", "nhuy", "giamdoc", _overdue,
                          phishing=("lua_dao", "cntt")),
}


def golden(c: Candidate, spec: Spec, *, cc=True, cc_in_to=False, attach=True, typo=False, two_leads=False,
           deadline_shift=0, cert=None, forward=True, click=False):
    v = c.v
    # task 1: the mail
    to, ccs = [v["recipient"]["email"]], [c.email(spec.cc)] if cc else []
    if cc_in_to:
        to, ccs = to + ccs, []
    atts = [c.attachment_of(spec.mail_seed, v["attachment"])] if attach else []
    typo_rcpt = [v["recipient"]["email"].replace("@", ".phong@")] if typo else []
    c.send(to, v["subject"]["text"], spec.body, cc=ccs, attachments=atts, extra_rcpts=typo_rcpt)
    # task 2: directive and routing
    lead, support = v["routing"]["lead"], v["routing"]["support"]
    deadline = v["deadline"] + dt.timedelta(days=deadline_shift)
    rows = [(lead, "xlc", deadline), (support, "ph", deadline), (spec.info_unit, "db", None)]
    if two_leads:
        # The software refuses a second lead; the candidate then gives the lead to the wrong unit.
        spare = sorted(set(spec.units) - {lead, support})[0]
        with pytest.raises(SandboxError) as refused:
            c.direct(spec.incoming, "Giao các phòng.", rows + [(spare, "xlc", deadline)])
        assert "xử lý chính" in refused.value.message_vi
        rows[0] = (spare, "xlc", deadline)
    c.direct(spec.incoming, "Giao các đơn vị triển khai, báo cáo đúng hạn.", rows)
    # task 3: sign with one's own certificate, forward to the clerk
    c.sign(spec.draft, cert, forward=forward)
    # task 4: the status check, reported by mail
    c.send([c.email(spec.status_to)], "Tình hình xử lý văn bản", spec.status(v))
    # 2024: the phishing mail, reported to IT without opening it
    if spec.phishing:
        seed, it = spec.phishing
        if click:
            c.click_link(seed)
        s = c.seed(seed)
        c.send([c.email(it)], f"Báo cáo thư lừa đảo: {s['subject']}",
               f"Hộp thư của tôi nhận thư đáng ngờ từ {s['from']}, tiêu đề «{s['subject']}». "
               "Tôi chưa mở liên kết, tệp đính kèm. Đề nghị kiểm tra, ngăn chặn.\n")


@pytest.fixture(scope="module")
def loaded_sets():
    return {sid: load(sid) for sid in SETS}


@pytest.mark.parametrize("exam", sorted(SETS))
def test_untouched_scores_zero_golden_path_full_marks(runtime, loaded_sets, exam):
    loaded = loaded_sets[exam]
    idle = Candidate(runtime, loaded, 11, "idle")
    assert idle.grade()["total"] == 0
    values = []
    for seed in (1, 2):  # two seeds: different task values, both reach full marks
        c = Candidate(runtime, loaded, seed, f"gold{seed}")
        golden(c, SETS[exam])
        report = c.grade()
        assert report["total"] == loaded.scenario.points, lost(report)
        values.append(c.v)
    assert values[0] != values[1]


MISTAKES = [
    ("specialist_certificate", {"cert": "specialist"}, ["S1"], "{specialist}"),
    ("no_second_layer", {"forward": False}, ["S3"], "chưa được chuyển văn thư"),
    ("cc_missing", {"cc": False}, ["M2"], "Chưa đồng gửi"),
    ("cc_put_in_to", {"cc_in_to": True}, ["M2"], "ô Đến (To)"),
    ("missing_attachment", {"attach": False}, ["M5"], "Chưa đính kèm"),
    ("two_leads_then_wrong_lead", {"two_leads": True}, ["D2"], "Chưa giao đúng một đơn vị xử lý chính"),
    ("wrong_deadline", {"deadline_shift": 1}, ["D5"], "Hạn xử lý của đơn vị chủ trì chưa đúng"),
    ("mail_to_a_bounce", {"typo": True}, ["M6"], "người ngoài yêu cầu"),
    ("phishing_link_clicked", {"click": True}, ["A2"], "bấm vào liên kết"),
]
CASES = [(exam, *m) for exam in sorted(SETS) for m in MISTAKES if m[0] != "phishing_link_clicked" or SETS[exam].phishing]


@pytest.mark.parametrize("exam,name,mistake,lost_ids,words", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_mistake_loses_exactly_its_criterion(sqlite_runtime, loaded_sets, exam, name, mistake, lost_ids, words):
    loaded, spec = loaded_sets[exam], SETS[exam]
    if mistake.get("cert") == "specialist":
        mistake = {"cert": spec.specialist}
        words = next(p.name for p in loaded.scenario.world.people if p.id == spec.specialist)
    c = Candidate(sqlite_runtime, loaded, 5, name)
    golden(c, spec, **mistake)
    report = c.grade()
    failed = [r for r in report["criteria"] if r["verdict"] != "pass"]
    assert [r["id"] for r in failed] == lost_ids, lost(report)
    assert report["total"] == loaded.scenario.points - sum(r["points"] for r in failed)
    text = " ".join(f"{r['message']} {r.get('detail', '')}" for r in failed)
    assert words in text, text


def test_backup_sets_mirror_their_main_set(loaded_sets):
    """A backup set (used when a candidate forgot a password or a seat failed) has its main set's
    structure and difficulty: same year, points, duration, tasks and criteria with the same
    points; its world and values differ."""
    backups = {sid: l.scenario for sid, l in loaded_sets.items() if l.scenario.kind == "backup"}
    assert set(backups) == {"thi-2022-de-2", "thi-2023-de-2", "thi-2024-de-2"}
    for sid, b in backups.items():
        main = loaded_sets[b.backup_of].scenario
        assert main.kind == "exam"
        assert (b.year, b.points, b.duration_minutes) == (main.year, main.points, main.duration_minutes), sid
        assert [t.id for t in b.tasks] == [t.id for t in main.tasks], sid
        assert [(c.id, c.task, c.points, c.check.type, c.requires) for c in b.rubric.criteria] == \
            [(c.id, c.task, c.points, c.check.type, c.requires) for c in main.rubric.criteria], sid
        assert b.world.people[1].email != main.world.people[1].email
        assert [d.summary for d in b.initial.drafts] != [d.summary for d in main.initial.drafts]


def test_subjects_survive_the_mail_round_trip():
    """Every subject a candidate must type, and every seeded subject, reads back identical
    after the webmail's encoding (Python's header folding can drop a space between two
    encoded words of a long Vietnamese subject: the grader would then see another subject)."""
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    from scenarios import templates
    from scenarios.library import library_paths, scenario_id
    from scenarios.variants import context, draw

    from .harness import POLICY

    def round_trip(s: str) -> str:
        m = EmailMessage(policy=POLICY)
        m["Subject"] = s
        m.set_content("x")
        return str(message_from_bytes(m.as_bytes(), policy=policy.default)["Subject"])

    bad = []
    for path in library_paths():
        sid = scenario_id(path)
        sc = load(sid).scenario
        for seed in range(8):
            ctx = context(sc, draw(sid, sc, seed, dt.date(2026, 5, 20)), dt.date(2026, 5, 20))
            subjects = [templates.render(m.subject, ctx) for m in sc.initial.mail]
            subjects += [c.check.params.get("equals") and templates.render(c.check.params["equals"], ctx)
                         for c in sc.rubric.criteria if c.check.type == "mail.subject"]
            bad += [(sid, s) for s in subjects if s and round_trip(s) != s]
    assert not sorted(set(bad)), sorted(set(bad))
