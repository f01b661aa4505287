"""Simulated aircraft for the demo: both parties report tracks every second, through the same
ingest as the API, so the live picture shows each kind of alert within the first minute.

Each aircraft shuttles along a geodesic between two points (out, turn, back), for ever:

- a Blue fighter and a Red airliner on one line at FL200, head-on: a predicted loss of separation
  each time they meet (advisory, caution, warning, then cleared once they have passed);
- a Blue helicopter at low level crossing Red's hospital no-fly zone: an intrusion;
- a Blue survey aircraft declared for Blue's activated operation that flies 3 km past its edge
  on every leg: non-conformance, and the operation turns `nonconforming` and back.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deconflict.domain.geodesy import GEOD
from deconflict.domain.parties import Principal
from deconflict.domain.tactical import KT_MPS
from deconflict.domain.track_input import ReportLimits
from deconflict.services import tracks
from deconflict.services.core import Core


@dataclass(frozen=True)
class Shuttle:
    """An aircraft flying from A to B and back at a constant speed and altitude."""

    party: str  # "blue" or "red"
    aircraft_id: str
    callsign: str
    a: tuple[float, float]
    b: tuple[float, float]
    speed_kt: float
    altitude_ft: float
    #: Seconds into the first leg at the demo's start (to phase the encounters).
    offset_s: float = 0.0

    def report(self, elapsed_s: float, when: datetime) -> dict[str, Any]:
        az_ab, _, length_m = GEOD.inv(self.a[1], self.a[0], self.b[1], self.b[0])
        speed_mps = self.speed_kt * KT_MPS
        along = (speed_mps * (elapsed_s + self.offset_s)) % (2 * length_m)
        outbound = along <= length_m
        distance = along if outbound else 2 * length_m - along
        lng, lat, back_az = GEOD.fwd(self.a[1], self.a[0], az_ab, distance)
        heading = (back_az + 180.0) % 360.0 if outbound else back_az % 360.0
        return {
            "aircraft_id": self.aircraft_id,
            "callsign": self.callsign,
            "time": when.isoformat(),
            "lat_deg": lat,
            "lng_deg": lng,
            "altitude_ft": self.altitude_ft,
            "ground_speed_kt": self.speed_kt,
            "track_deg": heading,
            "vertical_rate_fpm": 0.0,
        }


log = logging.getLogger(__name__)

#: Where the demo's live operation is, and the aircraft declared for it.
SURVEY_CENTRE = (49.45, 3.85)
SURVEY_RADIUS_M = 5_000.0
SURVEY_AIRCRAFT = "3b7f51"
HELIPAD = (49.238, 4.043)


def _offset(origin: tuple[float, float], bearing_deg: float, distance_m: float) -> tuple[float, float]:
    lng, lat, _ = GEOD.fwd(origin[1], origin[0], bearing_deg, distance_m)
    return float(lat), float(lng)


def shuttles() -> list[Shuttle]:
    meet = (49.30, 4.30)
    return [
        # 25 NM apart, closing at 840 kt: loss of separation predicted from the first second
        Shuttle("blue", "3b7f31", "VIPER31", _offset(meet, 270, 23_000), _offset(meet, 90, 60_000), 420, 20_000),
        Shuttle("red", "39c4a2", "AFR123", _offset(meet, 90, 23_000), _offset(meet, 270, 60_000), 420, 20_000),
        # low level, through Red's hospital zone (1.5 km radius, up to 600 m)
        Shuttle("blue", "3b7f41", "RESCUE41", _offset(HELIPAD, 250, 6_000), _offset(HELIPAD, 70, 6_000), 120, 1_200),
        # declared for Blue's live survey operation; each leg overshoots its circle by 3 km
        Shuttle(
            "blue",
            SURVEY_AIRCRAFT,
            "VIPER51",
            SURVEY_CENTRE,
            _offset(SURVEY_CENTRE, 45, SURVEY_RADIUS_M + 3_000),
            180,
            3_000,
            offset_s=20,
        ),
    ]


class DemoFlights:
    """Reports every aircraft's position once a second on the core's clock, until stopped."""

    def __init__(self, core: Core, blue: Principal, red: Principal) -> None:
        self.core = core
        self.by_party = {"blue": blue, "red": red}
        self.shuttles = shuttles()
        self.started = core.clock.now()
        self.stop = threading.Event()

    def step(self) -> int:
        now = self.core.clock.now()
        elapsed_s = (now - self.started).total_seconds()
        sent = 0
        for party, principal in self.by_party.items():
            batch = [s.report(elapsed_s, now) for s in self.shuttles if s.party == party]
            sent += len(tracks.ingest(self.core, principal, batch, ReportLimits()).accepted)
        return sent

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.step()
            except Exception:  # the demo keeps flying whatever one round does, and says so
                log.exception("demo flights: a round of reports failed")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="demo-flights", daemon=True)
        thread.start()
        return thread
