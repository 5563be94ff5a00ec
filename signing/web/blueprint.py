"""The signing dialog's blueprint (``signing``, mounted at ``/ky-so`` by the app): the views
(:mod:`signing.web.views`) register their routes on it."""
from flask import Blueprint

bp = Blueprint("signing", __name__, template_folder="templates")
