"""The document workflow's web UI ("Phần mềm quản lý văn bản và điều hành"), mounted at
``/van-ban``: incoming and outgoing lists, document pages with the PDF and its preview, the
leader's directive and forwarding, the assignees' progress, the leader's signature (the
signing dialog's certificate chooser), forwarding to the clerk, the clerk's number / seal /
release, the tracking page and the drafting form.

Every read and write goes through :mod:`docflow.api` with the session's sandbox and the
logged-in person's address, so the UI sees and does exactly what the API allows.

The blueprint is made in :mod:`.blueprint`; the view modules, one per noun like the package
(:mod:`.reads`: lists, search, tracking; :mod:`.incoming`; :mod:`.outgoing`; :mod:`.clerk`;
:mod:`.files`: PDFs, previews, attachments and uploads, one view for both kinds of
document), register their routes on it when imported here.
"""
from . import clerk, files, incoming, outgoing, reads  # noqa: F401  (register the routes)
from .blueprint import bp

__all__ = ["bp"]
