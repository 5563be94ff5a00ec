"""The webmail: folders, message list, reading, composing, drafts. Mounted at ``/mail``.

Reads go through ``MailView`` (scoped to the logged-in account), changes through the action
dispatcher, so the webmail sees and does exactly what the IMAP and SMTP doors do."""
from flask import Blueprint

bp = Blueprint("webmail", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

from . import common, views_compose, views_list, views_read  # noqa: E402,F401  (register the routes)
