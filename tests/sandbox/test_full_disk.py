"""Issue 16, finding 3: a full disk loses nothing. The data folder of a real app (its SQLite
database and blobs) is a small tmpfs; a candidate logs in, starts, saves theory answers and
sends a mail; then a filler file takes every free byte. The candidate's read pages still
answer 200 with the saved answers, a webmail send answers 507 with a precise message and the
form still holds what was typed, an autosave answers 507 in JSON (the page's script keeps the
answer and retries); nothing saved before is lost. Once the filler is gone, the same send and
autosave succeed with no restart."""
from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from sandbox.contest import theory
from sandbox.contest.models import Attempt
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.settings import Settings
from sandbox.runtime import Runtime

from ..contest.portal_factory import AT, make_portal_world

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SIZE_MB = 48
SUBJECT = "Báo cáo tình hình chuyển đổi số quý II"
BODY = "Kính gửi anh chị,\nĐây là nội dung đã soạn, không được mất khi máy chủ đầy ổ đĩa."


def _mount(where) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small filesystem for the data folder")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}M,mode=0700", "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({res.stderr.strip() or res.returncode}): "
                    "the full-disk test needs root or CAP_SYS_ADMIN")


def _fill(rt, folder) -> str:
    """Empty SQLite's WAL (a write must then grow it), then write a filler file until the
    filesystem refuses (ENOSPC); its path."""
    if rt.db.is_sqlite:
        with rt.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = os.path.join(folder, "filler.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as e:
                assert e.errno == 28, e
    finally:
        os.close(fd)
    return path


class Seat:
    def __init__(self, app):
        self.client = app.test_client()
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, environ_base={"REMOTE_ADDR": "10.0.0.7"}, **kw)
        m = CSRF_FIELD.search(resp.get_data(as_text=True)) if resp.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return resp

    def post(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, environ_base={"REMOTE_ADDR": "10.0.0.7"}, **kw)

    def answer(self, qid, chosen):
        return self.client.post("/thi/ly-thuyet/tra-loi", json={"question": qid, "chosen": chosen},
                                headers={"X-CSRFToken": self.token}, environ_base={"REMOTE_ADDR": "10.0.0.7"})


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory):
    """(runtime, seat logged in, world, the folder) with some answers and a mail saved; unmounted at the end."""
    from sandbox.web import create_app

    data = tmp_path_factory.mktemp("full-disk") / "data"
    data.mkdir()
    _mount(data)
    rt = None
    try:
        settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'sandbox.db'}")
        settings.secret_key = "test-secret"
        rt = Runtime.open(settings)
        rt.clock = rt.dispatcher.clock = FixedClock(AT)
        world = make_portal_world(rt, n=1, questions=5, scenario="thi-2024-de-1", numbers=["TS001", "TS002"])
        app = create_app(rt, {"PORTAL_AUTOSAVE_RETRY_MS": 300})
        seat = Seat(app)
        seat.get("/thi")
        assert seat.post("/thi", {"number": "TS001", "password": world.passwords["TS001"]}).status_code == 302
        seat.get("/thi/bat-dau")
        assert seat.post("/thi/bat-dau").status_code == 302
        seat.get("/thi/ly-thuyet")
        yield rt, seat, world, data, app
    finally:
        if rt is not None:
            rt.close()
        subprocess.run(["umount", str(data)], check=False)
        if os.path.ismount(data):
            subprocess.run(["umount", "-l", str(data)], check=False)


def _page(seat, url):
    resp = seat.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:2000])
    return resp.get_data(as_text=True)


def _checked(page: str, qid: int) -> list[int]:
    return sorted(int(v) for v in re.findall(rf'name="q{qid}" value="(\d+)"\s+checked', page))


def _sent_folder(seat) -> str:
    """The Sent folder's page, unescaped."""
    page = _page(seat, "/mail/")
    sent = re.search(r'href="(/mail/folder/\d+)"[^>]*>\s*(?:<[^>]+>\s*)*Thư đã gửi', page)
    assert sent, "no Sent folder link"
    return html.unescape(_page(seat, sent.group(1)))


