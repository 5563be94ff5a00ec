"""The one font finder (signing.fonts): Times New Roman preferred, Liberation Serif next, then
the older fallbacks, for every style, in Windows, macOS and Linux folders; fake font folders
hold copies of real TTFs under the Windows and macOS file names."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("fontTools")

from signing import fonts, images  # noqa: E402

#: The Windows and macOS names of Times New Roman, per style.
WINDOWS = {"regular": "times.ttf", "bold": "timesbd.ttf", "italic": "timesi.ttf",
           "bolditalic": "timesbi.ttf"}
MACOS = {"regular": "Times New Roman.ttf", "bold": "Times New Roman Bold.ttf",
         "italic": "Times New Roman Italic.ttf", "bolditalic": "Times New Roman Bold Italic.ttf"}
LIBERATION = {"regular": "LiberationSerif-Regular.ttf", "bold": "LiberationSerif-Bold.ttf",
              "italic": "LiberationSerif-Italic.ttf", "bolditalic": "LiberationSerif-BoldItalic.ttf"}
NOTO = {"regular": "NotoSerif-Regular.ttf", "bold": "NotoSerif-Bold.ttf",
        "italic": "NotoSerif-Italic.ttf", "bolditalic": "NotoSerif-BoldItalic.ttf"}
DEJAVU = {"regular": "DejaVuSerif.ttf", "bold": "DejaVuSerif-Bold.ttf",
          "italic": "DejaVuSerif-Italic.ttf", "bolditalic": "DejaVuSerif-BoldItalic.ttf"}


def _system(names: dict[str, str]) -> dict[str, Path]:
    """The machine's files of one family (every style), or skip."""
    found = {}
    for style, name in names.items():
        hits = sorted(Path("/usr/share/fonts").rglob(name))
        if not hits:
            pytest.skip(f"{name} is not installed (scripts/sysdeps.sh installs it)")
        found[style] = hits[0]
    return found


