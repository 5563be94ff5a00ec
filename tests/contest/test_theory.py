"""The theory part: the sample bank, drawing and shuffling, autosave, scoring, bank import errors."""
from __future__ import annotations

import re
import unicodedata

import pytest
import yaml
from openpyxl import Workbook
from sqlalchemy import select

from sandbox.kernel.clock import FixedClock
from sandbox.contest import session as exam
from sandbox.contest import theory
from sandbox.contest.models import PartScore, Question, TheoryPaper

from .portal_factory import AT, make_portal_world


class raises_vi:
    """pytest.raises checking the Vietnamese message (``str(e)`` is the English detail)."""

    def __init__(self, exc, text):
        self.exc, self.text = exc, text

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        assert et is not None and issubclass(et, self.exc), f"{self.exc} not raised"
        assert self.text in ev.message_vi, ev.message_vi
        return True


@pytest.fixture
def rt(sqlite_runtime):
    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(AT)
    return sqlite_runtime


def test_sample_bank_is_large_cited_and_clean():
    data = yaml.safe_load((theory.BANKS_DIR / "mau.yaml").read_text(encoding="utf-8"))
    parsed = theory.read_yaml(theory.BANKS_DIR / "mau.yaml")
    assert parsed.problems == []
    assert len(parsed.questions) >= 60
    topics = {q.topic for q in parsed.questions}
    assert {"Chuyển đổi số", "An toàn thông tin mạng", "Thư điện tử", "Công tác văn thư", "Chữ ký số",
            "Bảo vệ dữ liệu cá nhân"} <= topics
    for raw, q in zip(data["questions"], parsed.questions):
        for text in [raw["text"], raw["source"], *raw["options"]]:
            assert unicodedata.is_normalized("NFC", text), raw["code"]
        # every source names a document with its number or a dated public guide
        assert re.search(r"\d", q.source), q.code
        assert len(q.options) >= 4 and len(set(q.options)) == len(q.options)
        assert q.correct, q.code
    sources = " ".join(q.source for q in parsed.questions)
    for anchor in ("749/QĐ-TTg ngày 03/6/2020", "505/QĐ-TTg ngày 22/4/2022", "02-NQ/TU ngày 04/8/2021",
                   "86/2015/QH13", "30/2020/NĐ-CP ngày 05/3/2020", "20/2023/QH15", "13/2023/NĐ-CP ngày 17/4/2023"):
        assert anchor in sources, anchor


def test_drawing_is_deterministic_and_differs_between_candidates():
    ids = list(range(1, 69))
    counts = {i: 4 for i in ids}
    a1 = theory.draw("cds2024", "TS001", ids, counts, 20)
    a2 = theory.draw("cds2024", "TS001", list(reversed(ids)), counts, 20)
    b = theory.draw("cds2024", "TS002", ids, counts, 20)
    other_contest = theory.draw("cds2025", "TS001", ids, counts, 20)
    assert a1 == a2
    assert len(a1) == 20 and len({it["question_id"] for it in a1}) == 20
    assert [it["question_id"] for it in a1] != [it["question_id"] for it in b]
    assert a1 != other_contest
    assert all(sorted(it["order"]) == [0, 1, 2, 3] for it in a1)
    # over many candidates, options really are shuffled (the correct option is not always first)
    firsts = {theory.draw("cds2024", f"TS{i:03d}", ids, counts, 5)[0]["order"][0] for i in range(40)}
    assert firsts == {0, 1, 2, 3}


def test_papers_are_stored_once_and_shuffling_keeps_the_correct_answer(rt):
    w = make_portal_world(rt, n=2, questions=15)
    c1, c2 = w.candidates["TS001"], w.candidates["TS002"]
    exam.start_attempt(rt, c1)
    exam.start_attempt(rt, c2)
    p1, p2 = theory.review(rt, c1), theory.review(rt, c2)
    assert p1.total == 15 and [q.question_id for q in p1.questions] != [q.question_id for q in p2.questions]
    assert theory.paper_for(rt, c1) == theory.paper_for(rt, c1)   # drawn once
    with rt.db.read() as s:
        bank = {q.id: q for q in s.scalars(select(Question))}
    for q in p1.questions:
        original = bank[q.question_id]
        # shown options are a permutation of the bank's, keyed by original index
        assert sorted(o[0] for o in q.options) == list(range(len(original.options)))
        for orig, letter, text in q.options:
            assert original.options[orig] == text
        shown_correct = {text for orig, _, text in q.options if orig in original.correct}
        assert shown_correct == {original.options[i] for i in original.correct}
    # answering the correct options (found by text, as a candidate would) scores full marks
    for q in p1.questions:
        original = bank[q.question_id]
        chosen = [orig for orig, _, text in q.options if text in {original.options[i] for i in original.correct}]
        theory.save_answer(rt, c1, q.question_id, chosen)
    assert theory.score(rt, c1) == pytest.approx(60)


