"""Caching under load (issue 14): static files with content-versioned URLs and a year's cache,
pages never publicly cacheable, document previews addressed by their PDF's content (a new
signature gives a new URL), the task sheet parsed once per scenario content and rendered per
candidate, the draft page's self-reload backing off while the clerk works, and the web
server's connection limits. Flask's test client on the real app and real worlds."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from docflow import api
from sandbox.kernel import jobs
from sandbox.kernel.clock import FixedClock
from scenarios.build import build
from scenarios.library import load
from tests.docflow.factories import LEADER_PIN, a_draft, make_docworld

from .conftest import CSRF_FIELD

SCENARIOS = Path(__file__).parents[1] / "scenarios" / "data"
START = dt.datetime(2025, 3, 14, 2, 0, tzinfo=dt.timezone.utc)
YEAR = "max-age=31536000"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def login_docworld(web, w, key: str):
    from mailserver.api import account_ref
    from mailserver.store import account_in_sandbox
    from sandbox.kernel.models import Sandbox

    with web.rt.db.read() as s:
        ref = account_ref(s, account_in_sandbox(s, w.sandbox_id, w.a(key)).id)
        name = s.get(Sandbox, w.sandbox_id).name
    return web.login(ref, f"{name}/{w.a(key)}")


@pytest.fixture
def docworld(web):
    clock = FixedClock(START)
    web.rt.clock = web.rt.dispatcher.clock = clock
    w = make_docworld(web.rt, "ts001")
    w.draft = a_draft(w)
    login_docworld(web, w, "leader")
    return w


# -- static files ------------------------------------------------------------------------
def _static_url(page: str, name: str) -> str:
    m = re.search(r'(?:href|src)="([^"]*/' + re.escape(name) + r'[^"]*)"', page)
    assert m, f"{name} is not linked from the page"
    return m.group(1).replace("&amp;", "&")


def test_static_files_have_versioned_urls_and_a_long_cache(web, docworld, tmp_path):
    page = text(web.get(f"/van-ban/di/{docworld.draft}"))
    for name in ("app.css", "docflow.css"):
        url = _static_url(page, name)
        assert re.fullmatch(r"[0-9a-f]{12}", query(url).get("v", "")), url
        resp = web.get(url)
        assert resp.status_code == 200
        cc = resp.headers["Cache-Control"]
        assert YEAR in cc and "immutable" in cc and "public" in cc, (url, cc)
        # the same file without its version (or with an outdated one) is revalidated, not pinned
        for stale in (urlsplit(url).path, urlsplit(url).path + "?v=000000000000"):
            cc = web.get(stale).headers.get("Cache-Control", "")
            assert YEAR not in cc and "immutable" not in cc, (stale, cc)

    # the app's static folder on a copy: a changed file gets a new URL
    folder = tmp_path / "static"
    shutil.copytree(web.app.static_folder, folder)
    web.app.static_folder = str(folder)
    before = _static_url(text(web.get(f"/van-ban/di/{docworld.draft}")), "app.css")
    assert _static_url(text(web.get("/mail/")), "app.css") == before   # the same on every page
    (folder / "app.css").write_text((folder / "app.css").read_text() + "\n.cache-test { color: red; }\n")
    after = _static_url(text(web.get(f"/van-ban/di/{docworld.draft}")), "app.css")
    assert query(after)["v"] != query(before)["v"]
    resp = web.get(after)
    assert b".cache-test" in resp.data and YEAR in resp.headers["Cache-Control"]
    assert YEAR not in web.get(before).headers.get("Cache-Control", "")   # the old version is no longer pinned


def test_pages_are_not_publicly_cacheable(web, docworld):
    for url in ("/mail/", f"/van-ban/di/{docworld.draft}", "/van-ban/di", "/de-bai", "/ky-so/", "/login"):
        resp = web.get(url, follow_redirects=True)
        assert resp.status_code == 200, url
        assert "text/html" in resp.headers["Content-Type"]
        cc = resp.headers.get("Cache-Control", "")
        assert "public" not in cc and "immutable" not in cc and not re.search(r"max-age=[1-9]", cc), (url, cc)


# -- document previews -------------------------------------------------------------------
def _file_urls(page: str) -> dict:
    urls = {"pdf": re.search(r'href="([^"]+)"[^>]*id="open-pdf"', page).group(1).replace("&amp;", "&"),
            "download": re.search(r'href="([^"]+)" id="download-pdf"', page).group(1).replace("&amp;", "&")}
    m = re.search(r'<img class="df-preview" src="([^"]+)"', page)
    if m:
        urls["preview"] = m.group(1).replace("&amp;", "&")
    return urls


def test_the_preview_url_changes_when_the_document_is_signed(web, docworld):
    w = docworld
    blob = api.outgoing_doc(web.rt, w.sandbox_id, None, w.draft).pdf_blob
    before = _file_urls(text(web.get(f"/van-ban/di/{w.draft}")))
    assert query(before["pdf"]) == {"v": blob[:16]}
    assert query(before["download"]) == {"v": blob[:16], "tai": "1"}
    assert web.get(before["download"]).headers["Content-Disposition"].startswith("attachment;")

    resp = web.post(f"/van-ban/di/{w.draft}/ky-so", {"token_id": w.tokens["leader"], "pin": LEADER_PIN})
    assert resp.status_code == 302
    signed = api.outgoing_doc(web.rt, w.sandbox_id, None, w.draft).pdf_blob
    assert signed != blob
    after = _file_urls(text(web.get(f"/van-ban/di/{w.draft}")))
    assert query(after["pdf"]) == {"v": signed[:16]} and after["pdf"] != before["pdf"]
    assert web.get(after["pdf"]).data == web.rt.blobs.get(signed)

    if not shutil.which("pdftoppm"):
        pytest.skip("no pdftoppm: the page shows no preview")
    assert query(before["preview"]) == {"v": blob[:16]} and query(after["preview"]) == {"v": signed[:16]}
    assert after["preview"] != before["preview"]
    # the current version: content-addressed, kept by this browser only, never asked again
    resp = web.get(after["preview"])
    assert resp.status_code == 200 and resp.data.startswith(b"\x89PNG")
    assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert resp.headers["ETag"] == f'"{signed}"'
    # an old version (a page opened before the signature) or none: revalidated every time
    for url in (before["preview"], urlsplit(after["preview"]).path):
        resp = web.get(url)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-cache", url
        assert web.get(url, headers={"If-None-Match": f'"{signed}"'}).status_code == 304
        assert web.get(url, headers={"If-None-Match": f'"{blob}"'}).status_code == 200


# -- the draft page's self-reload while the clerk works ---------------------------------
def _refresh(page: str) -> tuple[int, str] | None:
    m = re.search(r'<meta http-equiv="refresh" content="(\d+); url=([^"]+)">', page)
    return (int(m.group(1)), m.group(2).replace("&amp;", "&")) if m else None


def test_the_draft_page_reloads_less_and_less_often_until_the_release(web, docworld):
    from docflow.web.outgoing import refresh_delay

    w = docworld
    assert [refresh_delay(n) for n in range(7)] == [2, 4, 8, 15, 15, 15, 15]
    assert _refresh(text(web.get(f"/van-ban/di/{w.draft}"))) is None   # nothing to wait for yet
    assert web.post(f"/van-ban/di/{w.draft}/ky-so", {"token_id": w.tokens["leader"],
                                                     "pin": LEADER_PIN}).status_code == 302
    assert web.post(f"/van-ban/di/{w.draft}/chuyen-van-thu", {}).status_code == 302
    url, seen = f"/van-ban/di/{w.draft}", []
    for _ in range(6):   # the browser follows each reload (no worker here: the clerk's job waits)
        page = text(web.get(url))
        assert "Chờ văn thư phát hành" in page
        seconds, url = _refresh(page)
        seen.append(seconds)
        assert urlsplit(url).path == f"/van-ban/di/{w.draft}"
    assert seen == [2, 4, 8, 15, 15, 15]
    assert query(url) == {"lan": "6"}
    # a failed form on the page (posted, not reloaded) starts again, and reloads the page by GET
    seconds, again = _refresh(text(web.post(f"/van-ban/di/{w.draft}/y-kien", {"text": ""})))
    assert (seconds, query(again)) == (2, {"lan": "1"})
    # the release is there: no more reloads
    assert [r.status for r in jobs.run_pending(web.rt, sandbox_id=w.sandbox_id)] == ["done"]
    page = text(web.get(url))
    assert "Đã gửi" in page and 'http-equiv="refresh"' not in page


# -- the task sheet ----------------------------------------------------------------------
def _login(client, login_name: str, password: str):
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_FIELD.search(page).group(1)
    resp = client.post("/login", data={"login": login_name, "password": password, "csrf_token": token})
    assert resp.status_code == 302


def _built(rt, loaded, name: str, want_recipient: str | None = None):
    """A sandbox of ``loaded`` whose drawn recipient differs from ``want_recipient``'s."""
    for seed in range(1, 40):
        res = build(rt, loaded, seed, f"{name}-{seed}")
        if want_recipient is None or res.values["recipient"]["email"] != want_recipient:
            return res
    raise AssertionError("no seed draws another recipient")


