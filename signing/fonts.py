"""Vietnamese-capable fonts for PDF text and images: the one font finder, metrics and pyHanko
font engines.

**Which font.** Decree 30 prescribes Times New Roman. :func:`find_font` looks for, in this
order, for every style (regular, bold, italic, bold italic):

1. Times New Roman, under its Windows names (``times.ttf``, ``timesbd.ttf``, ``timesi.ttf``,
   ``timesbi.ttf``), its macOS names (``Times New Roman.ttf``, ``Times New Roman Bold.ttf``,
   ``Times New Roman Italic.ttf``, ``Times New Roman Bold Italic.ttf``) and the Linux
   ``msttcorefonts`` names (``Times_New_Roman.ttf``, ...);
2. Liberation Serif (Debian ``fonts-liberation2``, installed by ``scripts/sysdeps.sh``):
   metric-compatible with Times New Roman, so lines break where they would in Times;
3. what the sandbox used before Times New Roman was looked for: Noto Serif, DejaVu Serif, Noto
   Sans, DejaVu Sans, Liberation Sans;
4. with the default folders only, whatever ``fc-match :lang=vi`` proposes.

A candidate is taken only when it has every Vietnamese letter (:data:`VIETNAMESE_LETTERS`):
old Times New Roman copies (the 1990s "core fonts") lack most of them and are skipped.
File names match case-insensitively; a preferred name found in any folder beats a less
preferred one in an earlier folder; for the same name the earlier folder wins.

**Where.** :func:`font_dirs`: ``$SANDBOX_FONT_DIRS`` (folders separated by ``os.pathsep``)
when set: exactly those, nothing else (tests use it with fake font folders); otherwise the
Windows font folders (``%WINDIR%\\Fonts`` and the per-user one under ``%LOCALAPPDATA%``),
the macOS ones (``/Library/Fonts``, ``/System/Library/Fonts``,
``/System/Library/Fonts/Supplemental``, ``~/Library/Fonts``) and the Linux ones
(``/usr/share/fonts/truetype/liberation2`` before ``liberation``, then ``/usr/share/fonts``,
``/usr/local/share/fonts``, ``~/.local/share/fonts``, ``~/.fonts``). Folders are searched
with their subfolders.

**Embedding.** pyHanko embeds OpenType/TrueType fonts through ``GlyphAccumulator`` (needs the
``fontTools`` and ``uharfbuzz`` packages, i.e. the ``pyhanko[opentype]`` extra). SIGNING.md
pitfall 1: ``GlyphAccumulator`` writes the ``/W`` widths in raw font units, so a font whose
``unitsPerEm`` is not 1000 (Liberation, DejaVu, Times New Roman: 2048) renders with
spread-apart letters. PDF text therefore uses :func:`font_path`: a slim copy of the chosen
font, rescaled to 1000 upm, cached on disk under a key of the chosen file's content. Images
(:mod:`signing.images`) use the chosen file itself.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["STYLES", "FONT_FILES", "VIETNAMESE_LETTERS", "font_dirs", "find_font", "font_path",
           "text_width", "engine_factory", "have_opentype"]

STYLES = ("regular", "bold", "italic", "bolditalic")

#: File names per style, most preferred first (see the module docstring).
FONT_FILES = {
    "regular": ("times.ttf", "Times New Roman.ttf", "Times_New_Roman.ttf",
                "LiberationSerif-Regular.ttf",
                "NotoSerif-Regular.ttf", "DejaVuSerif.ttf", "NotoSans-Regular.ttf",
                "DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    "bold": ("timesbd.ttf", "Times New Roman Bold.ttf", "Times_New_Roman_Bold.ttf",
             "LiberationSerif-Bold.ttf",
             "NotoSerif-Bold.ttf", "DejaVuSerif-Bold.ttf", "NotoSans-Bold.ttf",
             "DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
    "italic": ("timesi.ttf", "Times New Roman Italic.ttf", "Times_New_Roman_Italic.ttf",
               "LiberationSerif-Italic.ttf",
               "NotoSerif-Italic.ttf", "DejaVuSerif-Italic.ttf", "NotoSans-Italic.ttf",
               "DejaVuSans-Oblique.ttf", "LiberationSans-Italic.ttf"),
    "bolditalic": ("timesbi.ttf", "Times New Roman Bold Italic.ttf",
                   "Times_New_Roman_Bold_Italic.ttf",
                   "LiberationSerif-BoldItalic.ttf",
                   "NotoSerif-BoldItalic.ttf", "DejaVuSerif-BoldItalic.ttf",
                   "NotoSans-BoldItalic.ttf", "DejaVuSans-BoldOblique.ttf",
                   "LiberationSans-BoldItalic.ttf"),
}
_FC_STYLE = {"regular": "", "bold": ":bold", "italic": ":italic", "bolditalic": ":bold:italic"}

#: Every Vietnamese letter (precomposed, NFC): a font lacking one is not used.
VIETNAMESE_LETTERS = frozenset(
    "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư"
    + "".join(chr(c) for c in range(0x1EA0, 0x1EFA)))

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


@lru_cache(maxsize=1)
def _default_dirs() -> tuple[str, ...]:
    home = Path.home()
    dirs: list[str] = []
    windir = os.environ.get("WINDIR") or os.environ.get("SystemRoot") or (
        "C:\\Windows" if os.name == "nt" else None)
    if windir:
        dirs.append(os.path.join(windir, "Fonts"))
    if os.environ.get("LOCALAPPDATA"):
        dirs.append(os.path.join(os.environ["LOCALAPPDATA"], "Microsoft", "Windows", "Fonts"))
    dirs += ["/Library/Fonts", "/System/Library/Fonts", "/System/Library/Fonts/Supplemental",
             str(home / "Library" / "Fonts"),
             "/usr/share/fonts/truetype/liberation2", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts", "/usr/local/share/fonts",
             str(home / ".local" / "share" / "fonts"), str(home / ".fonts")]
    return tuple(dirs)


def font_dirs() -> tuple[str, ...]:
    """The folders :func:`find_font` searches: ``$SANDBOX_FONT_DIRS`` (separated by
    ``os.pathsep``) or the defaults (see the module docstring)."""
    override = os.environ.get("SANDBOX_FONT_DIRS")
    if override:
        return _split_dirs(override)
    return _default_dirs()


@lru_cache(maxsize=8)
def _split_dirs(value: str) -> tuple[str, ...]:
    return tuple(os.path.expanduser(d) for d in value.split(os.pathsep) if d.strip())



def find_font(style: str = "regular", dirs=None) -> str | None:
    """Path of the preferred Vietnamese-capable TrueType file for ``style`` (``regular``,
    ``bold``, ``italic``, ``bolditalic``) in ``dirs`` (default :func:`font_dirs`), or
    ``None``. Only the default folders fall back on fontconfig."""
    if style not in FONT_FILES:
        raise ValueError(f"unknown font style {style!r}")
    if dirs is not None:
        return _find(style, tuple(str(d) for d in dirs), False)
    return _find(style, font_dirs(), not os.environ.get("SANDBOX_FONT_DIRS"))


@lru_cache(maxsize=None)
def _find(style: str, dirs: tuple[str, ...], fontconfig: bool) -> str | None:
    indexes = [_index(d) for d in dirs]
    for name in FONT_FILES[style]:
        for index in indexes:
            path = index.get(name.lower())
            if path and _covers_vietnamese(path):
                return path
    if fontconfig:
        path = _fc_match(style)
        if path and _covers_vietnamese(path):
            return path
    return None


@lru_cache(maxsize=None)
def _index(folder: str) -> dict[str, str]:
    """Lower-cased file name -> path of the TrueType files in ``folder`` and below (the first
    one in sorted order for a name found twice)."""
    out: dict[str, str] = {}
    for root, subdirs, files in os.walk(folder):
        subdirs.sort()
        for f in sorted(files):
            if f.lower().endswith(".ttf"):
                out.setdefault(f.lower(), os.path.join(root, f))
    return out


@lru_cache(maxsize=None)
def _covers_vietnamese(path: str) -> bool:
    try:
        from fontTools.ttLib import TTFont

        cmap = TTFont(path, lazy=True).getBestCmap() or {}
    except Exception:  # not a usable font file
        return False
    return all(ord(ch) in cmap for ch in VIETNAMESE_LETTERS)


def _fc_match(style: str) -> str | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=vi" + _FC_STYLE[style]],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if out.lower().endswith((".ttf", ".otf")) and Path(out).is_file():
        return out
    return None


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


def font_path(style: str = "regular") -> str:
    """Path of a slim TTF for ``style``: the font :func:`find_font` chooses, cut down to the
    Vietnamese/Latin repertoire (no layout tables: NFC Vietnamese is all precomposed
    letters, so no mark positioning or kerning is needed) and rescaled to 1000 units per em
    when needed. What PDF text (documents, signature appearances, reports) embeds.

    Why slim: pyHanko subsets the font for every signature appearance, and fontTools
    spends ~200 ms decompiling the layout tables of a full Noto font; the slim copy makes
    that a few milliseconds. The copy is made once (~0.7 s) and cached on disk
    (``$SANDBOX_FONT_CACHE`` or ``<tmp>/sandbox-fonts-<uid>``) under a key of the chosen
    file's name and content and the fontTools version: another choice (a font installed or
    removed, another ``$SANDBOX_FONT_DIRS``) or an updated file never reuses a stale copy."""
    source = find_font(style)
    if source is None:
        raise RuntimeError(f"no Vietnamese-capable {style} TrueType font found in "
                           f"{os.pathsep.join(font_dirs())} (install Times New Roman, or "
                           "Liberation Serif: Debian fonts-liberation2)")
    return _slim_copy(source)


@lru_cache(maxsize=None)
def _slim_copy(path: str) -> str:
    import fontTools
    from fontTools import subset
    from fontTools.ttLib import TTFont

    data = Path(path).read_bytes()
    key = hashlib.sha256(data + f"|{fontTools.version}|4".encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "", Path(path).stem) or "font"
    out = _cache_dir() / f"{stem}-vi-{key}.ttf"
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
def _metrics(slim_path: str) -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
    from fontTools.ttLib import TTFont

    tt = TTFont(slim_path)
    return dict(tt.getBestCmap()), dict(tt["hmtx"].metrics), tt["head"].unitsPerEm


def text_width(text: str, size: float, style: str = "regular") -> float:
    """Advance width of ``text`` (NFC) in points at ``size`` (no kerning: a close estimate
    of what HarfBuzz lays out, good for line breaking and centring)."""
    cmap, hmtx, upm = _metrics(font_path(style))
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
