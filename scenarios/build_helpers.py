"""Files of a scenario's initial state: generated PDFs (cached: every sandbox of a shift
gets the same bytes) and declared attachments with their placeholders rendered."""
from __future__ import annotations

import mimetypes
import unicodedata
from functools import lru_cache

from signing import api as signing_api

from . import templates
from .schema import Attachment, Scenario


@lru_cache(maxsize=256)
def generated_pdf(org_name: str, title: str, body: tuple[str, ...]) -> bytes:
    pdf, _layout = signing_api.make_draft_pdf(org_name, title, list(body) or [title], "", "")
    return pdf


def attachment_bytes(att: Attachment, sc: Scenario, ctx: dict) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of a declared attachment (placeholders rendered)."""
    name = unicodedata.normalize("NFC", templates.render(att.name, ctx))
    if att.text is not None:
        data = templates.render(att.text, ctx).encode("utf-8")
        ctype = att.content_type or mimetypes.guess_type(name)[0] or "text/plain"
    else:
        orgs = {o.id: o for o in sc.world.organisations}
        org = orgs.get(att.pdf.org or "") or sc.world.organisations[0]
        data = generated_pdf(org.name.upper(), templates.render(att.pdf.title, ctx),
                              tuple(templates.render(b, ctx) for b in att.pdf.body))
        ctype = "application/pdf"
    return name, ctype, data