def test_the_task_sheet_is_each_candidates_own_and_follows_its_scenario_file(sqlite_runtime, tmp_path):
    from sandbox.web import create_app, tasks

    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    path = tmp_path / "de-thu.yaml"
    shutil.copy(SCENARIOS / "minimal.yaml", path)
    loaded = load(path)
    one = _built(rt, loaded, "hva")
    two = _built(rt, loaded, "hvb", want_recipient=one.values["recipient"]["email"])
    app = create_app(rt)
    clients = {}
    for res in (one, two):
        clients[res.sandbox_id] = app.test_client()
        _login(clients[res.sandbox_id], f"{res.name}/{res.candidate.address}", res.candidate.password)

    def sheet(res) -> str:
        resp = clients[res.sandbox_id].get("/de-bai")
        assert resp.status_code == 200
        return text(resp)

    for _ in range(2):   # the second view comes from the cache and is still each one's own
        for me, other in ((one, two), (two, one)):
            page = sheet(me)
            assert me.values["recipient"]["email"] in page and me.values["recipient"]["name"] in page
            assert other.values["recipient"]["email"] not in page
    assert len({k for k in tasks._sheets if k[0][0] == str(path.resolve())}) == 2
    assert len({k for k in tasks._scenarios if k[0] == str(path.resolve())}) == 1

    # the scenario file changes, same size and same mtime: the sheet follows its content
    original, st = path.read_text(), path.stat()
    edited = original.replace("title: Gửi thư điện tử", "title: Gửi thư điện từ")
    assert edited != original and len(edited.encode()) == len(original.encode())
    path.write_text(edited)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    for res in (one, two):
        page = sheet(res)
        assert "Gửi thư điện từ" in page and "Gửi thư điện tử" not in page
        assert res.values["recipient"]["email"] in page
    assert len({k for k in tasks._scenarios if k[0] == str(path.resolve())}) == 2


# -- the web server ----------------------------------------------------------------------
def test_the_web_server_takes_a_whole_shifts_connections(sqlite_runtime, monkeypatch):
    from sandbox.kernel.settings import Settings
    from sandbox.server import web_server

    app = object()
    srv = web_server(app, sqlite_runtime, "127.0.0.1", 0)
    try:
        assert srv.adj.connection_limit == 1000 and srv.adj.threads == 8
        assert srv.adj.asyncore_use_poll is True and srv.adj.channel_timeout == 60 and srv.adj.backlog == 2048
    finally:
        srv.close()
    monkeypatch.setenv("SANDBOX_WEB_CONNECTIONS", "3000")
    monkeypatch.setenv("SANDBOX_WEB_THREADS", "12")
    settings = Settings(data_dir=sqlite_runtime.settings.data_dir, database_url="sqlite://")
    assert (settings.web_connection_limit, settings.web_threads) == (3000, 12)
