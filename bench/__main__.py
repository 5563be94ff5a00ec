"""`python -m bench`: run every benchmark and print the figures."""
from __future__ import annotations

import sys

from . import contest_report, docflow, grading, imap_vs_dovecot, login_storm, signing_flow, smtp_ingest, webmail_pages

BENCHES = {"smtp": smtp_ingest, "webmail": webmail_pages, "login": login_storm, "imap": imap_vs_dovecot,
           "signing": signing_flow, "docflow": docflow, "grading": grading, "report": contest_report}
BENCHES["portal"] = __import__(__package__ + ".portal", fromlist=["main"])  # candidate portal: login storm, autosave


def main(argv: list[str]) -> None:
    chosen = argv or list(BENCHES)
    for name in chosen:
        for line in BENCHES[name].main():
            print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
