"""The theory part: question banks (imported from Excel or YAML), the paper drawn for each
candidate (deterministic from the contest and the candidate number), autosaved answers,
submission and scoring.

A candidate's paper: ``n`` questions drawn from the part's bank with ``random.Random`` seeded
by ``"<contest code>:<number>"``; each question's options in an order shuffled by the same
generator. Answers are stored as ORIGINAL option indexes (the shuffle only changes what is
shown), so scoring never needs the order. A question scores its share of the part's points
when the chosen set equals the correct set, nothing otherwise.

Public functions (the portal, the sweep, results):
``import_bank``, ``read_bank_file``, ``theory_part``, ``paper_for``, ``save_answer``,
``submit``, ``score``, ``review``."""
from __future__ import annotations

import random
import threading
import time
import unicodedata
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, delete, select, update

from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import Forbidden, NotFound, SandboxError

from .activity import worth_recording
from .models import Attempt, Candidate, Contest, ContestPart, PartScore, Question, TheoryPaper

BANKS_DIR = Path(__file__).with_name("banks")
SAMPLE_BANK = "mau"
DEFAULT_QUESTIONS = 30
LETTERS = "ABCDEFGHIJ"
MIN_OPTIONS = 2

#: Excel/YAML headers (Vietnamese, as the organiser types them)
COL_CODE, COL_TEXT, COL_ANSWER, COL_TOPIC, COL_SOURCE = "Mã", "Câu hỏi", "Đáp án", "Chủ đề", "Nguồn"
OPTION_PREFIX = "Phương án "


def _nfc(value) -> str:
    return unicodedata.normalize("NFC", str(value if value is not None else "")).strip()


# --- bank import ---------------------------------------------------------------------------

@dataclass
class BankProblem:
    row: int            # 1-based row in the sheet (header = 1), or question position in YAML
    column: str         # the column's header, "" for the whole row
    message: str        # Vietnamese

    def __str__(self) -> str:
        where = f"Dòng {self.row}" + (f", cột «{self.column}»" if self.column else "")
        return f"{where}: {self.message}"


class BankImportError(SandboxError):
    """Nothing imported: ``problems`` lists every bad row and column."""

    def __init__(self, problems: list[BankProblem], header: str = "Ngân hàng câu hỏi có lỗi, chưa nhập câu nào."):
        self.problems = problems
        lines = [header] + [str(p) for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"… và {len(problems) - 50} lỗi khác.")
        super().__init__("\n".join(lines), f"{len(problems)} bank problems")


@dataclass
class BankQuestion:
    code: str
    text: str
    options: list[str]
    correct: list[int]
    topic: str = ""
    source: str = ""
    row: int = 0


@dataclass
class ParsedBank:
    questions: list[BankQuestion] = field(default_factory=list)
    problems: list[BankProblem] = field(default_factory=list)


def _parse_answer(value: str, n_options: int) -> tuple[list[int], str | None]:
    raw = _nfc(value).upper().replace(";", ",").replace(" ", "")
    if not raw:
        return [], "chưa có đáp án (ghi chữ cái của phương án đúng, ví dụ «B» hoặc «A,C»)."
    letters = [x for x in raw.split(",") if x] if "," in raw else list(raw)
    out: list[int] = []
    for letter in letters:
        if len(letter) != 1 or letter not in LETTERS:
            return [], f"đáp án «{_nfc(value)}» không hợp lệ (chỉ ghi chữ cái A, B, C…, cách nhau bằng dấu phẩy)."
        idx = LETTERS.index(letter)
        if idx >= n_options:
            return [], f"đáp án «{letter}» không có phương án tương ứng (câu này chỉ có {n_options} phương án)."
        if idx in out:
            return [], f"đáp án «{letter}» bị ghi lặp."
        out.append(idx)
    return sorted(out), None


