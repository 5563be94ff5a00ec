"""The docflow blueprint, mounted at ``/van-ban`` (templates and static files in this folder).
The view modules register their routes on it; the package ``__init__`` imports them."""
from flask import Blueprint

bp = Blueprint("docflow", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

__all__ = ["bp"]
