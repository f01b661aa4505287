"""The live cycle as the server runs it: tracks in the store, one `LiveMonitor.cycle()` per second.

    .venv/bin/python -m bench.live_cycle --sizes 1000,5000,10000 --cycles 10

Where `bench.tactical` times the detection engine alone on arrays, this times a whole service cycle on
a SQLite store: reading the track book, ageing and projecting the states, the conditions (two
parties under one agreement, so every cross-party pair counts; no zones or operations), the alert
lifecycle and the writes: the alert rows, events and audit entries of the transitions, and the
refreshed numbers of the open alerts.

Traffic: random in a 1,000 km box around Paris, 75 % level at flight levels FL250-FL410, 25 %
climbing or descending, 400-500 kt, half the aircraft each party's; every cycle each aircraft
reports again (one batch per party through the ingest service), as a second of a live feed would.
Reported per size: the first cycle (which raises every alert at once), then the median and worst
of the following cycles, the open alerts, and the ingest of one second's reports.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from rich.table import Table

from bench.measure import console, machine
from deconflict.api.app import build_core
from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.geodesy import GEOD
from deconflict.domain.parties import Principal, Role
from deconflict.domain.tactical import KT_MPS
from deconflict.domain.track_input import ReportLimits
from deconflict.services import agreements, parties, tracks
from deconflict.services.core import CLI
from deconflict.services.live import LiveMonitor
from deconflict.settings import Settings

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)


def traffic(n: int, seed: int = 11) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    level = rng.random(n) < 0.75
    return {
        "lat": rng.uniform(44.4, 53.4, n),
        "lng": rng.uniform(-4.5, 9.5, n),
        "alt_ft": np.where(level, rng.integers(25, 42, n) * 1000.0, rng.uniform(25_000, 41_000, n)),
        "gs_kt": rng.uniform(400, 500, n),
        "trk": rng.uniform(0, 360, n),
        "vr_fpm": np.where(level, 0.0, rng.choice([-1, 1], n) * rng.uniform(1000, 3000, n)),
    }


def reports(t: dict[str, np.ndarray], rows: range, elapsed_s: float, when: datetime) -> list[dict[str, Any]]:
    """Each aircraft of `rows` where it is `elapsed_s` after the start (straight along its geodesic)."""
    idx = np.array(rows)
    lng, lat, back = GEOD.fwd(t["lng"][idx], t["lat"][idx], t["trk"][idx], t["gs_kt"][idx] * KT_MPS * elapsed_s)
    heading = (np.asarray(back) + 180.0) % 360.0 if elapsed_s > 0 else t["trk"][idx]
    alt = t["alt_ft"][idx] + t["vr_fpm"][idx] * elapsed_s / 60.0
    stamp = when.isoformat()
    return [
        {
            "aircraft_id": f"{0x400000 + k:06x}",
            "time": stamp,
            "lat_deg": float(lat[m]),
            "lng_deg": float(lng[m]),
            "altitude_ft": float(alt[m]),
            "ground_speed_kt": float(t["gs_kt"][k]),
            "track_deg": float(heading[m]) % 360.0,
            "vertical_rate_fpm": float(t["vr_fpm"][k]),
        }
        for m, k in enumerate(idx)
    ]


def run(n: int, cycles: int) -> dict[str, Any]:
    clock = ManualClock(T0)
    with tempfile.TemporaryDirectory() as tmp:
        core = build_core(Settings(database_url=f"sqlite:///{tmp}/live.db"), clock)
        who = {}
        for name in ("Blue", "Red"):
            party, _ = parties.create_party(core, name)
            who[name] = Principal("bench", party.id, name, Role.OPERATOR)
        draft = agreements.AgreementDraft(
            "bench", ("Blue", "Red"), None, 0.0, Buffers(0, 0, 0), LatePolicy.FLAG, HotlineRules(require_ack=False)
        )
        agreements.create_agreement(core, CLI, draft)
        t = traffic(n)
        halves = {"Blue": range(0, n // 2), "Red": range(n // 2, n)}
        monitor = LiveMonitor(core)
        ingest_s: list[float] = []
        cycle_s: list[float] = []
        open_alerts = 0
        for k in range(cycles + 1):
            start = time.perf_counter()
            for name, rows in halves.items():
                tracks.ingest(core, who[name], reports(t, rows, float(k), clock.now()), ReportLimits())
            ingest_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = monitor.cycle()
            cycle_s.append(time.perf_counter() - start)
            open_alerts = len(result.conditions)
            clock.advance(1)
        core.engine.dispose()
    steady = cycle_s[1:]
    return {
        "n": n,
        "first_s": cycle_s[0],
        "median_s": statistics.median(steady),
        "max_s": max(steady),
        "open": open_alerts,
        "ingest_s": statistics.median(ingest_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in machine().items()))
    table = Table(title="live cycle on SQLite (one cycle a second; every aircraft reports every second)")
    for col in ("aircraft", "first cycle (s)", "cycle p50 (s)", "cycle max (s)", "open alerts", "ingest of 1 s (s)"):
        table.add_column(col, justify="right")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, args.cycles)
        table.add_row(
            f"{n:,}",
            f"{r['first_s']:.3f}",
            f"{r['median_s']:.3f}",
            f"{r['max_s']:.3f}",
            f"{r['open']:,}",
            f"{r['ingest_s']:.3f}",
        )
    out.print(table)


if __name__ == "__main__":
    main()