def _check_row(row_no: int, code, text, options: list[tuple[str, object]], answer, topic, source,
               seen: dict[str, int], problems: list[BankProblem]) -> BankQuestion | None:
    """Validate one question; append problems; the question, or None if it is bad."""
    before = len(problems)
    code, text, topic, source = _nfc(code), _nfc(text), _nfc(topic), _nfc(source)
    if not code:
        problems.append(BankProblem(row_no, COL_CODE, "thiếu mã câu hỏi."))
    elif len(code) > 40:
        problems.append(BankProblem(row_no, COL_CODE, "mã câu hỏi dài quá 40 ký tự."))
    elif code in seen:
        problems.append(BankProblem(row_no, COL_CODE, f"mã «{code}» trùng với dòng {seen[code]}."))
    else:
        seen[code] = row_no
    if not text:
        problems.append(BankProblem(row_no, COL_TEXT, "thiếu nội dung câu hỏi."))
    # options: filled ones must be contiguous from A
    filled: list[str] = []
    gap_at = None
    for header, value in options:
        v = _nfc(value)
        if v:
            if gap_at is not None:
                problems.append(BankProblem(row_no, header, f"có nội dung nhưng «{gap_at}» bỏ trống "
                                            "(các phương án phải liền nhau, bắt đầu từ A)."))
                break
            filled.append(v)
        elif gap_at is None:
            gap_at = header
    else:
        if len(filled) < MIN_OPTIONS:
            problems.append(BankProblem(row_no, options[len(filled)][0] if len(filled) < len(options) else "",
                                        f"cần ít nhất {MIN_OPTIONS} phương án trả lời."))
        dupes = {o for o in filled if filled.count(o) > 1}
        if dupes:
            problems.append(BankProblem(row_no, "", f"có phương án trùng nhau: «{sorted(dupes)[0]}»."))
    correct, err = _parse_answer(answer, len(filled))
    if err and len(filled) >= MIN_OPTIONS:
        problems.append(BankProblem(row_no, COL_ANSWER, err))
    if not source:
        problems.append(BankProblem(row_no, COL_SOURCE, "thiếu nguồn (văn bản, ngày ban hành hoặc tài liệu đối chiếu)."))
    if len(problems) > before:
        return None
    return BankQuestion(code, text, filled, correct, topic, source, row_no)


def read_xlsx(path: Path | str) -> ParsedBank:
    from openpyxl import load_workbook
    from zipfile import BadZipFile

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as e:
        raise BankImportError([], f"Tệp «{Path(path).name}» không phải tệp Excel (.xlsx) hợp lệ.") from e
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    out = ParsedBank()
    if header is None:
        raise BankImportError([BankProblem(1, "", "trang tính trống, không có dòng tiêu đề.")])
    names = [_nfc(h) for h in header]
    missing = [c for c in (COL_CODE, COL_TEXT, OPTION_PREFIX + "A", OPTION_PREFIX + "B", COL_ANSWER, COL_SOURCE)
               if c not in names]
    if missing:
        raise BankImportError([BankProblem(1, c, "thiếu cột này trong dòng tiêu đề.") for c in missing])
    col = {n: i for i, n in enumerate(names) if n}
    option_cols = []
    for letter in LETTERS:
        h = OPTION_PREFIX + letter
        if h not in col:
            break
        option_cols.append(h)
    seen: dict[str, int] = {}
    for row_no, values in enumerate(rows, start=2):
        values = list(values) + [None] * (len(names) - len(values))
        if all(v is None or _nfc(v) == "" for v in values):
            continue

        def get(h):
            return values[col[h]] if h in col else ""

        q = _check_row(row_no, get(COL_CODE), get(COL_TEXT), [(h, get(h)) for h in option_cols],
                       get(COL_ANSWER), get(COL_TOPIC), get(COL_SOURCE), seen, out.problems)
        if q is not None:
            out.questions.append(q)
    wb.close()
    return out


