"""Helpers shared by the benchmarks."""
from __future__ import annotations

import socket
import subprocess
import statistics
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: "subprocess.Popen | None", timeout: float = 20.0) -> None:
    """SIGTERM a child process still running, then SIGKILL it if it has not ended in ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def temp_runtime(prefix: str):
    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings
    d = Path(tempfile.mkdtemp(prefix=prefix))
    return Runtime.open(Settings(data_dir=d))


def run_async(coro):
    """``asyncio.run(coro)``, also from a thread whose event loop is already running (a test
    session that drove Chromium with Playwright's sync API keeps one running in the main
    thread): then the coroutine runs on a fresh loop in a thread of its own."""
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    out: dict = {}

    def work():
        try:
            out["result"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            out["error"] = exc

    t = threading.Thread(target=work, name="run_async")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["result"]
