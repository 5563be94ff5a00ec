"""Organiser pages at /quan-tri (issue 7)."""
from __future__ import annotations

from flask import Blueprint

from .admin_auth import admin_required  # noqa: F401

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")


def register(app) -> None:
    """Register the admin login and the organiser pages on the app."""
    from . import admin_auth

    app.register_blueprint(admin_auth.bp)
    app.register_blueprint(bp)