def read_yaml(path: Path | str) -> ParsedBank:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise BankImportError([], f"Tệp «{Path(path).name}» không đọc được (YAML, UTF-8): {e}") from e
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise BankImportError([], f"Tệp «{Path(path).name}» không có danh sách «questions».")
    out = ParsedBank()
    seen: dict[str, int] = {}
    for i, item in enumerate(items, start=1):
        item = item if isinstance(item, dict) else {}
        opts = item.get("options") or []
        options = [(OPTION_PREFIX + LETTERS[k], v) for k, v in enumerate(opts[:len(LETTERS)])]
        if len(options) < MIN_OPTIONS:
            options += [(OPTION_PREFIX + LETTERS[k], "") for k in range(len(options), MIN_OPTIONS)]
        q = _check_row(i, item.get("code"), item.get("text"), options, item.get("answer"), item.get("topic"),
                       item.get("source"), seen, out.problems)
        if q is not None:
            out.questions.append(q)
    return out


def read_bank_file(path: Path | str) -> ParsedBank:
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(path)
    if suffix in (".yaml", ".yml"):
        return read_yaml(path)
    raise BankImportError([], f"Không nhận dạng được tệp «{Path(path).name}»: chỉ nhận .xlsx hoặc .yaml.")


def import_bank(runtime, name: str, path: Path | str) -> int:
    """Import (or update, by question code) the bank ``name`` from an .xlsx or .yaml file.
    All or nothing: any bad row raises ``BankImportError`` listing every problem. Returns
    the number of questions in the file. Questions already drawn keep their id."""
    name = _nfc(name)
    if not name or len(name) > 100:
        raise SandboxError("Tên ngân hàng câu hỏi không hợp lệ.", f"bad bank name {name!r}")
    parsed = read_bank_file(path)
    if parsed.problems:
        raise BankImportError(parsed.problems)
    if not parsed.questions:
        raise BankImportError([], "Tệp không có câu hỏi nào.")
    with runtime.db.write() as s:
        existing = {q.code: q for q in s.scalars(select(Question).where(Question.bank == name))}
        for bq in parsed.questions:
            q = existing.get(bq.code) or Question(bank=name, code=bq.code)
            q.text, q.options, q.correct, q.topic, q.source = bq.text, bq.options, bq.correct, bq.topic, bq.source
            s.add(q)
    forget_questions()
    return len(parsed.questions)


def ensure_sample_bank(runtime) -> None:
    """Import the shipped sample bank ``mau`` if it is not there yet."""
    with runtime.db.read() as s:
        if s.scalar(select(Question.id).where(Question.bank == SAMPLE_BANK).limit(1)) is not None:
            return
    import_bank(runtime, SAMPLE_BANK, BANKS_DIR / "mau.yaml")


# --- the paper ------------------------------------------------------------------------------

def theory_part(session, contest_id: int) -> ContestPart | None:
    return session.scalar(select(ContestPart).where(ContestPart.contest_id == contest_id,
                                                    ContestPart.kind == "theory").order_by(ContestPart.position))


def draw(contest_code: str, number: str, question_ids: list[int], options_count: dict[int, int], n: int) -> list[dict]:
    """The paper of one candidate: ``n`` questions (fewer if the bank is smaller), each with
    its options' display order. Same contest and number, same paper."""
    rng = random.Random(f"theory:{contest_code}:{number}")
    ids = sorted(question_ids)
    chosen = rng.sample(ids, min(n, len(ids)))
    items = []
    for qid in chosen:
        order = list(range(options_count[qid]))
        rng.shuffle(order)
        items.append({"question_id": qid, "order": order})
    return items


def _paper(s, candidate: Candidate) -> TheoryPaper:
    paper = s.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == candidate.id))
    if paper is not None:
        return paper
    contest = s.get(Contest, candidate.contest_id)
    part = theory_part(s, contest.id)
    if part is None:
        raise NotFound("Cuộc thi này không có phần thi lý thuyết.", f"contest {contest.code} has no theory part")
    bank = (part.settings or {}).get("bank", SAMPLE_BANK)
    n = int((part.settings or {}).get("questions", DEFAULT_QUESTIONS))
    rows = s.execute(select(Question.id, Question.options).where(Question.bank == bank)).all()
    if not rows:
        raise NotFound(f"Ngân hàng câu hỏi «{bank}» chưa có câu hỏi nào.", f"bank {bank} empty")
    items = draw(contest.code, candidate.number, [r[0] for r in rows], {r[0]: len(r[1]) for r in rows}, n)
    paper = TheoryPaper(candidate_id=candidate.id, items=items, answers={})
    s.add(paper)
    s.flush()
    return paper