def _folder(root: Path, sub: str, sources: dict[str, Path], names: dict[str, str]) -> Path:
    """A fake font folder: ``sources[style]`` copied as ``names[style]``."""
    d = root / sub
    d.mkdir(parents=True)
    for style, src in sources.items():
        shutil.copyfile(src, d / names[style])
    return d


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Fake Windows, macOS, Linux and Noto folders. The two Times New Roman folders hold
    copies of DejaVu Serif, so that a choice of Times shows in the metrics too."""
    root = tmp_path_factory.mktemp("fontdirs")
    dejavu, liberation, noto = _system(DEJAVU), _system(LIBERATION), _system(NOTO)
    return {
        "windows": _folder(root, "Windows/Fonts", dejavu, WINDOWS),
        "macos": _folder(root, "System/Library/Fonts/Supplemental", dejavu, MACOS),
        "liberation": _folder(root, "usr/share/fonts/truetype/liberation2", liberation,
                              LIBERATION),
        "noto": _folder(root, "usr/share/fonts/truetype/noto", noto, NOTO),
        "empty": _folder(root, "empty", {}, {}),
    }


def _chosen(style, *dirs) -> str | None:
    path = fonts.find_font(style, dirs=[str(d) for d in dirs])
    return Path(path).name if path else None


@pytest.mark.parametrize("style", fonts.STYLES)
def test_times_new_roman_is_preferred_then_liberation_serif_for_every_style(folders, style):
    f = folders
    # Times New Roman wins wherever its folder comes in the list
    assert _chosen(style, f["noto"], f["liberation"], f["windows"]) == WINDOWS[style]
    assert _chosen(style, f["liberation"], f["macos"], f["noto"]) == MACOS[style]
    # without it: Liberation Serif, then what was used before (Noto Serif)
    assert _chosen(style, f["noto"], f["liberation"]) == LIBERATION[style]
    assert _chosen(style, f["noto"]) == NOTO[style]
    assert _chosen(style, f["empty"]) is None
    # folders are searched with their subfolders (the macOS Supplemental folder)
    assert _chosen(style, f["macos"].parent.parent.parent, f["liberation"]) == MACOS[style]


def test_windows_file_names_match_whatever_their_case(folders, tmp_path):
    d = tmp_path / "Fonts"
    d.mkdir()
    shutil.copyfile(folders["windows"] / "timesbd.ttf", d / "TIMESBD.TTF")
    assert _chosen("bold", folders["liberation"], d) == "TIMESBD.TTF"


def test_a_times_new_roman_without_vietnamese_letters_is_skipped(folders, tmp_path):
    from fontTools import subset
    from fontTools.ttLib import TTFont

    tt = TTFont(str(folders["windows"] / "times.ttf"))
    sub = subset.Subsetter()
    sub.populate(unicodes=range(0x20, 0x100))  # Latin-1 only, like the 1990s core fonts
    sub.subset(tt)
    d = tmp_path / "corefonts"
    d.mkdir()
    tt.save(str(d / "Times_New_Roman.ttf"))
    assert _chosen("regular", d, folders["liberation"]) == LIBERATION["regular"]


def test_every_style_lists_the_families_in_the_same_order():
    def family(name: str) -> str:
        n = name.lower()
        if n.startswith("times"):
            return "Times New Roman"
        return n.split("-")[0].replace(".ttf", "")
    orders = {style: [] for style in fonts.STYLES}
    for style, names in fonts.FONT_FILES.items():
        for name in names:
            if family(name) not in orders[style]:
                orders[style].append(family(name))
    assert orders["regular"][:2] == ["Times New Roman", "liberationserif"]
    assert all(order == orders["regular"] for order in orders.values())
    for style in fonts.STYLES:
        assert WINDOWS[style] in fonts.FONT_FILES[style]
        assert MACOS[style] in fonts.FONT_FILES[style]


def test_SANDBOX_FONT_DIRS_replaces_the_folders_and_the_cache_follows_the_choice(
        folders, tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("SANDBOX_FONT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SANDBOX_FONT_DIRS", str(folders["liberation"]))
    assert fonts.font_dirs() == (str(folders["liberation"]),)
    liberation = fonts.font_path("bold")
    assert Path(liberation).name.startswith("LiberationSerif-Bold-vi-")
    width_liberation = fonts.text_width("Nguyễn Văn An", 13, "bold")

    # Times New Roman (here a copy of DejaVu Serif) appears: a new slim copy, its metrics
    monkeypatch.setenv("SANDBOX_FONT_DIRS",
                       os.pathsep.join([str(folders["liberation"]), str(folders["windows"])]))
    times = fonts.font_path("bold")
    assert Path(times).name.startswith("timesbd-vi-") and times != liberation
    assert fonts.text_width("Nguyễn Văn An", 13, "bold") != pytest.approx(width_liberation)
    assert images.find_font("bold") == str(folders["windows"] / "timesbd.ttf")

    # the same content under another name and folder is the same font: same key
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copyfile(folders["windows"] / "timesbd.ttf", twin / "timesbd.ttf")
    monkeypatch.setenv("SANDBOX_FONT_DIRS", str(twin))
    assert Path(fonts.font_path("bold")).name == Path(times).name

    # back to the first choice: its own copy again
    monkeypatch.setenv("SANDBOX_FONT_DIRS", str(folders["liberation"]))
    assert fonts.font_path("bold") == liberation
    assert fonts.text_width("Nguyễn Văn An", 13, "bold") == pytest.approx(width_liberation)

    # nothing found in the given folders: a clear error, fontconfig is not asked
    monkeypatch.setenv("SANDBOX_FONT_DIRS", str(folders["empty"]))
    with pytest.raises(RuntimeError, match="no Vietnamese-capable bold TrueType font"):
        fonts.font_path("bold")


def test_images_and_pdf_text_use_the_one_finder():
    assert images.find_font is fonts.find_font
    for style in fonts.STYLES:
        source = fonts.find_font(style)
        assert source is not None
        assert Path(fonts.font_path(style)).name.startswith(
            "".join(c for c in Path(source).stem if c.isalnum() or c in "_-") + "-vi-")


def test_this_machine_uses_times_new_roman_or_liberation_serif():
    """scripts/sysdeps.sh installs fonts-liberation2; Windows and macOS have Times New Roman."""
    preferred = set(WINDOWS.values()) | set(MACOS.values()) | set(LIBERATION.values()) | {
        "Times_New_Roman.ttf", "Times_New_Roman_Bold.ttf", "Times_New_Roman_Italic.ttf",
        "Times_New_Roman_Bold_Italic.ttf"}
    if not list(Path("/usr/share/fonts").rglob("LiberationSerif-Regular.ttf")):
        pytest.skip("Liberation Serif is not installed (scripts/sysdeps.sh installs it)")
    for style in fonts.STYLES:
        assert Path(fonts.find_font(style)).name in preferred
