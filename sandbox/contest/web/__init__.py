"""The contest's pages: admin login (``admin_auth``), the organiser's pages (``admin``), the
candidate portal at /thi (``portal``) and the examiner's live room view (``examiner``)."""
from __future__ import annotations

from sandbox.contest.web import admin, admin_auth, examiner, portal


def register(app) -> None:
    """/quan-tri: admin login and organiser pages; /thi: candidate portal; /quan-tri/giam-sat."""
    app.register_blueprint(admin_auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(examiner.bp)