#: links a crawl must not follow (they leave the candidate's pages)
NOT_CRAWLED = re.compile(r"^/(static|quan-tri|luyen-tap|login|logout)|/dang-xuat")


def _crawl(seat, start: list[str], limit: int = 120) -> dict[str, int]:
    """Every same-site page linked from ``start`` (breadth first, up to ``limit``): url -> status."""
    seen: dict[str, int] = {}
    todo = list(start)
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen:
            continue
        resp = seat.get(url)
        seen[url] = resp.status_code
        if resp.status_code == 200 and resp.mimetype == "text/html":
            for link in re.findall(r'(?:href|src)="(/[^"#]*)"', resp.get_data(as_text=True)):
                link = html.unescape(link)
                if not NOT_CRAWLED.search(link) and link not in seen:
                    todo.append(link)
    return seen


def test_full_disk_loses_nothing_and_recovers(full_disk, caplog):
    rt, seat, world, data, _ = full_disk
    caplog.set_level(logging.WARNING)
    cid = world.candidates["TS001"]
    questions = theory.review(rt, cid).questions
    saved = {questions[0].question_id: [questions[0].options[0][0]],
             questions[1].question_id: [questions[1].options[1][0]]}
    for qid, chosen in saved.items():
        assert seat.answer(qid, chosen).status_code == 200
    assert seat.get("/thi/thuc-hanh/mo/mail").status_code == 302      # the tools, as the candidate's person
    inbox = _page(seat, "/mail/")
    unseen = [int(i) for i in re.findall(r'href="/mail/message/(\d+)"', inbox)]
    assert unseen, "the exam set's inbox has mail"
    people = re.findall(r'<option value="([^"]+)">', html.unescape(_page(seat, "/mail/compose")).replace('"<', '"'))
    to = next(re.search(r"[\w.+-]+@[\w.-]+", p).group(0) for p in people if "@" in p)
    resp = seat.post("/mail/compose", {"to": to, "subject": "Thư gửi trước khi đầy ổ đĩa", "body": "Trước.",
                                       "send": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    # every free byte taken; a write now fails (the WAL emptied first, so it must grow)
    rt.clock.advance(seconds=60)        # every page now wants to record the candidate's activity
    filler = _fill(rt, data)
    with pytest.raises(OperationalError, match="database or disk is full"):
        with rt.db.write() as s:
            s.execute(update(Attempt).where(Attempt.candidate_id == cid).values(last_seen=rt.clock.now()))

    # the pages that only show answer 200, the saved answers in them
    _page(seat, "/thi/bai-thi")
    page = _page(seat, "/thi/ly-thuyet")
    for qid, chosen in saved.items():
        assert _checked(page, qid) == chosen
    assert re.search(r'id="answered-count">2</strong>/5', _page(seat, "/thi/ly-thuyet/xem-lai"))
    _page(seat, "/thi/thuc-hanh")
    _page(seat, "/thi/ket-thuc")
    status = seat.get("/thi/trang-thai")
    assert status.status_code == 200 and status.get_json()["open"]
    assert seat.get("/thi/thuc-hanh/mo/mail").status_code == 302
    _page(seat, "/de-bai")
    _page(seat, "/mail/")
    _page(seat, "/mail/folders")
    _page(seat, f"/mail/message/{unseen[0]}")                        # opening marks it seen: skipped
    for url in ("/van-ban/den", "/van-ban/di", "/van-ban/theo-doi"):
        _page(seat, url)
    docs = re.findall(r'href="(/van-ban/den/\d+)"', _page(seat, "/van-ban/den"))
    to_direct = None
    for url in docs:                                                  # opening marks it read: skipped
        if "/chuyen-xu-ly" in _page(seat, url):
            to_direct = url
    assert to_direct, "the exam set has a document for the candidate to direct"

    other = Seat(seat.client.application)                            # resuming on another seat: a login reads only
    other.get("/thi")
    assert other.post("/thi", {"number": "TS001", "password": world.passwords["TS001"]}).status_code == 302
    page = _page(other, "/thi/ly-thuyet")
    assert all(_checked(page, qid) == chosen for qid, chosen in saved.items())
    crawled = _crawl(seat, ["/thi/bai-thi", "/mail/", "/van-ban/den", "/van-ban/di", "/ky-so/", "/de-bai"])
    assert len(crawled) > 40 and not [u for u, st in crawled.items() if st >= 500], crawled

    # a write the person asked for: refused precisely, what was typed kept
    resp = seat.answer(questions[2].question_id, [questions[2].options[0][0]])
    assert resp.status_code == 507 and "hết chỗ lưu trữ" in resp.get_json()["error"]
    _page(seat, "/mail/compose")
    form = {"to": to, "subject": SUBJECT, "body": BODY, "send": "1"}
    resp = seat.post("/mail/compose", form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 507, page[:2000]
    assert "Thư chưa được gửi vì máy chủ đã hết chỗ lưu trữ" in html.unescape(page)
    assert f'value="{html.escape(SUBJECT)}"' in page or f'value="{SUBJECT}"' in page
    assert html.escape(BODY, quote=False) in page
    assert to in page
    directive = {"directive": "Giao Văn phòng chủ trì, tham mưu trả lời trước ngày 10/6.", "role_u1": "xlc",
                 "deadline_u1": "2024-06-10"}
    resp = seat.post(to_direct + "/chuyen-xu-ly", directive)
    assert resp.status_code == 507, re.findall(r'id="form-error">(.*?)</div>', resp.get_data(as_text=True))
    assert "Ý kiến chỉ đạo chưa được lưu vì máy chủ đã hết chỗ lưu trữ" in resp.get_data(as_text=True)
    assert directive["directive"] in resp.get_data(as_text=True)
    typed = {**saved, questions[3].question_id: [questions[3].options[2][0]]}   # without JavaScript
    resp = seat.post("/thi/ly-thuyet/luu", {f"q{qid}": [str(c) for c in chosen] for qid, chosen in typed.items()})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 507 and "Câu trả lời chưa được lưu vì máy chủ đã hết chỗ lưu trữ" in page
    for qid, chosen in typed.items():
        assert _checked(page, qid) == chosen
    assert "database or disk is full" in caplog.text          # logged with the cause
    assert "not recorded: storage full" in caplog.text        # the activity and the seen marker skipped

    # nothing saved before is lost
    assert {q.question_id: q.chosen for q in theory.review(rt, cid).questions if q.chosen} == saved
    assert "Thư gửi trước khi đầy ổ đĩa" in _sent_folder(seat)

    # space returns: the same send and autosave succeed, no restart
    os.unlink(filler)
    resp = seat.post("/mail/compose", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert SUBJECT in _sent_folder(seat)
    assert seat.answer(questions[2].question_id, [questions[2].options[0][0]]).status_code == 200
    assert seat.post(to_direct + "/chuyen-xu-ly", directive).status_code == 302
    assert directive["directive"] in _page(seat, to_direct)
    rt.clock.advance(seconds=60)
    _page(seat, "/thi/bai-thi")
    with rt.db.read() as s:
        assert s.scalar(select(Attempt.last_seen).where(Attempt.candidate_id == cid)).replace(tzinfo=dt.timezone.utc) \
            == rt.clock.now()
    assert len([q for q in theory.review(rt, cid).questions if q.chosen]) == 3
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_storage_failures_are_told_apart():
    """What the error page and the best-effort writes call a full disk, an unavailable
    database, or neither (a bug: the generic 500)."""
    import errno
    import sqlite3

    import psycopg.errors

    from sandbox.kernel import storage

    full = [OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EDQUOT, "Disk quota exceeded"),
            sqlite3.OperationalError("database or disk is full"),
            OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
            OperationalError("INSERT", {}, psycopg.errors.DiskFull("could not extend file"))]
    assert [storage.classify(e) for e in full] == [storage.FULL] * len(full)
    gone = OperationalError("SELECT 1", {}, psycopg.errors.OperationalError("server closed the connection"))
    assert storage.classify(gone) == storage.UNAVAILABLE
    assert storage.cause(gone) == "psycopg.OperationalError: server closed the connection"
    assert storage.classify(OSError(errno.ENOENT, "No such file")) is None
    assert storage.classify(ValueError("a bug")) is None
    with storage.best_effort("a heartbeat"):
        raise full[3]
    with pytest.raises(ValueError), storage.best_effort("a heartbeat"):
        raise ValueError("a bug is never swallowed")


@pytest.fixture
def live_full_disk(full_disk):
    """The same app on a loopback port, for a browser."""
    import threading

    from werkzeug.serving import make_server

    rt, _, world, data, app = full_disk
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", rt, world, data
    srv.shutdown()


@pytest.mark.browser
def test_autosave_keeps_the_answer_and_saves_it_when_space_returns(page, live_full_disk):
    """In Chromium: a click while the disk is full is not saved; the page says so, keeps the
    choice and sends it again until the server takes it, once the filler is gone."""
    from playwright.sync_api import expect

    base, rt, world, data = live_full_disk
    cid = world.candidates["TS002"]
    page.goto(base + "/thi")
    page.fill("#number", "TS002")
    page.fill("#password", world.passwords["TS002"])
    page.click("button[type=submit]")
    page.click("#begin")
    page.wait_for_url("**/thi/bai-thi")
    page.click("#go-theory")
    page.locator("#cau-1 label.option").nth(1).click()
    expect(page.locator("#cau-1 .save-status")).to_have_text("Đã lưu")

    filler = _fill(rt, data)
    try:
        page.locator("#cau-2 label.option").nth(2).click()
        expect(page.locator("#cau-2 .save-status")).to_contain_text("sẽ tự động lưu lại")
        expect(page.locator("#cau-2 .save-status")).to_contain_text("hết chỗ lưu trữ")
        expect(page.locator("#cau-2 label.option").nth(2).locator("input")).to_be_checked()
        assert len([q for q in theory.review(rt, cid).questions if q.chosen]) == 1
    finally:
        os.unlink(filler)
    expect(page.locator("#cau-2 .save-status")).to_have_text("Đã lưu")     # sent again by the page
    expect(page.locator("#answered-count")).to_have_text("2")
    q2 = theory.review(rt, cid).questions[1]
    assert q2.chosen == [q2.options[2][0]]


def test_postgresql_reads_mail_and_documents_with_the_data_folder_full(tmp_path):
    """PostgreSQL keeps the blobs; the data folder holds their read-through copies. With that
    folder full, reading a mail, an attachment or a document's PDF (a copy not made yet) still
    answers 200, and the copy is made once space returns."""
    from sandbox.web import create_app
    from tests.conftest import _database_url

    url = _database_url("postgresql", tmp_path)          # skips without the throwaway PostgreSQL
    data = tmp_path / "data"
    data.mkdir()
    _mount(data)
    rt = None
    try:
        settings = Settings(data_dir=data, database_url=url)
        settings.secret_key = "test-secret"
        rt = Runtime.open(settings)
        assert rt.blobs.kind == "database"
        rt.clock = rt.dispatcher.clock = FixedClock(AT)
        world = make_portal_world(rt, n=1, questions=5, scenario="thi-2024-de-1")
        seat = Seat(create_app(rt))
        seat.get("/thi")
        assert seat.post("/thi", {"number": "TS001", "password": world.passwords["TS001"]}).status_code == 302
        seat.get("/thi/bat-dau")
        assert seat.post("/thi/bat-dau").status_code == 302
        assert seat.get("/thi/thuc-hanh/mo/mail").status_code == 302
        shutil.rmtree(settings.blob_dir)                   # no copy made yet: each read makes one
        settings.blob_dir.mkdir()
        filler = _fill(rt, data)
        try:
            crawled = _crawl(seat, ["/mail/", "/van-ban/den"], limit=60)
            assert len(crawled) > 20 and not [u for u, st in crawled.items() if st >= 500], crawled
            assert any("/part/" in u for u in crawled) and any("/pdf" in u for u in crawled)
            assert not any(p.is_file() for p in settings.blob_dir.rglob("*"))   # no copy, no temporary file left
        finally:
            os.unlink(filler)
        assert _page(seat, "/mail/message/1")
        assert any(p.is_file() for p in settings.blob_dir.rglob("*"))
    finally:
        if rt is not None:
            rt.close()
        subprocess.run(["umount", str(data)], check=False)
        if os.path.ismount(data):
            subprocess.run(["umount", "-l", str(data)], check=False)
