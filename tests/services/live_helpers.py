"""Builders for the live-picture service tests: reports as the API takes them, placed geodesically."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyproj import Geod

from deconflict.domain.tactical import NM_M

WGS84 = Geod(ellps="WGS84")
ORIGIN = (48.0, 2.0)


def at(bearing_deg: float, distance_m: float, origin: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """(lat, lng) of the point `distance_m` from `origin` along `bearing_deg`."""
    lng, lat, _ = WGS84.fwd(origin[1], origin[0], bearing_deg, distance_m)
    return float(lat), float(lng)


def report(
    aircraft_id: str,
    when: datetime,
    position: tuple[float, float],
    *,
    track_deg: float = 0.0,
    altitude_ft: float = 35_000.0,
    ground_speed_kt: float = 450.0,
    vertical_rate_fpm: float = 0.0,
    callsign: str | None = None,
) -> dict[str, Any]:
    return {
        "aircraft_id": aircraft_id,
        "callsign": callsign,
        "time": when.isoformat(),
        "lat_deg": position[0],
        "lng_deg": position[1],
        "altitude_ft": altitude_ft,
        "ground_speed_kt": ground_speed_kt,
        "track_deg": track_deg,
        "vertical_rate_fpm": vertical_rate_fpm,
    }


def head_on(when: datetime, gap_nm: float = 40.0, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two aircraft `gap_nm` apart on one meridian, flying at each other at 450 kt (closing 900 kt)."""
    south = at(180.0, gap_nm * NM_M / 2)
    north = at(0.0, gap_nm * NM_M / 2)
    return (
        report("aaa001", when, south, track_deg=0.0, **kw),
        report("bbb002", when, north, track_deg=180.0, **kw),
    )