def paper_for(runtime, candidate_id: int) -> int:
    """Draw the candidate's paper if not drawn yet; its id."""
    with runtime.db.write() as s:
        cand = s.get(Candidate, candidate_id)
        if cand is None:
            raise NotFound("Không tìm thấy thí sinh.", f"candidate {candidate_id}")
        return _paper(s, cand).id


def prepare_papers(runtime, candidate_ids: list[int]) -> int:
    """Draw, ahead of the exam, the papers of the candidates that have none yet (their
    contest has a theory part): what the start would draw (``draw`` depends only on the
    contest, the number and the bank), so "Bắt đầu làm bài" has nothing left to draw. Called
    by provisioning; one write for all. The number of papers drawn."""
    if not candidate_ids:
        return 0
    with runtime.db.read() as s:
        have = set(s.scalars(select(TheoryPaper.candidate_id).where(TheoryPaper.candidate_id.in_(candidate_ids))))
        todo = [cid for cid in candidate_ids if cid not in have]
        if not todo:
            return 0
        rows = s.execute(select(Candidate.id, Candidate.number, Contest.id, Contest.code)
                         .join(Contest, Contest.id == Candidate.contest_id).where(Candidate.id.in_(todo))).all()
        parts = {cid: theory_part(s, cid) for cid in {r[2] for r in rows}}
    if any(p is not None and (p.settings or {}).get("bank", SAMPLE_BANK) == SAMPLE_BANK for p in parts.values()):
        ensure_sample_bank(runtime)
    banks: dict[str, list] = {}
    papers = []
    with runtime.db.read() as s:
        for cid, number, contest_id, code in rows:
            part = parts[contest_id]
            if part is None:
                continue
            bank = (part.settings or {}).get("bank", SAMPLE_BANK)
            n = int((part.settings or {}).get("questions", DEFAULT_QUESTIONS))
            if bank not in banks:
                banks[bank] = s.execute(select(Question.id, Question.options).where(Question.bank == bank)).all()
            if not banks[bank]:
                continue                     # an empty bank: the start says so, as before
            q = banks[bank]
            papers.append({"candidate_id": cid, "answers": {},
                           "items": draw(code, number, [r[0] for r in q], {r[0]: len(r[1]) for r in q}, n)})
    if not papers:
        return 0
    with runtime.db.write() as s:
        have = set(s.scalars(select(TheoryPaper.candidate_id).where(
            TheoryPaper.candidate_id.in_([p["candidate_id"] for p in papers]))))
        fresh = [p for p in papers if p["candidate_id"] not in have]
        if fresh:
            s.execute(TheoryPaper.__table__.insert(), fresh)
    return len(fresh)


def _open_attempt(s, candidate_id: int, now: datetime) -> Attempt:
    att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
    if att is None:
        raise Forbidden("Thí sinh chưa bắt đầu làm bài.", f"candidate {candidate_id} has no attempt")
    if att.finished_at is not None or as_utc(now) >= as_utc(att.deadline):
        raise Forbidden("Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa.",
                        f"candidate {candidate_id}: attempt closed")
    return att


def save_answer(runtime, candidate_id: int, question_id: int, chosen: list[int], *, seat: str | None = None) -> dict:
    """Autosave one answer (original option indexes; empty clears it). Refused once the
    theory part is submitted or the time is up. Also records the candidate's activity."""
    return save_answers(runtime, candidate_id, {question_id: chosen}, seat=seat)


