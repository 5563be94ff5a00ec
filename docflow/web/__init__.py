"""The document workflow's web UI ("Phần mềm quản lý văn bản và điều hành"), mounted at
``/van-ban``: incoming and outgoing lists, document pages with the PDF and its preview, the
leader's directive and forwarding, the assignees' progress, the leader's signature (the
signing dialog's certificate chooser), forwarding to the clerk, the clerk's number / seal /
release, the tracking page and the drafting form.

Every read and write goes through :mod:`docflow.api` with the session's sandbox and the
logged-in person's address, so the UI sees and does exactly what the API allows."""
from flask import Blueprint

bp = Blueprint("docflow", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

from . import views  # noqa: E402,F401  (register the routes)

__all__ = ["bp", "views"]
