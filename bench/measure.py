"""Measuring helpers shared by the benchmark scripts: memory, percentiles, machine, one process per size."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console


def console() -> Console:
    """A console wide enough for the result tables, also when the output goes to a log file."""
    c = Console()
    return c if c.is_terminal and c.width >= 160 else Console(width=200)


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def latency_summary_ms(samples_s: npt.NDArray[np.float64]) -> dict[str, float]:
    """p50, p99, max and mean in ms; `p99_low`/`p99_high`: a 95 % interval for the p99 (`p99_interval`)."""
    ms = samples_s * 1e3
    low, high = p99_interval(ms)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "p99_low": low,
        "p99_high": high,
        "max": float(ms.max()),
        "mean": float(ms.mean()),
    }


def p99_interval(samples: npt.NDArray[np.float64], level: float = 0.95) -> tuple[float, float]:
    """An interval that holds the distribution's true 99th percentile with probability at least `level`,
    whatever the distribution: two of the sorted samples (order statistics), picked by the binomial law.

    The count K of samples above the true p99 is binomial (n, 0.01); where a <= K <= b with probability
    `level`, the p99 lies between the (b+1)-th and the a-th largest sample. The p99 of 1,000 checks rests
    on its ten slowest, so this interval is wide: docs/benchmarks.md has 1,000-query slices of one run
    whose p99s were a quarter apart. Below about 370 samples nothing bounds the p99 from above (all of
    them may lie below it): the upper end is then the largest sample.
    """
    ordered = np.sort(samples)
    n = len(ordered)
    tail = (1.0 - level) / 2
    below = _binomial_cdf(n, 0.01)  # below[k] = P(K <= k)
    a = int(np.searchsorted(below, tail, side="right"))  # the largest a with P(K < a) <= tail
    b = int(np.searchsorted(below, 1.0 - tail))  # the smallest b with P(K <= b) >= 1 - tail
    return float(ordered[max(n - 1 - b, 0)]), float(ordered[min(n - a, n - 1)])


def _binomial_cdf(n: int, p: float) -> npt.NDArray[np.float64]:
    """P(K <= k) for K ~ binomial(n, p), k = 0 .. well past the mean (where it reaches 1 in floats)."""
    top = min(n, int(n * p + 12 * math.sqrt(n * p * (1 - p)) + 12))
    log_pmf = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(top + 1)
    ]
    cdf: npt.NDArray[np.float64] = np.cumsum(np.exp(log_pmf))
    return cdf


def _best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of `runs` timings of `work()`, in ms."""
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def speed() -> dict[str, float]:
    """Fixed workloads, fastest of five, in ms: how fast this machine is now, to compare runs made on
    different machines (the same code has measured 1.4x apart) or hours apart. `python`: canonical
    JSON and SHA-256 of an audit-like document, 2,000 times; `geos`: 1,000 overlays of two 32-gons;
    `geod`: 20,000 geodesic inverse solutions; `fsync`: writing 136 KB (a filing's WAL frames) and
    fsync-ing it, in the temporary directory."""
    import shapely
    from pyproj import Geod

    from deconflict.domain.audit import digest

    doc = {"operation": {"id": "x" * 36, "extents": [[[48.0 + i / 100, 2.0 + i / 50] for i in range(40)]]}, "n": 1}
    rng = np.random.default_rng(5)
    angles = np.linspace(0.0, 2 * np.pi, 32, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    a = shapely.polygons(np.broadcast_to(ring, (1000, 32, 2)))
    b = shapely.polygons(ring[None, :, :] + rng.uniform(-1.0, 1.0, (1000, 1, 2)))
    lng, lat = rng.uniform(0.0, 10.0, (2, 20_000))
    geod = Geod(ellps="WGS84")
    frames = os.urandom(136 * 1024)

    def fsync_once() -> None:
        with tempfile.TemporaryFile() as f:
            f.write(frames)
            f.flush()
            os.fsync(f.fileno())

    return {
        "python": _best_of(5, lambda: [digest(doc) for _ in range(2000)]),
        "geos": _best_of(5, lambda: shapely.intersection(a, b)),
        "geod": _best_of(5, lambda: geod.inv(lng, lat, lat, lng)),
        "fsync": _best_of(5, fsync_once),
    }


def machine() -> dict[str, str]:
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    with open("/proc/meminfo", encoding="ascii") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cpu": f"{model}, {os.cpu_count()} cores",
        "memory": f"{mem_kib / 2**20:.1f} GiB",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "engine": f"deconflict.domain sources sha256 {engine_digest()}",
        "speed": " ".join(f"{k} {v:.2f}" for k, v in speed().items()) + " (ms, lower is faster)",
    }


def machine_line(with_engine: bool = True) -> str:
    """`machine()` in one line, as the engine scripts print it under their tables."""
    info = machine()
    engine = f"; {info['engine']}" if with_engine else ""
    return f"machine: {info['cpu']}, {info['memory']}; Python {info['python']}{engine}; speed {info['speed']}"


def engine_digest() -> str:
    """Short sha256 of the domain package's sources: which engine code produced the numbers."""
    import hashlib

    import deconflict.domain

    h = hashlib.sha256()
    for f in sorted(Path(deconflict.domain.__file__).parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def sizes_arg(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def one_process_per_size(module: str, argv: Sequence[str], sizes: Sequence[int]) -> list[Any]:
    """Run `python -m module argv --sizes N --json FILE` for each size, so memory is measured from a clean process."""
    results: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = Path(tmp) / f"{n}.json"
            cmd = [sys.executable, "-m", module, *argv, "--sizes", str(n), "--json", str(out)]
            subprocess.run(cmd, check=True)
            results.append(json.loads(out.read_text()))
    return results
