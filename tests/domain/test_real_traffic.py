"""Real traffic: all-pairs detection on three hours of ADS-B around Paris, against the independent reference.

The data is the `traffic` package's quickstart sample (`pip install --no-deps traffic==2.13`, done by
scripts/setup): 284,505 state vectors of 213 aircraft, one a second, 7 October 2021, 12:00-15:00 UTC.
It is replayed every `EVERY_S` seconds over the whole file. The live state at time t is each
airborne aircraft's last complete report at or before t and not older than 30 s, dead-reckoned to t;
every aircraft is its own party, so every pair counts. At every sample time, `detect` must find every
pair that the geodesic reference (tactical_reference.py) certainly sees losing 5 NM / 1,000 ft within
300 s, nothing that it certainly sees separated, with the time of loss where the reference allows it;
pairs within its tolerances of a minimum (5 m plus a tenth of the model bound laterally, 1 mm
vertically) are counted and skipped.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from deconflict.domain.tactical import FPM_MPS, FT_M, KT_MPS, Minima
from deconflict.domain.tracks import project_arrays
from tests.domain.tactical_reference import Flights, classify, disagreements

EVERY_S = 10
MAX_AGE_S = 30.0
MINIMA = Minima()
SAMPLE = "data/samples/collections/quickstart.json.gz"

try:
    from deconflict.domain import tactical_pairs
except ImportError:  # pragma: no cover - the test must say why, not skip
    tactical_pairs = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Reports:
    """Complete airborne reports, sorted by aircraft then time (SI units)."""

    aircraft: npt.NDArray[np.int64]
    t_s: npt.NDArray[np.float64]
    lat_deg: npt.NDArray[np.float64]
    lng_deg: npt.NDArray[np.float64]
    alt_m: npt.NDArray[np.float64]
    ground_speed_mps: npt.NDArray[np.float64]
    track_deg: npt.NDArray[np.float64]
    vertical_rate_mps: npt.NDArray[np.float64]


def _sample_path() -> Path:
    spec = importlib.util.find_spec("traffic")  # finds the package without importing it (its deps are absent)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the `traffic` package is not installed: run scripts/setup (pip install --no-deps traffic==2.13)")
    path = Path(next(iter(spec.submodule_search_locations))) / SAMPLE
    if not path.exists():
        pytest.fail(f"the traffic sample {path} is missing: reinstall with pip install --no-deps traffic==2.13")
    return path


@pytest.fixture(scope="module")
def reports() -> Reports:
    records = json.loads(gzip.decompress(_sample_path().read_bytes()))
    fields = ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate")
    usable = [r for r in records if not r["onground"] and all(r[f] is not None for f in fields)]
    names = {name: k for k, name in enumerate(sorted({r["icao24"] for r in usable}))}
    aircraft = np.array([names[r["icao24"]] for r in usable], dtype=np.int64)
    t_s = np.array([r["timestamp"] for r in usable], dtype=np.float64) / 1000.0
    order = np.lexsort((t_s, aircraft))

    def col(name: str, scale: float = 1.0) -> npt.NDArray[np.float64]:
        return np.array([r[name] for r in usable], dtype=np.float64)[order] * scale

    return Reports(
        aircraft[order],
        t_s[order],
        col("latitude"),
        col("longitude"),
        col("altitude", FT_M),
        col("groundspeed", KT_MPS),
        col("track"),
        col("vertical_rate", FPM_MPS),
    )


def live_at(reports: Reports, times_s: npt.NDArray[np.float64]) -> list[tuple[npt.NDArray[np.int64], Flights]]:
    """Per sample time: the indices of the live reports, and them as flights aged to that time."""
    first = np.flatnonzero(np.diff(reports.aircraft, prepend=-1))
    last = np.append(first[1:], reports.aircraft.size)
    latest = np.full((first.size, times_s.size), -1, dtype=np.int64)
    for a, (lo, hi) in enumerate(zip(first, last, strict=True)):
        k = np.searchsorted(reports.t_s[lo:hi], times_s, side="right") - 1
        latest[a] = np.where(k >= 0, lo + k, -1)
    out = []
    for c, t in enumerate(times_s):
        idx = latest[:, c][latest[:, c] >= 0]
        idx = idx[t - reports.t_s[idx] <= MAX_AGE_S]
        flights = Flights(
            reports.lat_deg[idx],
            reports.lng_deg[idx],
            reports.alt_m[idx],
            reports.ground_speed_mps[idx],
            reports.track_deg[idx],
            reports.vertical_rate_mps[idx],
            t - reports.t_s[idx],
        )
        out.append((idx, flights))
    return out


def test_detect_agrees_with_the_reference_on_real_traffic(reports: Reports) -> None:
    if tactical_pairs is None:
        pytest.fail("deconflict.domain.tactical_pairs is missing: all-pairs detection is not implemented")
    times = np.arange(reports.t_s.min() + EVERY_S, reports.t_s.max(), EVERY_S)
    losses = current = boundary = aircraft_seen = 0
    for now_s, (idx, f) in zip(times, live_at(reports, times), strict=True):
        assert f.age_s is not None
        aircraft_seen = max(aircraft_seen, idx.size)
        tracks = project_arrays(
            f.lat_deg, f.lng_deg, f.alt_m, f.ground_speed_mps, f.track_deg, f.vertical_rate_mps, f.age_s
        )
        found = tactical_pairs.detect(tracks, MINIMA, group=np.arange(idx.size))
        got = {(int(a), int(b)): float(t) for a, b, t in zip(found.i, found.j, found.time_to_loss_s, strict=True)}
        ref = classify(f, MINIMA.lateral_m, MINIMA.vertical_m, MINIMA.lookahead_s)
        assert disagreements(got, ref) == [], f"at {now_s:.0f} s"
        # Losses of separation now: found exactly where the reference has one at t = 0.
        assert {p for p, t in got.items() if t == 0} >= {p for p, t in ref.loss.items() if t == 0}
        assert all(ref.first_possible_s[p] == 0 for p, t in got.items() if t == 0)
        losses += len(ref.loss)
        current += sum(1 for t in ref.loss.values() if t == 0)
        boundary += len(ref.boundary)
    print(f"{times.size} sample times, up to {aircraft_seen} aircraft live: {losses} predicted losses agree "
          f"({current} of them losses now); {boundary} boundary pairs skipped")  # fmt: skip
    assert times.size > 1000
    assert losses > 1000, "the replay should contain many predicted losses of separation"
    assert current > 100
    assert boundary <= 0.01 * losses
