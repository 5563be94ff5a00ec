"""Acceptance 2, a full dry run through the public APIs: the organiser creates the contest,
declares 12 units of 3 tiers, imports a roster of 60 (CSV), adds 2 shifts and a room, seats
everyone, takes attendance (2 absent, with reasons), switches 1 candidate to the backup set
and provisions both shifts (58 sandboxes of thi-2023-de-1, one of thi-2023-de-2). Every
present candidate starts the exam and answers the theory paper (sandbox.contest.theory) with
a scripted number of right answers, and submits it. Nine candidates do the practical tasks in
their sandboxes through the tools' public APIs (the exam-set golden path, some with seeded
mistakes, one doing nothing: điểm liệt); the other practical scores are imported from Excel
(the scores import). ``sandbox contest grade`` grades on both cores, then the report's numbers
are checked against the table below, computed by hand."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sandbox.cli import main
from sandbox.kernel.clock import FixedClock
from sandbox.contest import api, roster, session, shifts, theory
from sandbox.contest.models import Candidate as CandidateRow
from sandbox.contest.models import Question, TheoryPaper
from sandbox.contest.provision import provision_shift
from sandbox.contest.report import candidate_band_sentences, report_text, unit_band_sentences
from sandbox.contest.results import results_for
from sandbox.contest.scores_import import import_scores
from scenarios.build import from_json, instance_of
from scenarios.library import load
from tests.scenarios.harness import START
from tests.scenarios.harness import Candidate as Actor
from tests.scenarios.test_exam_sets import SETS, golden

from mailserver import api as mail_api
from sandbox.kernel.sandboxes import find_sandbox

CODE = "thu2023"
MAIN_SET, BACKUP_SET = "thi-2023-de-1", "thi-2023-de-2"

UNITS = {  # key: (name, tier)
    "S1": ("Sở Tư pháp", "so"), "S2": ("Sở Y tế", "so"), "S3": ("Sở Tài chính", "so"), "S4": ("Sở Nội vụ", "so"),
    "H1": ("UBND quận Ninh Kiều", "huyen"), "H2": ("UBND quận Cái Răng", "huyen"),
    "H3": ("UBND huyện Phong Điền", "huyen"),
    "X1": ("UBND phường An Hòa", "xa"), "X2": ("UBND phường Xuân Khánh", "xa"), "X3": ("UBND xã Nhơn Ái", "xa"),
    "X4": ("UBND xã Giai Xuân", "xa"), "X5": ("UBND phường Hưng Lợi", "xa"),
}
TIER_WORD = {"so": "sở", "huyen": "huyện", "xa": "xã"}

# practical part done in the sandbox (golden path of the exam set, 40 points), graded:
FULL = {}                                   # every task right: 40
SPECIALIST_CERT = {"cert": "specialist"}    # signed with a specialist's certificate: S1 lost (6) -> 34
NO_CC = {"cc": False}                       # nobody in CC: M2 lost (2) -> 38
NO_ATTACHMENT = {"attach": False}           # (backup set) no attachment: M5 lost (3) -> 37
NOTHING = None                              # nothing done: 0 -> điểm liệt

# (unit, theory points of 60 (30 questions × 2: right answers = points / 2),
#  practical: points imported | a scripted sandbox (dict or NOTHING) | absence reason (str))
ROSTER = [
    ("S1", 60, FULL), ("S1", 56, 40), ("S1", 54, 38), ("S1", 50, 36), ("S1", 60, 40),
    ("S2", 58, FULL), ("S2", 60, 40), ("S2", 52, 36), ("S2", 56, 38),
    ("S2", None, "Ốm đau, có giấy xác nhận của bệnh viện"),
    ("S3", 50, 34), ("S3", 48, SPECIALIST_CERT), ("S3", 56, 40), ("S3", 54, 36), ("S3", 58, 40),
    ("S4", 56, 38), ("S4", 52, 38), ("S4", 60, 30), ("S4", 50, 40), ("S4", 50, 36),
    ("H1", 60, FULL), ("H1", 54, 36), ("H1", 46, 30), ("H1", 50, 34), ("H1", 56, 40),
    ("H2", 52, 38), ("H2", 44, 36), ("H2", 58, 40), ("H2", 40, 26), ("H2", 50, 30),
    ("H3", 56, 38), ("H3", 54, 40), ("H3", 48, 34), ("H3", 60, 40), ("H3", 52, 36),
    ("X1", 60, FULL), ("X1", 44, NOTHING), ("X1", 50, 36), ("X1", 46, 34), ("X1", 42, 30),
    ("X2", 54, NO_ATTACHMENT), ("X2", 56, 38), ("X2", 52, 36), ("X2", 58, 40), ("X2", 48, 34),
    ("X3", 38, 22), ("X3", 42, 28), ("X3", 36, 20), ("X3", 30, 16),
    ("X3", None, "Dự kỳ họp HĐND xã (Giấy mời số 15/GM-HĐND)"),
    ("X4", 50, 36), ("X4", 54, NO_CC), ("X4", 46, 30), ("X4", 52, 38), ("X4", 48, 32),
    ("X5", 58, 40), ("X5", 56, 40), ("X5", 60, 38), ("X5", 54, 38), ("X5", 50, FULL),
]
BACKUP_NUMBER = "TS041"
BACKUP_REASON = "Quên mật khẩu hộp thư, chuyển sang bộ đề dự phòng (biên bản số 03/BB-BCT)"

# --- the hand-computed table ------------------------------------------------------------------------
# totals (theory + practical) of the scripted ones: TS001 100, TS006 98, TS012 48+34 = 82, TS021 100,
# TS036 100, TS037 44+0 = 44 (điểm liệt), TS041 54+37 = 91 (backup set), TS052 54+38 = 92, TS060 90.
# candidates per tier and band (present candidates):
#            100  90-<100  80-<90  70-<80  50-<70  không đạt   dự thi
#  cấp sở      3     11       5       0       0        0          19   (S3: 84, 82, 96, 90, 98)
#  cấp huyện   2      6       5       1       1        0          15
#  cấp xã      1     10       6       3       2        2          24   (44: practical 0; 46: < 50)
#  tổng        6     27      16       4       3        2          58
# units (mean of present candidates' totals): S1 94,8  S2 95 (absentee)  S3 90 (84+82+96+90+98)/5
#  S4 90  H1 89,2  H2 82,8  H3 91,6  X1 76,4  X2 90,6 (91+94+88+98+82)/5  X3 58 (absentee)
#  X4 84,8 (86+92+76+90+80)/5  X5 94,8
# unit bands: ≥90: sở 4, huyện 1, xã 2 (X2, X5) = 7/12; 80-<90: huyện 2, xã 1 (X4) = 3/12;
#  70-<80: xã 1 (X1); 50-<70: xã 1 (X3)
# city awards: Nhất S1 94,8; Nhì S3 and S4 tied at 90, so no Ba; S2 excluded (absentee, 95)
# district awards: Nhất X5 94,8; Nhì H3 91,6; Ba X2 90,6
EXPECTED_BANDS = {"so": [3, 11, 5, 0, 0, 0], "huyen": [2, 6, 5, 1, 1, 0], "xa": [1, 10, 6, 3, 2, 2]}
EXPECTED_UNITS = {"S1": 94.8, "S2": 95.0, "S3": 90.0, "S4": 90.0, "H1": 89.2, "H2": 82.8, "H3": 91.6, "X1": 76.4,
                  "X2": 90.6, "X3": 58.0, "X4": 84.8, "X5": 94.8}
EXPECTED_PRACTICAL = {"TS001": 40, "TS006": 40, "TS012": 34, "TS021": 40, "TS036": 40, "TS037": 0, "TS041": 37,
                      "TS052": 38, "TS060": 40}

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Minh", "Thanh", "Hoàng", "Ngọc"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Giang", "Hải", "Hoa", "Khoa", "Lan", "Minh", "Ngọc", "Phúc"]


def _name(i: int) -> str:
    return f"{SURNAMES[i % 10]} {MIDDLE[i % 6]} {GIVEN[i % 12]} {chr(65 + i // 26)}{chr(65 + i % 26)}"


def _roster_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Số báo danh", "Họ và tên", "Chức vụ", "Đơn vị", "Cấp", "Email", "Điện thoại"])
    for i, (unit, _t, _p) in enumerate(ROSTER, 1):
        name, tier = UNITS[unit]
        title = "Phó Giám đốc Sở" if tier == "so" else "Phó Chủ tịch UBND"
        w.writerow([f"TS{i:03d}", _name(i), title, name, TIER_WORD[tier], f"ts{i:03d}@cantho.gov.vn",
                    f"0907{i:06d}"])
    return out.getvalue().encode("utf-8")


def _scores_xlsx(rows: list[tuple[str, float]]) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["Số báo danh", "Thực hành", "Vắng"])
    for number, points in rows:
        ws.append([number, points, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _answer_theory(rt, candidate_id: int, right: int) -> float:
    """The candidate answers the paper: the first ``right`` questions correctly, the others
    with a wrong option; then submits."""
    session.start_attempt(rt, candidate_id, seat="Phòng máy 1")
    with rt.db.read() as s:
        items = s.scalar(select(TheoryPaper.items).where(TheoryPaper.candidate_id == candidate_id))
        correct = {q.id: (q.correct, len(q.options)) for q in s.scalars(
            select(Question).where(Question.id.in_([it["question_id"] for it in items])))}
    answers = {}
    for k, it in enumerate(items):
        good, n = correct[it["question_id"]]
        answers[it["question_id"]] = list(good) if k < right else [next(o for o in range(n) if o not in good)]
    theory.save_answers(rt, candidate_id, answers, seat="Phòng máy 1")
    return theory.submit(rt, candidate_id)


def _actor_for(rt, sandbox_name: str) -> Actor:
    """The harness's candidate on a sandbox that provisioning built."""
    a = Actor.__new__(Actor)
    with rt.db.read() as s:
        sb = find_sandbox(s, sandbox_name)
        inst = instance_of(s, sb.id)
        a.rt, a.loaded, a.sid = rt, load(inst.scenario_id), sb.id
        a.v, a.me, a.inst_anchors = from_json(inst.values), inst.candidate_address, inst.anchors
        a.account = mail_api.account_by_address(s, sb.id, a.me)
    return a


