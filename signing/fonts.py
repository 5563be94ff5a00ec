"""Vietnamese-capable fonts for PDF text: paths, metrics and pyHanko font engines.

pyHanko embeds OpenType/TrueType fonts through ``GlyphAccumulator`` (needs the ``fontTools``
and ``uharfbuzz`` packages, i.e. the ``pyhanko[opentype]`` extra). SIGNING.md pitfall 1:
``GlyphAccumulator`` writes the ``/W`` widths in raw font units, so a font whose
``unitsPerEm`` is not 1000 (Liberation, DejaVu, Times New Roman: 2048) renders with
spread-apart letters. Every font is first rescaled to 1000 upm with fontTools
(``scale_upem``) when needed; see :func:`font_path`.

Decree 30 prescribes Times New Roman: Liberation Serif (``fonts-liberation2``), metric-compatible
with Times New Roman and covering every Vietnamese letter, is preferred, so documents have
Times's line lengths and breaks; Noto Serif, then DejaVu, when it is missing.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["STYLES", "font_path", "text_width", "engine_factory", "have_opentype"]

STYLES = ("regular", "bold", "italic", "bolditalic")

_DIRS = ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/truetype/liberation2",
         "/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/dejavu")
_FILES = {
    "regular": ("LiberationSerif-Regular.ttf", "NotoSerif-Regular.ttf", "DejaVuSerif.ttf",
                "NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    "bold": ("LiberationSerif-Bold.ttf", "NotoSerif-Bold.ttf", "DejaVuSerif-Bold.ttf",
             "NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    "italic": ("LiberationSerif-Italic.ttf", "NotoSerif-Italic.ttf", "DejaVuSerif-Italic.ttf",
               "NotoSans-Italic.ttf", "DejaVuSans-Oblique.ttf"),
    "bolditalic": ("LiberationSerif-BoldItalic.ttf", "NotoSerif-BoldItalic.ttf",
                   "DejaVuSerif-BoldItalic.ttf", "NotoSans-BoldItalic.ttf",
                   "DejaVuSans-BoldOblique.ttf"),
}
# fontTools logs every table it cannot subset ("FFTM NOT subset") at INFO (pitfall 9).
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


def have_opentype() -> bool:
    """True when pyHanko's OpenType support (fontTools + uharfbuzz) is importable."""
    try:
        import fontTools  # noqa: F401  # pyflakes: availability check only
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


def _find(style: str) -> str:
    for name in _FILES[style]:
        for d in _DIRS:
            p = Path(d) / name
            if p.is_file():
                return str(p)
    from .images import find_font  # fontconfig fallback
    p = find_font({"bolditalic": "bold"}.get(style, style))
    if p:
        return p
    raise RuntimeError(f"no Vietnamese-capable {style} TrueType font found "
                       "(install fonts-noto-core or fonts-liberation2)")


#: What documents need: ASCII, Latin-1, Latin Extended-A/B, combining diacritics, Latin
#: Extended Additional (all precomposed Vietnamese letters), punctuation, đồng sign.
VIETNAMESE_REPERTOIRE = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370), *range(0x1E00, 0x1F00),
     *range(0x2000, 0x2070), 0x20AB, 0x20AC, 0x2116, 0x2122, 0x2212, 0x25CC])


def _cache_dir() -> Path:
    base = os.environ.get("SANDBOX_FONT_CACHE") or os.path.join(
        tempfile.gettempdir(), f"sandbox-fonts-{os.getuid() if hasattr(os, 'getuid') else 0}")
    d = Path(base)
    d.mkdir(parents=True, exist_ok=True)
    return d


@lru_cache(maxsize=None)
def font_path(style: str = "regular") -> str:
    """Path of a slim TTF for ``style``: the system font cut down to the Vietnamese/Latin
    repertoire (no layout tables: NFC Vietnamese is all precomposed letters, so no mark
    positioning or kerning is needed) and rescaled to 1000 units per em when
    needed.

    Why slim: pyHanko subsets the font for every signature appearance, and fontTools
    spends ~200 ms decompiling the layout tables of a full Noto font; the slim copy makes
    that a few milliseconds. The copy is made once (~0.7 s) and cached on disk
    (``$SANDBOX_FONT_CACHE`` or ``<tmp>/sandbox-fonts-<uid>``), keyed by the source file
    and the fontTools version."""
    if style not in _FILES:
        raise ValueError(f"unknown font style {style!r}")
    path = _find(style)
    import fontTools
    from fontTools import subset
    from fontTools.ttLib import TTFont

    st = os.stat(path)
    key = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}|{fontTools.version}|3"
                         .encode()).hexdigest()[:16]
    out = _cache_dir() / f"{Path(path).stem}-vi-{key}.ttf"
    if out.is_file():
        return str(out)
    tt = TTFont(path)
    opts = subset.Options()
    opts.layout_features = []          # no GSUB/GPOS work when pyHanko subsets per signature
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "kern"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=VIETNAMESE_REPERTOIRE)
    sub.subset(tt)
    if tt["head"].unitsPerEm != 1000:
        from fontTools.ttLib.scaleUpem import scale_upem

        scale_upem(tt, 1000)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tt.save(str(tmp))
    os.replace(tmp, out)  # atomic: concurrent processes write the same bytes
    return str(out)


@lru_cache(maxsize=None)
def _metrics(style: str) -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
    from fontTools.ttLib import TTFont

    tt = TTFont(font_path(style))
    return dict(tt.getBestCmap()), dict(tt["hmtx"].metrics), tt["head"].unitsPerEm


def text_width(text: str, size: float, style: str = "regular") -> float:
    """Advance width of ``text`` (NFC) in points at ``size`` (no kerning: a close estimate
    of what HarfBuzz lays out, good for line breaking and centring)."""
    cmap, hmtx, upm = _metrics(style)
    total = 0
    for ch in unicodedata.normalize("NFC", text):
        g = cmap.get(ord(ch), ".notdef")
        total += hmtx.get(g, hmtx.get(".notdef", (upm // 2, 0)))[0]
    return total * size / upm


def engine_factory(style: str = "regular", font_size: int = 1):
    """A pyHanko ``GlyphAccumulatorFactory`` for ``style``. Its ``font_size`` must equal the
    ``TextBoxStyle.font_size`` it is used with (SIGNING.md pitfall 2)."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory

    return GlyphAccumulatorFactory(font_path(style), font_size=font_size,
                                   bcp47_lang_code="vi")