def test_autosave_change_and_partial_multiple_answers(rt):
    w = make_portal_world(rt, n=1, questions=68)
    cid = w.candidates["TS001"]
    exam.start_attempt(rt, cid, seat="10.0.0.5")
    paper = theory.review(rt, cid)
    with rt.db.read() as s:
        bank = {q.id: q for q in s.scalars(select(Question))}
    multi = next(q for q in paper.questions if len(bank[q.question_id].correct) > 1)
    single = next(q for q in paper.questions if len(bank[q.question_id].correct) == 1)
    wrong = next(i for i in range(4) if i not in bank[single.question_id].correct)
    res = theory.save_answer(rt, cid, single.question_id, [wrong])
    assert res == {"answered": 1, "total": 68, "saved_at": AT.isoformat()}
    theory.save_answer(rt, cid, single.question_id, bank[single.question_id].correct)   # changed mind
    theory.save_answer(rt, cid, multi.question_id, bank[multi.question_id].correct[:1])  # only part of the set
    each = 60 / 68
    assert theory.score(rt, cid) == pytest.approx(each, abs=1e-3)
    theory.save_answer(rt, cid, multi.question_id, bank[multi.question_id].correct)
    assert theory.score(rt, cid) == pytest.approx(2 * each, abs=1e-3)
    theory.save_answer(rt, cid, multi.question_id, [])   # cleared
    assert theory.review(rt, cid).answered == 1
    with raises_vi(theory.SandboxError, "không hợp lệ"):
        theory.save_answer(rt, cid, single.question_id, [7])
    with pytest.raises(theory.NotFound):
        theory.save_answer(rt, cid, 10**6, [0])
    st = exam.state(rt, cid)
    assert st.part == "theory"
    # submitting freezes the answers and writes the part score
    assert theory.submit(rt, cid) == pytest.approx(each, abs=1e-3)
    with raises_vi(theory.Forbidden, "đã nộp"):
        theory.save_answer(rt, cid, single.question_id, [wrong])
    with rt.db.read() as s:
        ps = s.scalar(select(PartScore).where(PartScore.candidate_id == cid))
        assert ps.source == "theory" and ps.points == pytest.approx(each, abs=1e-3) and ps.report["right"] == 1
        assert not s.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == cid)).auto_submitted


def test_auto_submit_at_the_deadline_via_sweep(rt):
    w = make_portal_world(rt, n=3, questions=10, duration=30)
    a, b, c = (w.candidates[k] for k in ("TS001", "TS002", "TS003"))
    exam.start_attempt(rt, a)
    rt.clock.advance(minutes=10)
    exam.start_attempt(rt, b)
    qa = theory.review(rt, a).questions[0]
    with rt.db.read() as s:
        correct = s.get(Question, qa.question_id).correct
    theory.save_answer(rt, a, qa.question_id, correct)
    rt.clock.advance(minutes=20)          # a's deadline (30 min after start) has come, b has 10 min left
    with raises_vi(theory.Forbidden, "Đã hết thời gian làm bài"):
        theory.save_answer(rt, a, qa.question_id, [])
    assert exam.sweep(rt, w.contest_id) == 1
    assert exam.sweep(rt, w.contest_id) == 0      # idempotent
    with rt.db.read() as s:
        pa = s.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == a))
        assert pa.auto_submitted and pa.submitted_at is not None
        assert s.scalar(select(PartScore.points).where(PartScore.candidate_id == a)) == pytest.approx(6)
        assert s.scalar(select(PartScore.id).where(PartScore.candidate_id == b)) is None
    st = exam.state(rt, a)
    assert st.finished_at is not None and not st.open
    rt.clock.advance(minutes=10)
    assert exam.sweep(rt, w.contest_id) == 1
    assert exam.state(rt, b).finished_at is not None
    assert exam.state(rt, c).started is False       # never started: nothing to submit


def _xlsx(tmp_path, rows, header=None):
    wb = Workbook()
    ws = wb.active
    ws.append(header or ["Mã", "Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Phương án D", "Đáp án",
                         "Chủ đề", "Nguồn"])
    for r in rows:
        ws.append(r)
    path = tmp_path / "bank.xlsx"
    wb.save(path)
    return path


def test_bank_import_from_excel(rt, tmp_path):
    path = _xlsx(tmp_path, [
        ["Q1", "Câu một?", "Một", "Hai", "Ba", "Bốn", "B", "Chủ đề 1", "Nghị định số 30/2020/NĐ-CP ngày 05/3/2020"],
        ["Q2", "Câu hai?", "Một", "Hai", None, None, "a, b", "Chủ đề 2", "Luật số 20/2023/QH15"],
    ])
    assert theory.import_bank(rt, "thu", path) == 2
    with rt.db.read() as s:
        qs = {q.code: q for q in s.scalars(select(Question).where(Question.bank == "thu"))}
    assert qs["Q1"].correct == [1] and qs["Q1"].options == ["Một", "Hai", "Ba", "Bốn"]
    assert qs["Q2"].correct == [0, 1] and qs["Q2"].options == ["Một", "Hai"]
    first_id = qs["Q1"].id
    # re-import updates by code; ids stay (papers already drawn keep their questions)
    path = _xlsx(tmp_path, [["Q1", "Câu một (sửa)?", "Một", "Hai", "Ba", "Bốn", "C", "", "Nguồn 2024"]])
    theory.import_bank(rt, "thu", path)
    with rt.db.read() as s:
        q1 = s.scalar(select(Question).where(Question.bank == "thu", Question.code == "Q1"))
        assert q1.id == first_id and q1.text == "Câu một (sửa)?" and q1.correct == [2]


