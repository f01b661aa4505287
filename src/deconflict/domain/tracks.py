"""Live track state: the latest report per aircraft, how fresh it is, and where it is now.

A report is projected from its time to `now` along the geodesic of its track at its ground speed,
climbing at its vertical rate (dead reckoning). A track is `live` until `stale_after_s` without a
report (default 30 s), then `stale` (shown, not used for prediction) until `drop_after_s`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np

from deconflict.domain.geodesy import GEOD
from deconflict.domain.tactical import Tracks


class Freshness(StrEnum):
    LIVE = "live"
    STALE = "stale"
    DROPPED = "dropped"


@dataclass(frozen=True)
class TrackState:
    party_id: str
    aircraft_id: str
    callsign: str | None
    at: datetime
    lat_deg: float
    lng_deg: float
    alt_m: float
    ground_speed_mps: float
    track_deg: float
    vertical_rate_mps: float


@dataclass(frozen=True)
class Ageing:
    stale_after_s: float = 30.0
    drop_after_s: float = 300.0

    def freshness(self, state: TrackState, now: datetime) -> Freshness:
        age_s = (now - state.at).total_seconds()
        if age_s > self.drop_after_s:
            return Freshness.DROPPED
        return Freshness.STALE if age_s > self.stale_after_s else Freshness.LIVE


def project(states: Sequence[TrackState], now: datetime) -> Tracks:
    """All states moved to `now` (a report from the future stays where it is)."""
    n = len(states)
    if n == 0:
        empty = np.zeros(0)
        return Tracks(empty, empty, empty, empty, empty, empty)
    dt = np.array([max(0.0, (now - s.at).total_seconds()) for s in states])
    lat = np.array([s.lat_deg for s in states])
    lng = np.array([s.lng_deg for s in states])
    gs = np.array([s.ground_speed_mps for s in states])
    trk = np.array([s.track_deg for s in states])
    vr = np.array([s.vertical_rate_mps for s in states])
    alt = np.array([s.alt_m for s in states]) + vr * dt
    lng_now, lat_now, back_az = GEOD.fwd(lng, lat, trk, gs * dt)
    # The geodesic's heading at the new position (its back azimuth + 180) is the track there.
    heading_now = np.where(gs * dt > 0, np.asarray(back_az) + 180.0, trk)
    return Tracks.from_reports(np.asarray(lat_now), np.asarray(lng_now), alt, gs, heading_now, vr)
