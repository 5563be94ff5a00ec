"""The rotating log file of a data folder is written by several processes at once (the gunicorn
workers, ``serve smtp imap``, ``serve worker``): every line of every process is in one of the
files, none lost to a rotation made by another process, and no file grows past the limit by
more than a line."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

WRITER = textwrap.dedent("""
    import logging, sys, time
    from sandbox.kernel import logs
    logs.MAX_BYTES = 4000
    logs.BACKUPS = 200
    logs.configure(data_dir=sys.argv[1], stream=open("/dev/null", "w"))
    log = logging.getLogger("writer")
    while time.time() < float(sys.argv[4]):     # both processes write at once
        time.sleep(0.001)
    for i in range(int(sys.argv[3])):
        log.warning("process %s line %05d", sys.argv[2], i)
""")


def test_two_processes_rotating_one_file_lose_no_line(tmp_path):
    lines = 3000        # with logging's plain RotatingFileHandler about 6 % of them are lost here
    start = time.time() + 4
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name, str(lines), str(start)])
             for name in ("a", "b")]
    for p in procs:
        assert p.wait(120) == 0
    folder = tmp_path / "logs"
    files = sorted(folder.glob("sandbox.log*"))
    files = [f for f in files if not f.name.endswith(".lock")]
    assert len(files) > 10                      # it did rotate, many times, under both writers
    seen: dict[str, list[int]] = {"a": [], "b": []}
    for f in files:
        assert f.stat().st_size <= 4000 + 300, f
        for line in Path(f).read_text(encoding="utf-8").splitlines():
            words = line.split()
            i = words.index("process")
            seen[words[i + 1]].append(int(words[i + 3]))
    for name in ("a", "b"):
        assert sorted(seen[name]) == list(range(lines)), name