def test_bank_import_errors_are_precise_and_nothing_is_saved(rt, tmp_path):
    path = _xlsx(tmp_path, [
        ["Q1", "Đúng?", "Có", "Không", None, None, "A", "", "Luật số 86/2015/QH13"],
        ["Q1", "Trùng mã?", "Có", "Không", None, None, "A", "", "Nguồn"],
        ["Q3", "", "Có", "Không", None, None, "A", "", "Nguồn"],
        ["Q4", "Đáp án ngoài?", "Có", "Không", None, None, "C", "", "Nguồn"],
        ["Q5", "Đáp án lạ?", "Có", "Không", None, None, "X", "", "Nguồn"],
        ["Q6", "Bỏ trống giữa?", "Có", None, "Không", None, "A", "", "Nguồn"],
        ["Q7", "Một phương án?", "Có", None, None, None, "A", "", "Nguồn"],
        ["Q8", "Không nguồn?", "Có", "Không", None, None, "A", "", None],
        ["Q9", "Không đáp án?", "Có", "Không", None, None, None, "", "Nguồn"],
    ])
    with pytest.raises(theory.BankImportError) as e:
        theory.import_bank(rt, "thu", path)
    assert [str(p) for p in e.value.problems] == [
        "Dòng 3, cột «Mã»: mã «Q1» trùng với dòng 2.",
        "Dòng 4, cột «Câu hỏi»: thiếu nội dung câu hỏi.",
        "Dòng 5, cột «Đáp án»: đáp án «C» không có phương án tương ứng (câu này chỉ có 2 phương án).",
        "Dòng 6, cột «Đáp án»: đáp án «X» không hợp lệ (chỉ ghi chữ cái A, B, C…, cách nhau bằng dấu phẩy).",
        "Dòng 7, cột «Phương án C»: có nội dung nhưng «Phương án B» bỏ trống (các phương án phải liền nhau, bắt đầu từ A).",
        "Dòng 8, cột «Phương án B»: cần ít nhất 2 phương án trả lời.",
        "Dòng 9, cột «Nguồn»: thiếu nguồn (văn bản, ngày ban hành hoặc tài liệu đối chiếu).",
        "Dòng 10, cột «Đáp án»: chưa có đáp án (ghi chữ cái của phương án đúng, ví dụ «B» hoặc «A,C»).",
    ]
    assert e.value.message_vi.startswith("Ngân hàng câu hỏi có lỗi, chưa nhập câu nào.\nDòng 3, cột «Mã»")
    with rt.db.read() as s:
        assert s.scalar(select(Question.id).where(Question.bank == "thu")) is None


def test_bank_import_bad_files(rt, tmp_path):
    fake = tmp_path / "not.xlsx"
    fake.write_text("Mã,Câu hỏi\n")
    with raises_vi(theory.BankImportError, "không phải tệp Excel"):
        theory.import_bank(rt, "thu", fake)
    missing = _xlsx(tmp_path, [], header=["Mã", "Câu hỏi", "Phương án A", "Đáp án"])
    with pytest.raises(theory.BankImportError) as e:
        theory.import_bank(rt, "thu", missing)
    assert [str(p) for p in e.value.problems] == ["Dòng 1, cột «Phương án B»: thiếu cột này trong dòng tiêu đề.",
                                                  "Dòng 1, cột «Nguồn»: thiếu cột này trong dòng tiêu đề."]
    other = tmp_path / "bank.csv"
    other.write_text("x")
    with raises_vi(theory.BankImportError, "chỉ nhận .xlsx hoặc .yaml"):
        theory.import_bank(rt, "thu", other)


def test_cli_import_bank_and_sweep(tmp_path):
    import subprocess
    import sys

    from tests.conftest import cli_env
    env = cli_env(tmp_path / "data")
    cli = [sys.executable, "-m", "sandbox.cli", "contest"]
    out = subprocess.run(cli + ["import-bank", "mau", str(theory.BANKS_DIR / "mau.yaml")], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Đã nhập 68 câu hỏi vào ngân hàng «mau»." in out.stdout
    out = subprocess.run(cli + ["sweep", "khong-co"], env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "Không tìm thấy cuộc thi «khong-co»" in out.stderr