_TP, _AT = TheoryPaper.__table__, Attempt.__table__
#: what an autosave checks, in one query inside its write
_SAVE_ROW = (select(_AT.c.id, _AT.c.deadline, _AT.c.finished_at, _AT.c.part, _AT.c.last_seat, _AT.c.last_seen,
                    _TP.c.id, _TP.c.answers, _TP.c.submitted_at)
             .select_from(_AT.outerjoin(_TP, _TP.c.candidate_id == _AT.c.candidate_id))
             .where(_AT.c.candidate_id == bindparam("cid")))
_SAVE_ANSWERS = update(_TP).where(_TP.c.id == bindparam("pid")).values(answers=bindparam("new_answers"))
#: per database: a paper's questions and their number of options, by (paper, candidate) id
#: (a drawn paper never changes)
_ITEMS: "weakref.WeakKeyDictionary[object, dict[tuple[int, int], dict[int, int]]]" = weakref.WeakKeyDictionary()


def _options_by_question(runtime, s, paper_id: int, candidate_id: int) -> dict[int, int]:
    cache = _ITEMS.setdefault(runtime.db, {})
    hit = cache.get((paper_id, candidate_id))
    if hit is None:
        items = s.scalar(select(_TP.c["items"]).where(_TP.c.id == paper_id)) or []
        hit = {int(it["question_id"]): len(it["order"]) for it in items}
        if len(cache) > 20000:
            cache.clear()
        cache[(paper_id, candidate_id)] = hit
    return hit


def save_answers(runtime, candidate_id: int, answers: dict[int, list[int]], *, seat: str | None = None) -> dict:
    """Save several answers at once (the page's "Lưu câu trả lời" without JavaScript).

    One short write: the attempt and the paper read in one query, the answers written, and
    the candidate's activity only when worth recording (``session.SEEN_EVERY_SECONDS``)."""
    now = runtime.clock.now()
    with runtime.db.write() as s:
        conn = s.connection()           # plain statements: no ORM work on the hottest write of the exam
        row = conn.execute(_SAVE_ROW, {"cid": candidate_id}).first()
        if row is None:
            raise Forbidden("Thí sinh chưa bắt đầu làm bài.", f"candidate {candidate_id} has no attempt")
        att_id, deadline, finished_at, part, last_seat, last_seen, paper_id, saved, submitted_at = row
        if finished_at is not None or as_utc(now) >= as_utc(deadline):
            raise Forbidden("Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa.",
                            f"candidate {candidate_id}: attempt closed")
        if paper_id is None:
            raise NotFound("Chưa có đề lý thuyết.", f"candidate {candidate_id} has no paper")
        if submitted_at is not None:
            raise Forbidden("Phần lý thuyết đã nộp, không thay đổi được câu trả lời.", "theory submitted")
        options = _options_by_question(runtime, conn, paper_id, candidate_id)
        saved = dict(saved or {})
        for question_id, chosen in answers.items():
            n = options.get(int(question_id))
            if n is None:
                raise NotFound("Câu hỏi không có trong đề của thí sinh.", f"question {question_id} not on paper")
            try:
                clean = sorted({int(c) for c in chosen})
            except (TypeError, ValueError):
                raise SandboxError("Phương án trả lời không hợp lệ.", f"bad option in {chosen}") from None
            if any(c < 0 or c >= n for c in clean):
                raise SandboxError("Phương án trả lời không hợp lệ.", f"bad option in {chosen}")
            if clean:
                saved[str(int(question_id))] = clean
            else:
                saved.pop(str(int(question_id)), None)
        conn.execute(_SAVE_ANSWERS, {"pid": paper_id, "new_answers": saved})
        activity = worth_recording(now, last_seen, last_seat, part, False, seat=seat, new_part="theory")
        if activity:
            conn.execute(update(_AT).where(_AT.c.id == att_id).values(**activity))
        return {"answered": len(saved), "total": len(options), "saved_at": now.isoformat()}


