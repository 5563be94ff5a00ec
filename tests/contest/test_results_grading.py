"""Grading and results on rows made with the models (the public-API dry run is test_dry_run.py): 60 candidates of 12 units in 3 tiers, in 2 shifts, take both
parts; 2 are absent (with reasons), 1 is switched to the backup set, 1 leaves the practical
part empty (điểm liệt). Nine practical parts are real sandboxes (the drill-size exam set
tests/scenarios/data/minimal.yaml, and the drill luyen-gui-thu-cc-bcc as the backup set)
where the candidate's mail is sent through the mail API with scripted quality (all right, a
wrong subject, nothing, To and CC without BCC), graded by ``sandbox contest grade`` on both
cores; the rest of the practical part comes as imported scores, the theory part as the points
of the candidates' submitted papers. The report's numbers are checked against the table
below, computed by hand."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailserver import api as mail_api
from sandbox.cli import main
from sandbox.kernel.clock import FixedClock
from sandbox.contest.report import (candidate_band_sentences, report_text, results_xlsx, unit_band_sentences)
from sandbox.contest.results import results_for
from scenarios.build import build
from scenarios.library import load

from .results_factory import add_candidate, add_shift, add_units, make_contest, set_part_score

MAIN_SET = Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml"
BACKUP_SET = "luyen-gui-thu-cc-bcc"
START = dt.datetime(2023, 6, 24, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))

UNITS = {  # key: (name, tier)
    "S1": ("Sở Tư pháp", "so"), "S2": ("Sở Y tế", "so"), "S3": ("Sở Tài chính", "so"), "S4": ("Sở Nội vụ", "so"),
    "H1": ("UBND quận Ninh Kiều", "huyen"), "H2": ("UBND quận Cái Răng", "huyen"),
    "H3": ("UBND huyện Phong Điền", "huyen"),
    "X1": ("UBND phường An Hòa", "xa"), "X2": ("UBND phường Xuân Khánh", "xa"), "X3": ("UBND xã Nhơn Ái", "xa"),
    "X4": ("UBND xã Giai Xuân", "xa"), "X5": ("UBND phường Hưng Lợi", "xa"),
}

# practical part done in a sandbox, graded (40-point part, 10-point exam sets: ×4)
FULL = "full"            # right recipient and subject: 10/10 -> 40
WRONG_SUBJECT = "subj"   # right recipient, wrong subject: 6/10 -> 24
NOTHING = "none"         # nothing sent: 0 -> điểm liệt
BACKUP_TO_CC = "backup"  # backup set: To and CC right, no BCC, no meeting time: 6/10 -> 24

# (unit, theory points of 60 (30 questions × 2), practical: points imported | a scripted sandbox | absence reason)
ROSTER = [
    ("S1", 60, FULL), ("S1", 56, 40), ("S1", 54, 38), ("S1", 50, 36), ("S1", 60, 40),
    ("S2", 58, FULL), ("S2", 60, 40), ("S2", 52, 36), ("S2", 56, 38),
    ("S2", None, "Ốm đau, có giấy xác nhận của bệnh viện"),
    ("S3", 60, 34), ("S3", 48, WRONG_SUBJECT), ("S3", 56, 40), ("S3", 54, 36), ("S3", 58, 40),
    ("S4", 56, 38), ("S4", 52, 38), ("S4", 60, 30), ("S4", 50, 40), ("S4", 50, 36),
    ("H1", 60, FULL), ("H1", 54, 36), ("H1", 46, 30), ("H1", 50, 34), ("H1", 56, 40),
    ("H2", 52, 38), ("H2", 44, 36), ("H2", 58, 40), ("H2", 40, 26), ("H2", 50, 30),
    ("H3", 56, 38), ("H3", 54, 40), ("H3", 48, 34), ("H3", 60, 40), ("H3", 52, 36),
    # shift 2
    ("X1", 60, FULL), ("X1", 44, NOTHING), ("X1", 50, 36), ("X1", 46, 34), ("X1", 42, 30),
    ("X2", 54, BACKUP_TO_CC), ("X2", 56, 38), ("X2", 52, 36), ("X2", 58, 40), ("X2", 48, 34),
    ("X3", 38, 22), ("X3", 42, 28), ("X3", 36, 20), ("X3", 30, 16),
    ("X3", None, "Dự kỳ họp HĐND xã (Giấy mời số 15/GM-HĐND)"),
    ("X4", 50, 36), ("X4", 54, WRONG_SUBJECT), ("X4", 46, 30), ("X4", 52, 38), ("X4", 48, 32),
    ("X5", 58, 40), ("X5", 56, 40), ("X5", 60, 38), ("X5", 54, 38), ("X5", 50, FULL),
]
BACKUP_REASON = "Quên mật khẩu hộp thư, chuyển sang bộ đề dự phòng (biên bản số 03/BB-BCT)"

# --- the hand-computed table ------------------------------------------------------------------------
# totals per tier and band (present candidates):
#            100  90-<100  80-<90  70-<80  50-<70  không đạt   dự thi
#  cấp sở      3     12       3       1       0        0          19
#  cấp huyện   2      6       5       1       1        0          15
#  cấp xã      1      8       6       5       2        2          24   (44: practical 0; 46: < 50)
#  tổng        6     26      14       7       3        2          58
# units (mean of present candidates' totals): S1 94,8  S2 95 (absentee)  S3 90  S4 90  H1 89,2  H2 82,8
#  H3 91,6  X1 76,4  X2 88  X3 58 (absentee)  X4 82  X5 94,8
# city awards: Nhất S1; Nhì S3 and S4 tied at 90, so no Ba; S2 excluded (absentee)
# district awards: Nhất X5 94,8; Nhì H3 91,6; Ba H1 89,2
EXPECTED_BANDS = {"so": [3, 12, 3, 1, 0, 0], "huyen": [2, 6, 5, 1, 1, 0], "xa": [1, 8, 6, 5, 2, 2]}
EXPECTED_UNITS = {"S1": 94.8, "S2": 95.0, "S3": 90.0, "S4": 90.0, "H1": 89.2, "H2": 82.8, "H3": 91.6, "X1": 76.4,
                  "X2": 88.0, "X3": 58.0, "X4": 82.0, "X5": 94.8}


def _message(sender: str, to: list[str], cc: list[str], subject: str, body: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(START)
    msg["Message-ID"] = make_msgid(domain="dryrun.test")
    msg.set_content(body)
    return msg.as_bytes()


def _act(rt, res, how: str) -> None:
    """The candidate's scripted practical work, through the mail package's public API."""
    if how == NOTHING:
        return
    with rt.db.read() as s:
        acc = mail_api.account_by_address(s, res.sandbox_id, res.candidate.address)
    v = res.values
    if how == BACKUP_TO_CC:
        to, cc = [v["phan_cong"]["to"]], [v["phan_cong"]["cc"]]
        raw = _message(acc.address, to, cc, "Mời họp rà soát thủ tục hành chính", "Kính mời dự họp tại phòng họp số 1.")
        mail_api.submit(rt.dispatcher, rt.blobs, acc, raw, to + cc, via="webmail")
        return
    to = [v["recipient"]["email"]]
    subject = v["subject"] if how == FULL else "Danh sách"
    mail_api.submit(rt.dispatcher, rt.blobs, acc, _message(acc.address, to, [], subject, "Kính gửi."), to,
                    via="webmail")


@pytest.fixture
def dry_run(sqlite_runtime):
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START.astimezone(dt.timezone.utc))
    contest = make_contest(rt, "thu2023", name="Cuộc thi đánh giá năng lực ứng dụng công nghệ thông tin, chuyển "
                                              "đổi số của cán bộ lãnh đạo, quản lý (chạy thử)")
    unit_ids = add_units(rt, contest, list(UNITS.values()))
    shift1 = add_shift(rt, contest, "Ca 1", str(MAIN_SET), BACKUP_SET)
    shift2 = add_shift(rt, contest, "Ca 2", str(MAIN_SET), BACKUP_SET)
    theory, practical = contest["parts"]["Lý thuyết"], contest["parts"]["Thực hành"]
    main_set, backup_set = load(MAIN_SET), load(BACKUP_SET)
    numbers = {}
    for i, (unit, theory_points, practical_spec) in enumerate(ROSTER, 1):
        number = f"TS{i:03d}"
        shift = shift1 if UNITS[unit][1] != "xa" else shift2
        fields = dict(shift_id=shift, seat=i, seed=i, scenario_id=str(MAIN_SET), attendance="present")
        if theory_points is None:
            fields |= dict(attendance="absent", absence_reason=practical_spec)
        if practical_spec == BACKUP_TO_CC:
            fields |= dict(scenario_id=BACKUP_SET, backup_reason=BACKUP_REASON)
        if isinstance(practical_spec, str) and theory_points is not None:
            fields["sandbox_name"] = f"thu2023-{number.lower()}"
        cid = add_candidate(rt, contest, unit_ids[UNITS[unit][0]], number, f"Thí sinh {number}", **fields)
        numbers[number] = (unit, theory_points, practical_spec)
        if theory_points is None:
            continue
        set_part_score(rt, cid, theory, theory_points, "theory")
        if isinstance(practical_spec, str):
            loaded = backup_set if practical_spec == BACKUP_TO_CC else main_set
            res = build(rt, loaded, i, fields["sandbox_name"], start=START)
            _act(rt, res, practical_spec)
        else:
            set_part_score(rt, cid, practical, practical_spec, "import")
    return rt, numbers


def test_graded_and_imported_rows_give_the_hand_computed_report(dry_run, tmp_path):
    rt, numbers = dry_run
    cli = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url, "contest"]

    graded = CliRunner().invoke(main, cli + ["grade", "thu2023", "--workers", "2"])
    assert graded.exit_code == 0, graded.output
    assert "Đã chấm phần Thực hành của 09 thí sinh (2 tiến trình song song)." in graded.output
    assert "Không chấm 02 thí sinh vắng mặt." in graded.output

    res = results_for(rt, "thu2023")
    by = {c.number: c for c in res.candidates}
    # the grader's points, scaled to the 40-point part, with the score report kept
    assert {n: by[n].parts[1].points for n, (_, _, p) in numbers.items() if isinstance(p, str) and by[n].parts[0].points
            is not None} == {"TS001": 40, "TS006": 40, "TS012": 24, "TS021": 40, "TS036": 40, "TS037": 0,
                             "TS041": 24, "TS052": 24, "TS060": 40}
    assert {by[n].parts[1].source for n in ("TS001", "TS037", "TS041")} == {"grader"}
    from sandbox.contest.grading import score_report
    rep = score_report(rt, "thu2023", "TS041")
    assert rep["total"] == 6 and rep["max"] == 10 and [c["awarded"] for c in rep["criteria"]] == [3, 3, 0, 0]
    assert by["TS037"].failed and by["TS037"].fail_reason == "phần thi thực hành đạt 0 điểm"
    assert by["TS049"].failed and by["TS049"].total == 46

    assert {t.tier: t.band_counts for t in res.tiers} == EXPECTED_BANDS
    assert {t.tier: (t.registered, t.present, t.absent) for t in res.tiers} == {
        "so": (20, 19, 1), "huyen": (15, 15, 0), "xa": (25, 24, 1)}
    names = {v[0]: k for k, v in UNITS.items()}
    assert {names[u.name]: u.score for u in res.units} == EXPECTED_UNITS

    assert candidate_band_sentences(res) == [
        "Có 06/58 bài thi đạt điểm tối đa 100 điểm (cấp sở: 03 bài, cấp huyện: 02 bài, cấp xã: 01 bài), "
        "đạt tỷ lệ 10,34%.",
        "Có 26/58 bài thi đạt điểm từ 90 đến dưới 100 điểm (cấp sở: 12 bài, cấp huyện: 06 bài, cấp xã: 08 bài), "
        "đạt tỷ lệ 44,83%.",
        "Có 14/58 bài thi đạt điểm từ 80 đến dưới 90 điểm (cấp sở: 03 bài, cấp huyện: 05 bài, cấp xã: 06 bài), "
        "đạt tỷ lệ 24,14%.",
        "Có 07/58 bài thi đạt điểm từ 70 đến dưới 80 điểm (cấp sở: 01 bài, cấp huyện: 01 bài, cấp xã: 05 bài), "
        "đạt tỷ lệ 12,07%.",
        "Có 03/58 bài thi đạt điểm từ 50 đến dưới 70 điểm (cấp sở: 0 bài, cấp huyện: 01 bài, cấp xã: 02 bài), "
        "đạt tỷ lệ 5,17%.",
        "Có 02/58 (cấp xã) bài thi không đạt yêu cầu, chiếm 3,45%. Do phần thi thực hành đạt 0 điểm (01 bài); "
        "dưới 50 điểm (01 bài).",
    ]
    assert unit_band_sentences(res) == [
        "Có 06/12 đơn vị, địa phương đạt từ 90 điểm trở lên (cấp sở: 04, cấp huyện: 01, cấp xã: 01), đạt tỷ lệ 50%.",
        "Có 04/12 đơn vị, địa phương đạt từ 80 đến dưới 90 điểm (cấp huyện: 02, cấp xã: 02), đạt tỷ lệ 33,33%.",
        "Có 01/12 đơn vị, địa phương đạt từ 70 đến dưới 80 điểm (cấp xã: 01), đạt tỷ lệ 8,33%.",
        "Có 01/12 đơn vị, địa phương đạt từ 50 đến dưới 70 điểm (cấp xã: 01), đạt tỷ lệ 8,33%.",
    ]
    city, district = res.awards
    assert [(w["level"], w["unit"]) for w in city.winners] == [
        ("first", "Sở Tư pháp"), ("second", "Sở Nội vụ"), ("second", "Sở Tài chính")]
    assert [(w["level"], w["unit"]) for w in district.winners] == [
        ("first", "UBND phường Hưng Lợi"), ("second", "UBND huyện Phong Điền"), ("third", "UBND quận Ninh Kiều")]

    text = report_text(res)
    for line in [
        "- Tổng số thí sinh đăng ký tham dự: 60 người.",
        "- Tổng số thí sinh tham gia dự thi: 58 người (cấp sở: 19, cấp huyện: 15, cấp xã: 24); "
        "Số thí sinh vắng mặt: 02 người.",
        "- Thí sinh TS010 (số báo danh TS010, Sở Y tế): Ốm đau, có giấy xác nhận của bệnh viện.",
        "- Thí sinh TS050 (số báo danh TS050, UBND xã Nhơn Ái): Dự kỳ họp HĐND xã (Giấy mời số 15/GM-HĐND).",
        "- Số thí sinh làm bộ đề dự phòng: 01 người.",
        f"- Thí sinh TS041 (số báo danh TS041, UBND phường Xuân Khánh): {BACKUP_REASON}.",
        "Qua kết quả cuộc thi, 79,31% thí sinh có điểm thi cá nhân đạt từ 80 điểm trở lên.",
        "Có 02/58 thí sinh không đạt yêu cầu hoặc đạt dưới 50% tổng điểm, chưa được xem xét khen thưởng.",
        "- Giải Nhất: Sở Tư pháp (94,8 điểm).",
        "- Giải Nhì: Sở Nội vụ (90 điểm); Sở Tài chính (90 điểm).",
        "- Giải Ba: không trao.",
        "- Ghi chú: 02 đơn vị đồng hạng Nhì (90 điểm: Sở Nội vụ, Sở Tài chính) cùng nhận giải Nhì nên không xét "
        "giải Ba.",
        "- Ghi chú: Sở Y tế (95 điểm) có 01 thí sinh vắng mặt nên không được xét giải tập thể.",
        "- Giải Nhất: UBND phường Hưng Lợi (94,8 điểm).",
        "- Giải Nhì: UBND huyện Phong Điền (91,6 điểm).",
        "- Giải Ba: UBND quận Ninh Kiều (89,2 điểm).",
    ]:
        assert line in text.splitlines(), line

    out = CliRunner().invoke(main, cli + ["report", "thu2023", "--docx", str(tmp_path / "bc.docx"), "--pdf",
                                          str(tmp_path / "bc.pdf"), "--xlsx", str(tmp_path / "kq.xlsx"), "--text"])
    assert out.exit_code == 0, out.output
    assert text in out.output
    from openpyxl import load_workbook
    wb = load_workbook(tmp_path / "kq.xlsx")
    rows = list(wb["Theo cấp"].iter_rows(values_only=True))
    assert rows[-1][:10] == ("Tổng", 60, 58, 2, 6, 26, 14, 7, 3, 2)
    assert results_xlsx(res) == (tmp_path / "kq.xlsx").read_bytes()
    detail = [r for r in wb["Chấm thực hành"].iter_rows(values_only=True) if r[0] == "TS041"]
    assert [(r[3], r[5], r[6]) for r in detail] == [("C1", 3, 3), ("C2", 3, 3), ("C3", 3, 0), ("C4", 1, 0)]
    assert detail[0][2] == BACKUP_SET and "Message-ID" in detail[0][8]

    # grading again changes nothing; the decision is recorded each time
    again = CliRunner().invoke(main, cli + ["grade", "thu2023", "--workers", "1"])
    assert again.exit_code == 0 and results_for(rt, "thu2023").to_dict() == res.to_dict()
    from sqlalchemy import select

    from sandbox.contest.models import ContestEvent
    with rt.db.read() as s:
        kinds = s.scalars(select(ContestEvent.kind)).all()
    assert kinds.count("grade") == 2


def test_grading_keeps_decisions_and_lists_what_it_cannot_grade(sqlite_runtime):
    from sandbox.contest.grading import grade_contest
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START.astimezone(dt.timezone.utc))
    contest = make_contest(rt, "nho")
    unit = add_units(rt, contest, [("Sở Tư pháp", "so")])["Sở Tư pháp"]
    practical = contest["parts"]["Thực hành"]
    loaded = load(MAIN_SET)
    ids = {}
    for n in ("A1", "A2", "A3"):
        ids[n] = add_candidate(rt, contest, unit, n, f"Thí sinh {n}", attendance="present", sandbox_name=f"nho-{n}")
        _act(rt, build(rt, loaded, 1, f"nho-{n}", start=START), FULL)
    ids["A4"] = add_candidate(rt, contest, unit, "A4", "Thí sinh A4", attendance="present", sandbox_name="nho-khong-co")
    set_part_score(rt, ids["A2"], practical, 12, "import")
    set_part_score(rt, ids["A3"], practical, 15, "manual")
    summary = grade_contest(rt, "nho", workers=1)
    assert (summary.graded, summary.kept_manual, summary.no_sandbox) == (1, ["A2", "A3"], ["A4"])
    assert "Không có bài thực hành (chưa tạo sandbox): A4." in summary.lines()
    by = {c.number: c.parts[1] for c in results_for(rt, "nho").candidates}
    assert (by["A1"].points, by["A1"].source) == (40, "grader")
    assert (by["A2"].points, by["A2"].source) == (12, "import") and (by["A3"].points, by["A3"].source) == (15, "manual")
    again = grade_contest(rt, "nho", workers=1, include_imported=True)
    assert again.graded == 2 and again.kept_manual == ["A3"]
    by = {c.number: c.parts[1] for c in results_for(rt, "nho").candidates}
    assert (by["A2"].points, by["A2"].source) == (40, "grader") and by["A3"].points == 15
