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

from deconflict.domain.geodesy import GEOD, FloatArray
from deconflict.domain.tactical import FPM_MPS, FT_M, KT_MPS, Tracks


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
    return project_arrays(
        np.fromiter((s.lat_deg for s in states), float, n),
        np.fromiter((s.lng_deg for s in states), float, n),
        np.fromiter((s.alt_m for s in states), float, n),
        np.fromiter((s.ground_speed_mps for s in states), float, n),
        np.fromiter((s.track_deg for s in states), float, n),
        np.fromiter((s.vertical_rate_mps for s in states), float, n),
        np.fromiter(((now - s.at).total_seconds() for s in states), float, n),
    )


def project_arrays(
    lat_deg: FloatArray,
    lng_deg: FloatArray,
    alt_m: FloatArray,
    ground_speed_mps: FloatArray,
    track_deg: FloatArray,
    vertical_rate_mps: FloatArray,
    age_s: FloatArray,
) -> Tracks:
    """Reports moved forward by their age along their geodesic: the track there is the geodesic's
    heading (its back azimuth + 180).

    A negative age (a report from the future) leaves the report where it is.
    """
    dt_s = np.maximum(np.asarray(age_s, dtype=np.float64), 0.0)
    gs = np.asarray(ground_speed_mps, dtype=np.float64)
    trk = np.asarray(track_deg, dtype=np.float64)
    vr = np.asarray(vertical_rate_mps, dtype=np.float64)
    lng_now, lat_now, back_az = GEOD.fwd(lng_deg, lat_deg, trk, gs * dt_s)
    heading_now = np.where(gs * dt_s > 0, np.asarray(back_az) + 180.0, trk)
    alt_now = np.asarray(alt_m, dtype=np.float64) + vr * dt_s
    return Tracks.from_reports(np.asarray(lat_now), np.asarray(lng_now), alt_now, gs, heading_now, vr)


def wire_units(alt_m: float, ground_speed_mps: float, vertical_rate_mps: float) -> dict[str, float]:
    """Altitude, ground speed and vertical rate in the units reports arrive in (ft, kt, ft/min), to 0.1."""
    return {
        "altitude_ft": round(alt_m / FT_M, 1),
        "ground_speed_kt": round(ground_speed_mps / KT_MPS, 1),
        "vertical_rate_fpm": round(vertical_rate_mps / FPM_MPS, 1),
    }
