"""signing: see DESIGN.md §2 (built in a later issue)."""

from . import _pyhanko_speedups

_pyhanko_speedups.install()
