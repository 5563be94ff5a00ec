"""Helpers shared by the benchmarks."""
from __future__ import annotations

import socket
import statistics
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
