"""Real traffic replayed through the service: ingest (with its checks), the track book, the replay
clock and the live cycle, against the independent geodesic reference on the tracks each cycle saw.

Twenty minutes of the `traffic` package's quickstart sample (ADS-B around Paris) are reported one
replayed second per batch, as `deconflict replay` sends them, to a core on a replay clock. Every
10 replayed seconds a cycle runs; every predicted loss of separation the reference is certain of
must be among the cycle's conditions, and every condition must be a loss or a boundary pair for the
reference (tolerances in tests/domain/tactical_reference.py). All aircraft are one party's, so the
cycle compares them with each other (`same_party`) at the default 5 NM / 1,000 ft / 300 s.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from deconflict.api.app import build_core
from deconflict.domain.clock import ReplayClock
from deconflict.domain.track_input import ReportLimits
from deconflict.domain.watch import LOSS, WatchRules
from deconflict.services import tracks
from deconflict.services.live import LiveMonitor
from deconflict.settings import Settings
from tests.domain.tactical_reference import Flights, classify
from tests.domain.test_real_traffic import MINIMA, _sample_path
from tests.services.helpers import setup_parties

WINDOW_S = 20 * 60
EVERY_S = 10


def _seconds_of_reports() -> list[list[dict[str, Any]]]:
    """The first WINDOW_S seconds of the sample as reports, grouped by second."""
    records = json.loads(gzip.decompress(_sample_path().read_bytes()))
    fields = ("latitude", "longitude", "altitude", "groundspeed", "track")
    start_ms = min(r["timestamp"] for r in records)
    by_second: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        second = (r["timestamp"] - start_ms) // 1000
        if second >= WINDOW_S or any(r[f] is None for f in fields):
            continue
        by_second[second].append(
            {
                "aircraft_id": r["icao24"],
                "callsign": r["callsign"],
                "time": datetime.fromtimestamp(r["timestamp"] / 1000, UTC).isoformat(),
                "lat_deg": r["latitude"],
                "lng_deg": r["longitude"],
                "altitude_ft": r["altitude"],
                "ground_speed_kt": r["groundspeed"],
                "track_deg": r["track"] % 360.0,
                "vertical_rate_fpm": r["vertical_rate"] or 0.0,
            }
        )
    return [by_second[s] for s in sorted(by_second)]


def test_replayed_traffic_alerts_agree_with_the_reference(tmp_path: Any, request: pytest.FixtureRequest) -> None:
    clock = ReplayClock()
    core = build_core(Settings(database_url=f"sqlite:///{tmp_path / 'replay.db'}"), clock)
    request.addfinalizer(core.engine.dispose)
    paris = setup_parties(core, "Paris ADS-B", "Someone")["Paris ADS-B"]
    monitor = LiveMonitor(core, WatchRules(same_party=True))
    accepted = rejected = cycles = losses = boundary = 0
    last_cycle: datetime | None = None
    for batch in _seconds_of_reports():
        checked = tracks.ingest(core, paris, batch, ReportLimits())
        accepted += len(checked.accepted)
        rejected += len(checked.rejected)
        now = clock.now()
        if last_cycle is not None and (now - last_cycle).total_seconds() < EVERY_S:
            continue
        last_cycle = now
        result = monitor.cycle()
        cycles += 1
        live = result.tracks
        flights = Flights(
            np.array([s.lat_deg for s in live]),
            np.array([s.lng_deg for s in live]),
            np.array([s.alt_m for s in live]),
            np.array([s.ground_speed_mps for s in live]),
            np.array([s.track_deg for s in live]),
            np.array([s.vertical_rate_mps for s in live]),
            np.array([max(0.0, (now - s.at).total_seconds()) for s in live]),
        )
        ref = classify(flights, MINIMA.lateral_m, MINIMA.vertical_m, MINIMA.lookahead_s)
        name = {k: s.aircraft_id for k, s in enumerate(live)}
        expected = {frozenset((name[a], name[b])) for a, b in ref.loss}
        tolerated = {frozenset((name[a], name[b])) for a, b in ref.boundary}
        got = {frozenset(t.aircraft_id for t in c.tracks) for c in result.conditions.values() if c.kind == LOSS}
        assert expected <= got, expected - got
        assert got <= expected | tolerated, got - expected - tolerated
        losses += len(expected)
        boundary += len(tolerated)
    print(
        f"{cycles} cycles, {accepted} reports accepted, {rejected} rejected; {losses} losses agree, {boundary} boundary"
    )
    assert cycles >= WINDOW_S // EVERY_S - 2
    assert accepted > 20_000
    assert rejected < 0.01 * accepted  # real ADS-B passes the ingest checks
    assert losses > 50, "the window should contain predicted losses of separation"
