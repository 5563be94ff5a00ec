"""The webmail's blueprint; the view modules attach their routes to it."""
from flask import Blueprint

bp = Blueprint("webmail", "mailserver.webmail", template_folder="templates", static_folder="static",
               static_url_path="/static")
