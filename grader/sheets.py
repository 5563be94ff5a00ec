"""Signed score sheets: a score report's PDF signed with the organiser's organisation
certificate (the installation's test CA), so anyone can check later with ``sandbox verify``
that it was not altered. The signature sits at the top right of page 1, without an image,
with the sheet's label and the signing time (Decree 30's form for a separate file)."""
from __future__ import annotations

from signing import api as signing_api

DEFAULT_ORGANISER = "SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ"


def organiser_bundle(runtime, organiser: str = DEFAULT_ORGANISER):
    """The organiser's organisation certificate and key (never on any sandbox's token)."""
    pki = signing_api.pki_for(runtime)
    return pki.issue_organisation(organiser, locality="Cần Thơ", serial_salt="organiser:" + organiser)


def sign_sheet(runtime, pdf: bytes, label: str, *, organiser: str = DEFAULT_ORGANISER) -> bytes:
    """Sign a score sheet PDF; ``label`` is printed with the time (e.g. "Phiếu điểm SBD CT23-0001")."""
    pki = signing_api.pki_for(runtime)
    return signing_api.sign_attachment(pdf, organiser_bundle(runtime, organiser), label,
                                       timestamper=pki.timestamper(), when=runtime.clock.now())