def submit(runtime, candidate_id: int, *, auto: bool = False, session=None) -> float:
    """Submit the theory part (the candidate's confirmation, or ``auto`` at the deadline):
    answers are frozen and scored (``PartScore`` source "theory"). Idempotent."""
    if session is not None:
        return _submit(session, candidate_id, runtime.clock.now(), auto)
    with runtime.db.write() as s:
        return _submit(s, candidate_id, runtime.clock.now(), auto)


def _submit(s, candidate_id: int, now: datetime, auto: bool) -> float:
    cand = s.get(Candidate, candidate_id)
    paper = s.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == candidate_id))
    if paper is None:
        if not auto:
            raise NotFound("Chưa có đề lý thuyết.", f"candidate {candidate_id} has no paper")
        paper = _paper(s, cand)
    if paper.submitted_at is None:
        if not auto:
            att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
            if att is not None and as_utc(now) >= as_utc(att.deadline):
                auto = True
        paper.submitted_at, paper.auto_submitted = now, auto
    return _write_score(s, cand, paper, now)


def _points(s, cand: Candidate, paper: TheoryPaper) -> tuple[float, list[dict]]:
    part = theory_part(s, cand.contest_id)
    ids = [it["question_id"] for it in paper.items]
    questions = {q.id: q for q in s.scalars(select(Question).where(Question.id.in_(ids)))} if ids else {}
    each = (part.points / len(ids)) if ids else 0.0
    detail, total = [], 0.0
    for it in paper.items:
        q = questions.get(it["question_id"])
        chosen = sorted((paper.answers or {}).get(str(it["question_id"]), []))
        ok = q is not None and chosen == sorted(q.correct)
        total += each if ok else 0.0
        detail.append({"question": q.code if q else None, "chosen": chosen, "correct": sorted(q.correct) if q else [],
                       "ok": ok})
    return round(total, 4), detail


def _write_score(s, cand: Candidate, paper: TheoryPaper, now: datetime) -> float:
    part = theory_part(s, cand.contest_id)
    points, detail = _points(s, cand, paper)
    row = s.scalar(select(PartScore).where(PartScore.candidate_id == cand.id, PartScore.part_id == part.id))
    report = {"kind": "theory", "questions": len(paper.items), "right": sum(d["ok"] for d in detail),
              "points_each": (part.points / len(paper.items)) if paper.items else 0.0,
              "auto_submitted": paper.auto_submitted, "items": detail}
    if row is None:
        s.add(PartScore(candidate_id=cand.id, part_id=part.id, points=points, source="theory", report=report, at=now))
    else:
        row.points, row.source, row.report, row.at = points, "theory", report, now
    return points


def score(runtime, candidate_id: int) -> float:
    """The theory points of a candidate's paper as it stands (submitted or not), without
    writing anything."""
    with runtime.db.read() as s:
        cand = s.get(Candidate, candidate_id)
        paper = s.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == candidate_id))
        if cand is None or paper is None:
            return 0.0
        return _points(s, cand, paper)[0]


def reopen(session, candidate_id: int) -> None:
    """Undo an automatic submission (an examiner gave more time after the deadline)."""
    paper = session.scalar(select(TheoryPaper).where(TheoryPaper.candidate_id == candidate_id))
    if paper is None or not paper.auto_submitted:
        return
    paper.submitted_at, paper.auto_submitted = None, False
    cand = session.get(Candidate, candidate_id)
    part = theory_part(session, cand.contest_id)
    session.execute(delete(PartScore).where(PartScore.candidate_id == candidate_id, PartScore.part_id == part.id,
                                            PartScore.source == "theory"))


# --- what the pages show ----------------------------------------------------------------------

@dataclass
class ShownQuestion:
    position: int          # 1-based
    question_id: int
    text: str
    topic: str
    multiple: bool         # more than one correct option: checkboxes
    options: list[tuple[int, str, str]]   # (original index, display letter, text) in display order
    chosen: list[int]