@pytest.fixture
def dry_run(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START.astimezone(dt.timezone.utc))
    theory.ensure_sample_bank(rt)
    api.create_contest(rt, CODE, "Cuộc thi đánh giá năng lực ứng dụng công nghệ thông tin, chuyển đổi số của cán bộ "
                                 "lãnh đạo, quản lý (chạy thử)", 2023, ["Lý thuyết=60", "Thực hành=40"], 60)
    for name, tier in UNITS.values():
        roster.add_unit(rt, CODE, name, tier)
    rep = roster.import_roster(rt, CODE, "danh-sach.csv", _roster_csv())
    assert rep.saved and not rep.problems, rep.problems
    shifts.add_shift(rt, CODE, "Ca 1", MAIN_SET, BACKUP_SET)
    shifts.add_shift(rt, CODE, "Ca 2", MAIN_SET, BACKUP_SET)
    shifts.add_room(rt, CODE, "Phòng máy 1", 30)
    shifts.seat_candidates(rt, CODE)
    for i, (_u, theory_points, spec) in enumerate(ROSTER, 1):
        number = f"TS{i:03d}"
        if theory_points is None:
            shifts.mark_attendance(rt, CODE, number, False, spec)
        else:
            shifts.mark_attendance(rt, CODE, number, True)
    assert shifts.switch_to_backup(rt, CODE, BACKUP_REASON, number=BACKUP_NUMBER) == [BACKUP_NUMBER]
    for shift in ("Ca 1", "Ca 2"):
        res = provision_shift(rt, CODE, shift)
        assert not res.errors and len(res.built) == 29 and len(res.absent) == 1, res.lines()

    with rt.db.read() as s:
        rows = {c.number: (c.id, c.sandbox_name) for c in s.scalars(select(CandidateRow))}
    imported = []
    for i, (_u, theory_points, spec) in enumerate(ROSTER, 1):
        number = f"TS{i:03d}"
        if theory_points is None:
            continue
        cid, sandbox_name = rows[number]
        assert _answer_theory(rt, cid, theory_points // 2) == theory_points
        if isinstance(spec, (int, float)):
            imported.append((number, spec))
            continue
        if spec is NOTHING:
            continue
        actor = _actor_for(rt, sandbox_name)
        exam = BACKUP_SET if number == BACKUP_NUMBER else MAIN_SET
        mistake = dict(spec)
        if mistake.get("cert") == "specialist":
            mistake["cert"] = SETS[exam].specialist
        golden(actor, SETS[exam], **mistake)
    rep = import_scores(rt, CODE, "diem-thuc-hanh.xlsx", _scores_xlsx(imported))
    assert rep.saved and rep.saved_count == 49, rep.problems
    return rt


def test_dry_run_report_matches_the_hand_computed_table(dry_run, tmp_path):
    rt = dry_run
    cli = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url, "contest"]
    graded = CliRunner().invoke(main, cli + ["grade", CODE, "--workers", "2"])
    assert graded.exit_code == 0, graded.output
    assert "Đã chấm phần Thực hành của 09 thí sinh (2 tiến trình song song)." in graded.output
    assert "Giữ nguyên điểm đã nhập (từ tệp hoặc giám khảo nhập tay) của 49 thí sinh, không chấm lại." \
        in graded.output
    assert "Không chấm 02 thí sinh vắng mặt." in graded.output

    res = results_for(rt, CODE)
    by = {c.number: c for c in res.candidates}
    assert {n: by[n].parts[1].points for n in EXPECTED_PRACTICAL} == EXPECTED_PRACTICAL
    assert {by[n].parts[1].source for n in EXPECTED_PRACTICAL} == {"grader"}
    assert by["TS041"].scenario_id == BACKUP_SET and by["TS041"].backup_reason == BACKUP_REASON
    assert by["TS041"].parts[1].report["scenario"] == BACKUP_SET
    assert {c.parts[0].source for c in res.present} == {"theory"}
    assert by["TS037"].failed and by["TS037"].fail_reason == "phần thi thực hành đạt 0 điểm"
    assert by["TS049"].failed and by["TS049"].total == 46 and by["TS049"].fail_reason == "dưới 50 điểm"

    assert {t.tier: t.band_counts for t in res.tiers} == EXPECTED_BANDS
    assert {t.tier: (t.registered, t.present, t.absent) for t in res.tiers} == {
        "so": (20, 19, 1), "huyen": (15, 15, 0), "xa": (25, 24, 1)}
    keys = {v[0]: k for k, v in UNITS.items()}
    assert {keys[u.name]: u.score for u in res.units} == EXPECTED_UNITS

    assert candidate_band_sentences(res) == [
        "Có 06/58 bài thi đạt điểm tối đa 100 điểm (cấp sở: 03 bài, cấp huyện: 02 bài, cấp xã: 01 bài), "
        "đạt tỷ lệ 10,34%.",
        "Có 27/58 bài thi đạt điểm từ 90 đến dưới 100 điểm (cấp sở: 11 bài, cấp huyện: 06 bài, cấp xã: 10 bài), "
        "đạt tỷ lệ 46,55%.",
        "Có 16/58 bài thi đạt điểm từ 80 đến dưới 90 điểm (cấp sở: 05 bài, cấp huyện: 05 bài, cấp xã: 06 bài), "
        "đạt tỷ lệ 27,59%.",
        "Có 04/58 bài thi đạt điểm từ 70 đến dưới 80 điểm (cấp sở: 0 bài, cấp huyện: 01 bài, cấp xã: 03 bài), "
        "đạt tỷ lệ 6,90%.",
        "Có 03/58 bài thi đạt điểm từ 50 đến dưới 70 điểm (cấp sở: 0 bài, cấp huyện: 01 bài, cấp xã: 02 bài), "
        "đạt tỷ lệ 5,17%.",
        "Có 02/58 (cấp xã) bài thi không đạt yêu cầu, chiếm 3,45%. Do phần thi thực hành đạt 0 điểm (01 bài); "
        "dưới 50 điểm (01 bài).",
    ]
    assert unit_band_sentences(res) == [
        "Có 07/12 đơn vị, địa phương đạt từ 90 điểm trở lên (cấp sở: 04, cấp huyện: 01, cấp xã: 02), "
        "đạt tỷ lệ 58,33%.",
        "Có 03/12 đơn vị, địa phương đạt từ 80 đến dưới 90 điểm (cấp huyện: 02, cấp xã: 01), đạt tỷ lệ 25%.",
        "Có 01/12 đơn vị, địa phương đạt từ 70 đến dưới 80 điểm (cấp xã: 01), đạt tỷ lệ 8,33%.",
        "Có 01/12 đơn vị, địa phương đạt từ 50 đến dưới 70 điểm (cấp xã: 01), đạt tỷ lệ 8,33%.",
    ]
    city, district = res.awards
    assert [(w["level"], w["unit"]) for w in city.winners] == [
        ("first", "Sở Tư pháp"), ("second", "Sở Nội vụ"), ("second", "Sở Tài chính")]
    assert [(w["level"], w["unit"]) for w in district.winners] == [
        ("first", "UBND phường Hưng Lợi"), ("second", "UBND huyện Phong Điền"), ("third", "UBND phường Xuân Khánh")]

    text = report_text(res)
    lines = text.splitlines()
    for line in [
        "- Tổng số thí sinh đăng ký tham dự: 60 người.",
        "- Tổng số thí sinh tham gia dự thi: 58 người (cấp sở: 19, cấp huyện: 15, cấp xã: 24); "
        "Số thí sinh vắng mặt: 02 người.",
        f"- {_name(10)} (số báo danh TS010, Sở Y tế): Ốm đau, có giấy xác nhận của bệnh viện.",
        f"- {_name(50)} (số báo danh TS050, UBND xã Nhơn Ái): Dự kỳ họp HĐND xã (Giấy mời số 15/GM-HĐND).",
        "- Số thí sinh làm bộ đề dự phòng: 01 người.",
        f"- {_name(41)} (số báo danh TS041, UBND phường Xuân Khánh): {BACKUP_REASON}.",
        "Qua kết quả cuộc thi, 84,48% thí sinh có điểm thi cá nhân đạt từ 80 điểm trở lên.",
        "Có 02/58 thí sinh không đạt yêu cầu hoặc đạt dưới 50% tổng điểm, chưa được xem xét khen thưởng.",
        "- Giải Nhất: Sở Tư pháp (94,8 điểm).",
        "- Giải Nhì: Sở Nội vụ (90 điểm); Sở Tài chính (90 điểm).",
        "- Giải Ba: không trao.",
        "- Ghi chú: 02 đơn vị đồng hạng Nhì (90 điểm: Sở Nội vụ, Sở Tài chính) cùng nhận giải Nhì nên không xét "
        "giải Ba.",
        "- Ghi chú: Sở Y tế (95 điểm) có 01 thí sinh vắng mặt nên không được xét giải tập thể.",
        "- Giải Nhất: UBND phường Hưng Lợi (94,8 điểm).",
        "- Giải Nhì: UBND huyện Phong Điền (91,6 điểm).",
        "- Giải Ba: UBND phường Xuân Khánh (90,6 điểm).",
    ]:
        assert line in lines, line

    out = CliRunner().invoke(main, cli + ["report", CODE, "--docx", str(tmp_path / "bc.docx"), "--pdf",
                                          str(tmp_path / "bc.pdf"), "--xlsx", str(tmp_path / "kq.xlsx"), "--text"])
    assert out.exit_code == 0, out.output
    assert text in out.output
    from openpyxl import load_workbook
    wb = load_workbook(tmp_path / "kq.xlsx")
    assert list(wb["Theo cấp"].iter_rows(values_only=True))[-1][:10] == ("Tổng", 60, 58, 2, 6, 27, 16, 4, 3, 2)
    detail = [r for r in wb["Chấm thực hành"].iter_rows(values_only=True) if r[0] == "TS012"]
    lost = [(r[3], r[5], r[6]) for r in detail if r[5] != r[6]]
    assert lost == [("S1", 6, 0)] and detail[0][2] == MAIN_SET
    from docx import Document
    doc = Document(str(tmp_path / "bc.docx"))
    assert any(p.text.startswith("- Có 27/58 bài thi đạt điểm từ 90 đến dưới 100 điểm") for p in doc.paragraphs)
    assert (tmp_path / "bc.pdf").read_bytes().startswith(b"%PDF")

    # every decision is on record
    kinds = [e.kind for e in api.events(rt, CODE)]
    assert kinds.count("grade") == 1 and kinds.count("backup_switch") == 1 and kinds.count("import_scores") == 1
