"""HTML mail made safe to show: formatting kept; scripts, event handlers, frames, forms and
every remote resource removed. Images survive only as ``data:`` URLs (``cid:`` parts of the
message are inlined), so opening a mail never reaches outside the sandbox."""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from typing import Callable

import nh3

TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"font", "tfoot", "center"}
COMMON_ATTRIBUTES = {"style", "title", "dir", "lang", "align", "valign", "width", "height", "bgcolor"}
ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": COMMON_ATTRIBUTES,
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "align", "summary"},
    "td": {"colspan", "rowspan", "align", "headers", "nowrap"},
}
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing",
    "vertical-align", "white-space", "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left", "border", "border-top",
    "border-right", "border-bottom", "border-left", "border-color", "border-style", "border-width",
    "border-collapse", "border-spacing", "width", "height", "max-width", "min-width", "display", "list-style-type",
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "data"}
REMOTE_MARK = re.compile(r"""\b(?:src|background|srcset|poster)\s*=\s*["']?\s*(?:https?:)?//"""
                         r"""|url\s*\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)
CSS_DANGER = re.compile(r"url\s*\(|expression\s*\(|@import|javascript:|behavior\s*:|-moz-binding", re.IGNORECASE)
MAX_INLINE_IMAGE = 5 * 1024 * 1024

CidResolver = Callable[[str], tuple[str, bytes] | None]


@dataclass
class SafeHtml:
    html: str
    blocked_remote: bool


def sanitize_html(source: str, resolve_cid: CidResolver | None = None,
                  link: Callable[[str], str] | None = None) -> SafeHtml:
    """Clean an HTML body. ``resolve_cid(content_id)`` gives (content type, bytes) of an
    embedded part, turned into a data: URL; anything else an image points at is dropped.
    ``link(url)`` rewrites web links (to the webmail's link page, which records the click
    and never leaves the sandbox)."""
    blocked = bool(REMOTE_MARK.search(source or ""))

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if attribute == "style":
            if CSS_DANGER.search(value):
                blocked = True
                return None
            return value
        if attribute == "href":
            if value.strip().lower().startswith(("data:", "cid:")):
                return None
            if link is not None and value.strip().lower().startswith(("http:", "https:")):
                return link(value.strip())
            return value
        if attribute == "src":
            inlined = _image_source(value, resolve_cid)
            if inlined is None and not value.strip().lower().startswith("cid:"):
                blocked = True
            return inlined
        return value

    cleaned = nh3.clean(
        source or "", tags=TAGS, clean_content_tags={"script", "style", "title", "head", "template", "noscript"},
        attributes=ATTRIBUTES, attribute_filter=keep, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer",
        filter_style_properties=STYLE_PROPERTIES, strip_comments=True,
        # links open in the whole tab (the frame may navigate the top only on a click), so the
        # link page gets the session cookie and records the click
        set_tag_attribute_values={"a": {"target": "_top"}},
    )
    return SafeHtml(cleaned, blocked)


def _image_source(value: str, resolve_cid: CidResolver | None) -> str | None:
    value = value.strip()
    lowered = value.lower()
    if lowered.startswith("data:image/"):
        return value
    if lowered.startswith("cid:") and resolve_cid is not None:
        found = resolve_cid(value[4:].strip("<> "))
        if found and found[0].lower().startswith("image/") and len(found[1]) <= MAX_INLINE_IMAGE:
            return f"data:{found[0].lower()};base64,{base64.b64encode(found[1]).decode()}"
    return None


def html_to_text(source: str) -> str:
    """A plain-text rendering of an HTML body (for quoting it in a reply)."""
    spaced = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6])>", "\n", source or "")
    return html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style", "head", "title"})).strip()


def body_document(fragment: str) -> str:
    """The page the sandboxed frame shows: the cleaned fragment and nothing else."""
    return ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<style>body{font-family:\"Noto Sans\",\"DejaVu Sans\",Arial,sans-serif;font-size:15px;"
            "color:#1b2430;margin:8px;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style>"
            f"</head><body>{fragment}</body></html>")


_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str, link: Callable[[str], str]) -> str:
    """Plain text as HTML (escaped), web addresses as links through ``link(url)``."""
    out, pos = [], 0
    for m in _URL.finditer(text or ""):
        url = m.group(0).rstrip(".,;:)")
        out.append(html.escape(text[pos:m.start()]))
        out.append(f'<a href="{html.escape(link(url))}" rel="noopener noreferrer">{html.escape(url)}</a>')
        pos = m.start() + len(url)
    out.append(html.escape((text or "")[pos:]))
    return "".join(out)
