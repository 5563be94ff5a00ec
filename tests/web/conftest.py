"""Webmail test helpers: worlds on the live server or a Flask test client, logins, seeded
mail sent through the real submission path, and folder snapshots read through MailView."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from mailserver import api as mail_api
from mailserver import mime
from mailserver.api import MailView
from tests.factories import PASSWORD, make_world

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def mail_world(live_server):
    """The ts001 world on the live server (lanhdao, vanthu, truongphong, chanhvp)."""
    return make_world(live_server.runtime)


@pytest.fixture
def web(sqlite_runtime):
    """A Flask test client on a fresh app and world; ``web.login(ref)`` logs a person in."""
    from sandbox.web import create_app

    app = create_app(sqlite_runtime)
    return WebClient(app, sqlite_runtime)


class WebClient:
    def __init__(self, app, rt):
        self.app, self.rt = app, rt
        self.client = app.test_client()
        self.token = None

    def login(self, ref, login_name: str | None = None):
        page = self.client.get("/login").get_data(as_text=True)
        token = CSRF_FIELD.search(page).group(1)
        resp = self.client.post("/login", data={"csrf_token": token, "login": login_name or ref.address,
                                                "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        self.token = CSRF_FIELD.search(self.client.get("/mail/folders").get_data(as_text=True)).group(1)
        return self

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token
        return self.client.post(url, data=data, **kw)


def login(page, base_url: str, address: str, login_name: str | None = None) -> None:
    """Log in through the real login page (Playwright)."""
    page.context.clear_cookies()
    page.goto(base_url + "/login")
    page.fill("#login", login_name or address)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mail/**")


def message(sender, to, subject="Thư thử nghiệm", body="Nội dung thư.\n", cc=(), attachments=(), html=None,
            extra_headers=None) -> bytes:
    """A message as a mail client would send it (display names, UTF-8, RFC 2231 file names)."""
    msg = EmailMessage()
    msg["From"] = f"{sender.display_name} <{sender.address}>"
    msg["To"] = ", ".join(r.address for r in to)
    if cc:
        msg["Cc"] = ", ".join(r.address for r in cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2024, 6, 3, 8, 30, tzinfo=timezone.utc))
    msg["Message-ID"] = make_msgid(domain="cantho.gov.vn")
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def send(rt, sender, to, **kw) -> dict:
    """Send through the real submission action (as the SMTP door does)."""
    raw = message(sender, to, **kw)
    rcpts = [r.address for r in list(to) + list(kw.get("cc", ()))]
    return mail_api.submit(rt.dispatcher, rt.blobs, sender, raw, rcpts, via="smtp")


def folder_rows(rt, ref, use=None, name=None) -> list[dict]:
    """Messages of a folder (INBOX by default, or by special use or name), newest first."""
    with rt.db.read() as s:
        view = MailView(s, ref.sandbox_id, ref.id)
        box = view.mailbox_by_name(name) if name else view.special(use)
        rows, _ = view.items(box, limit=1000)
        out = []
        for item, data in rows:
            raw = view.raw(data, rt.blobs)
            out.append({"id": item.id, "subject": data.subject, "flags": item.flags.split(), "raw": raw,
                        "headers": mime.decoded_headers(raw), "parts": mime.body_parts(raw, data.structure)})
        return out


def attachment_bytes(row: dict, filename: str) -> bytes:
    structure = mime.parse_structure(row["raw"])
    part = next(a for a in row["parts"]["attachments"] if a["filename"] == filename)
    return mime.part_payload(row["raw"], structure, part["part"])


def snapshot(rt, world) -> dict:
    """Everything a person could see of a world's mail: folders, counts, flags, subjects."""
    out = {}
    with rt.db.read() as s:
        for key, ref in world.items():
            view = MailView(s, ref.sandbox_id, ref.id)
            for info in view.folders():
                rows, _ = view.items(info.box, limit=1000)
                out[(key, info.box.name)] = (info.total, info.unread, [(it.id, it.flags, d.subject) for it, d in rows])
    return out


@pytest.fixture(scope="module")
def module_live_server(tmp_path_factory):
    """The web app (threaded WSGI server) on a free loopback port and the job worker, on one
    SQLite runtime for a whole module (``live_server`` is per test): ``url`` and ``runtime``."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from sandbox.web import create_app
    from tests.conftest import open_runtime

    class Quiet(WSGIRequestHandler):
        def log(self, type, message, *args):  # noqa: A002 - werkzeug's signature
            pass  # hundreds of requests: no access log in the test output

    from sandbox.kernel.jobs import Worker

    rt = open_runtime(tmp_path_factory.mktemp("module-live"))
    srv = make_server("127.0.0.1", 0, create_app(rt), threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    worker = Worker(rt).start()  # the automatic clerk's jobs, as in `sandbox serve`

    class Live:
        url = f"http://127.0.0.1:{srv.server_port}"
        runtime = rt

    yield Live
    worker.stop()
    srv.shutdown()
    thread.join(10)
    rt.close()