@dataclass
class PaperView:
    questions: list[ShownQuestion]
    submitted_at: datetime | None
    auto_submitted: bool

    @property
    def answered(self) -> int:
        return sum(1 for q in self.questions if q.chosen)

    @property
    def total(self) -> int:
        return len(self.questions)


@dataclass(frozen=True)
class _ShownQ:
    code: str
    text: str
    topic: str
    options: tuple[str, ...]
    multiple: bool


#: the bank's questions as shown, by id, for a minute (``import_bank`` forgets them at once in
#: its own process): a page of 30 questions costs no query for them
QUESTION_CACHE_SECONDS = 60.0
#: per database (a test process opens many): question id -> (expiry, question)
_QUESTIONS: "weakref.WeakKeyDictionary[object, dict[int, tuple[float, _ShownQ]]]" = weakref.WeakKeyDictionary()
_QLOCK = threading.Lock()


def forget_questions() -> None:
    with _QLOCK:
        _QUESTIONS.clear()


def _shown_questions(runtime, s, ids: list[int]) -> dict[int, _ShownQ]:
    now = time.monotonic()
    out, missing = {}, []
    with _QLOCK:
        cache = _QUESTIONS.setdefault(runtime.db, {})
    for qid in ids:
        hit = cache.get(qid)
        if hit is not None and hit[0] > now:
            out[qid] = hit[1]
        else:
            missing.append(qid)
    if missing:
        rows = s.execute(select(Question.id, Question.code, Question.text, Question.topic, Question.options,
                                Question.correct).where(Question.id.in_(missing))).all()
        with _QLOCK:
            for qid, code, text, topic, options, correct in rows:
                q = _ShownQ(code, text, topic, tuple(options), len(correct) > 1)
                cache[qid] = (now + QUESTION_CACHE_SECONDS, q)
                out[qid] = q
    return out


_PAPER_ROW = select(_TP.c["items"], _TP.c.answers, _TP.c.submitted_at, _TP.c.auto_submitted) \
    .where(_TP.c.candidate_id == bindparam("cid"))


def review(runtime, candidate_id: int) -> PaperView:
    """The candidate's paper as shown: questions in order, options in the candidate's order,
    the saved answers."""
    with runtime.db.read() as s:
        view = paper_view(runtime, s, candidate_id)
    if view is None:
        raise NotFound("Chưa có đề lý thuyết.", f"candidate {candidate_id} has no paper")
    return view


def paper_view(runtime, s, candidate_id: int) -> PaperView | None:
    """``review`` inside a read the caller holds (None: no paper yet)."""
    row = s.execute(_PAPER_ROW, {"cid": candidate_id}).first()
    if row is None:
        return None
    items, answers, submitted_at, auto_submitted = row
    questions = _shown_questions(runtime, s, [it["question_id"] for it in items])
    answers = answers or {}
    shown = []
    for pos, it in enumerate(items, start=1):
        qid = it["question_id"]
        q = questions[qid]
        opts = [(orig, LETTERS[k], q.options[orig]) for k, orig in enumerate(it["order"])]
        shown.append(ShownQuestion(pos, qid, q.text, q.topic, q.multiple, opts, sorted(answers.get(str(qid), []))))
    return PaperView(shown, submitted_at, bool(auto_submitted))


@dataclass(frozen=True)
class PaperSummary:
    """How far the candidate is (the exam page): answered of total, submitted or not."""
    answered: int
    total: int
    submitted_at: datetime | None
    auto_submitted: bool


def summary(runtime, candidate_id: int) -> PaperSummary | None:
    """The paper's progress without its questions (None: no paper yet)."""
    with runtime.db.read() as s:
        return paper_summary(s, candidate_id)


def paper_summary(s, candidate_id: int) -> PaperSummary | None:
    row = s.execute(_PAPER_ROW, {"cid": candidate_id}).first()
    if row is None:
        return None
    items, answers, submitted_at, auto_submitted = row
    return PaperSummary(sum(1 for v in (answers or {}).values() if v), len(items), submitted_at, bool(auto_submitted))
