"""Drafts become Decree 30 PDFs through :mod:`signing.api` (its page builder): the page
(national title and motto, organisation, "Số:" box, place/date box, type and summary, body,
signature block, nơi nhận ending "- Lưu: VT, <unit>.") and the empty signing fields
(``SigLanhDao``, ``SoVB``, ``NgayVB``, ``SigToChuc``).

Known limits of the page builder (``make_draft_pdf``, owned by ``signing``): the title block is
always centred under the number line, so a công văn's "V/v ..." summary is printed centred
rather than under the number box on the left, and "Kính gửi:" is printed as the first body
paragraph.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache

from signing import api as signing_api

from .rules import TYPES, nfc


def title_of(type_code: str, summary: str) -> str:
    summary = nfc(summary)
    if type_code == "CV":
        return summary if summary.lower().startswith("v/v") else f"V/v {summary}"
    name = TYPES.get(type_code, type_code.upper())
    return f"{name}\n{summary}" if summary else name


def recipient_lines(recipients: list[dict], unit_code: str | None) -> list[str]:
    lines = [f"- {nfc(r.get('label') or r.get('address') or '')};" for r in recipients]
    keep = "VT" + (f", {unit_code}" if unit_code else "")
    lines.append(f"- Lưu: {keep}.")
    return lines


def body_lines(type_code: str, body: list[str], addressees: list[str]) -> list[str]:
    out: list[str] = []
    if type_code == "CV" and addressees:
        if len(addressees) == 1:
            out.append(f"Kính gửi: {nfc(addressees[0])}.")
        else:
            out.append("Kính gửi:")
            out.extend(f"- {nfc(a)};" for a in addressees)
    out.extend(nfc(p) for p in body)
    return out


def render_draft(*, org_name: str, parent_name: str, type_code: str, summary: str, body: list[str],
                 addressees: list[str], signer_title: str, signer_name: str, recipients: list[dict],
                 unit_code: str | None) -> tuple[bytes, dict]:
    """The prepared (unsigned, fields added) draft PDF and its layout as JSON. The same draft
    in every sandbox of a shift renders once per process (same input, same bytes)."""
    key = json.dumps([org_name, parent_name, title_of(type_code, summary), body_lines(type_code, body, addressees),
                      signer_title, signer_name, recipient_lines(recipients, unit_code)],
                     ensure_ascii=False)
    pdf, layout = _render_cached(key)
    return pdf, json.loads(layout)


@lru_cache(maxsize=64)
def _render_cached(key: str) -> tuple[bytes, str]:
    org_name, parent_name, title, lines, signer_title, signer_name, recipient_text = json.loads(key)
    pdf, layout = signing_api.make_draft_pdf(org_name, title, lines, signer_title, signer_name,
                                             recipients=recipient_text, parent_org=parent_name or None)
    return signing_api.prepare_draft(pdf, layout), json.dumps(layout_to_json(layout))


def layout_to_json(layout: signing_api.Layout) -> dict:
    return asdict(layout)


def layout_from_json(data: dict) -> signing_api.Layout:
    rect = signing_api.Rect
    return signing_api.Layout(leader=rect(**data["leader"]), number=rect(**data["number"]), date=rect(**data["date"]),
                              seal=rect(**data["seal"]), org_name=data.get("org_name", ""))
