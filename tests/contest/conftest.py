"""Shared contest fixtures: a Flask test client with an admin logged in (kept small: each
helper's tests build the rest of their world through ``sandbox.contest.api``)."""
from __future__ import annotations

import re

import pytest

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ADMIN_PASSWORD = "QuanTri@2023"


class AdminClient:
    """A test client; ``login(login)`` logs an admin in, ``post`` adds the CSRF token."""

    def __init__(self, app, rt):
        self.app, self.rt = app, rt
        self.client = app.test_client()
        self.token = None

    def login(self, login: str = "btc", password: str = ADMIN_PASSWORD):
        page = self.client.get("/quan-tri/dang-nhap").get_data(as_text=True)
        self.token = CSRF_FIELD.search(page).group(1)
        resp = self.client.post("/quan-tri/dang-nhap", data={"csrf_token": self.token, "login": login,
                                                             "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return self

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token
        return self.client.post(url, data=data, **kw)


@pytest.fixture
def admin_web(sqlite_runtime):
    """A fresh app with three admins: btc (organiser), gk (examiner), gv (trainer); not logged in."""
    from sandbox.contest.api import add_admin
    from sandbox.web import create_app

    add_admin(sqlite_runtime, "btc", "Nguyễn Văn Tổ Chức", "organiser", ADMIN_PASSWORD)
    add_admin(sqlite_runtime, "gk", "Trần Thị Giám Khảo", "examiner", ADMIN_PASSWORD)
    add_admin(sqlite_runtime, "gv", "Lê Văn Giảng", "trainer", ADMIN_PASSWORD)
    return AdminClient(create_app(sqlite_runtime), sqlite_runtime)
