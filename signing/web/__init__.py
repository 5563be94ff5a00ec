"""The signing dialog ("Ký số văn bản"), mounted at ``/ky-so``: choose a PDF (upload, or a
sample draft), choose a certificate on your tokens, enter the PIN, see the verifier's report
and download the signed PDF. Works without JavaScript; every form carries the CSRF token.

Reusable pieces for other blueprints (docflow's "Ký duyệt"):

* ``{% from "signing/_dialog.html" import certificate_chooser, signing_report %}``:
  ``certificate_chooser(certs, action, hidden={...}, error=None, selected=None)`` renders the
  certificate list and the PIN form posting ``token_id`` and ``pin`` (plus the hidden fields)
  to ``action``; ``signing_report(report)`` renders a :class:`signing.verify.Report`.
* :func:`dialog_context` gives the ``certs`` list for the logged-in person;
  :func:`signing.api.sign_with_token` does the signing.
* :data:`STATUS_VI`: a report's ``status`` (``valid``, ``incomplete``, ``invalid``) in
  Vietnamese, as the dialog shows it.

The blueprint ``bp`` is :mod:`signing.web.blueprint`'s; :mod:`signing.web.views` adds the
routes to it.

Which role a person has (``"clerk"`` unlocks the organisation's token) is asked of
``app.config["SIGNING_ROLE_RESOLVER"]`` (``callable(runtime, sandbox_id, address) -> str |
None``) when set; by default a person who holds a token requiring the clerk role is a clerk.
"""
from . import views  # registers the routes on bp
from .blueprint import bp
from .views import STATUS_VI, dialog_context, person_role

__all__ = ["bp", "views", "dialog_context", "person_role", "STATUS_VI"]
