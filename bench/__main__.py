"""`python -m bench`: run every benchmark and print the figures.

`python -m bench NAME…` runs the named ones; `python -m bench load [options]` runs the load
generator with its options (`python -m bench load --help`)."""
from __future__ import annotations

import sys

from . import (contest_report, docflow, grading, imap_vs_dovecot, load, login_storm, signing_flow, smtp_ingest,
               webmail_pages)

BENCHES = {"smtp": smtp_ingest, "webmail": webmail_pages, "login": login_storm, "imap": imap_vs_dovecot,
           "signing": signing_flow, "docflow": docflow, "grading": grading, "report": contest_report}
BENCHES["portal"] = __import__(__package__ + ".portal", fromlist=["main"])  # candidate portal: login storm, autosave
BENCHES["load"] = load     # a whole shift over HTTP (BENCH_LOAD_CANDIDATES, BENCH_LOAD_COMPRESS)
BENCHES["provision"] = __import__(__package__ + ".provision", fromlist=["main"])  # a shift's sandboxes: one process vs every core


def main(argv: list[str]) -> None:
    if argv and argv[0] == "load" and len(argv) > 1:
        for line in load.main(argv[1:]):
            print(line, flush=True)
        return
    chosen = argv or list(BENCHES)
    for name in chosen:
        for line in BENCHES[name].main():
            print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
