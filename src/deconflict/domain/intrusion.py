"""Tracks against 4D volumes: inside now, predicted to enter within the lookahead, or how far outside.

A track's future is its dead-reckoned geodesic path (as in `tracks.project`), sampled every
`step_s` seconds over the lookahead. A sample is inside a volume when its time is within the
volume's window, its altitude within the band, and its position inside the outline or on its
boundary; the outline test is done in the azimuthal equidistant plane centred on the outline,
where its densified edges follow the geodesics to well under a metre. The predicted time of entry
is therefore known to within one step (default 2 s), always erring early.

Conformance asks the converse: how far outside its operation's volumes an aircraft is, laterally
(exact geodesic distance to the outline) and vertically, so a tolerance can be applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely

from deconflict.domain.geodesy import GEOD, FloatArray, distances_from_m, unit_vector
from deconflict.domain.separation import contains_points, project_outline
from deconflict.domain.tactical import Tracks
from deconflict.domain.volumes import Outline, Volume4D

#: The smallest Earth radius: chord lengths scaled by it never exceed the geodesic distance.
_POLAR_RADIUS_M = 6_356_752.3


@dataclass(frozen=True)
class Paths:
    """Sampled future positions: row n is track n, column k is `t_s[k]` seconds after `start`."""

    start: datetime
    t_s: FloatArray
    lat_deg: FloatArray
    lng_deg: FloatArray
    alt_m: FloatArray


def sample_paths(tracks: Tracks, start: datetime, lookahead_s: float, step_s: float = 2.0) -> Paths:
    n = len(tracks.lat_deg)
    t_s = np.arange(0.0, lookahead_s + step_s / 2, step_s)
    speed = np.hypot(tracks.east_mps, tracks.north_mps)
    heading = np.degrees(np.arctan2(tracks.east_mps, tracks.north_mps))
    k = len(t_s)
    lng, lat, _ = GEOD.fwd(
        np.repeat(tracks.lng_deg, k),
        np.repeat(tracks.lat_deg, k),
        np.repeat(heading, k),
        (speed[:, None] * t_s[None, :]).ravel(),
    )
    alt = tracks.alt_m[:, None] + tracks.up_mps[:, None] * t_s[None, :]
    return Paths(start, t_s, np.asarray(lat).reshape(n, k), np.asarray(lng).reshape(n, k), alt)


def near(tracks: Tracks, outline: Outline, reach_m: FloatArray) -> np.ndarray:
    """Tracks that may come within the outline during the lookahead (a cheap, safe prefilter on
    their current positions, before any path is sampled).

    `reach_m` is each track's distance travelled over the lookahead.
    """
    if len(tracks.lat_deg) == 0:
        return np.zeros(0, dtype=np.int64)
    here = unit_vector(tracks.lat_deg, tracks.lng_deg)
    centre = unit_vector(np.array([outline.center.lat]), np.array([outline.center.lng]))[0]
    chord_m = np.linalg.norm(here - centre, axis=1) * _POLAR_RADIUS_M
    return np.flatnonzero(chord_m <= outline.cap_radius_m + reach_m + 1_000.0)


def first_inside_s(paths: Paths, rows: np.ndarray, volume: Volume4D) -> FloatArray:
    """Per row: seconds from `paths.start` to the first sample inside `volume` (NaN: none)."""
    if len(rows) == 0:
        return np.zeros(0)
    lat, lng, alt = paths.lat_deg[rows], paths.lng_deg[rows], paths.alt_m[rows]
    at_s = paths.start.timestamp() + paths.t_s
    in_time = (at_s >= volume.time.start_s()) & (at_s <= volume.time.end_s())
    inside = in_time[None, :] & (alt >= volume.altitude.lower_m) & (alt <= volume.altitude.upper_m)
    inside &= contains_points(volume.outline, lat.ravel(), lng.ravel()).reshape(lat.shape)
    hit = inside.any(axis=1)
    first = np.argmax(inside, axis=1)
    return np.where(hit, paths.t_s[first], np.nan)


@dataclass(frozen=True)
class Excess:
    """How far a position is outside a volume: 0 in every term means inside."""

    lateral_m: float
    vertical_m: float
    #: Seconds before the window opens or after it closes.
    time_s: float

    def within(self, lateral_tolerance_m: float, vertical_tolerance_m: float) -> bool:
        return self.time_s == 0 and self.lateral_m <= lateral_tolerance_m and self.vertical_m <= vertical_tolerance_m


def excess(lat_deg: float, lng_deg: float, alt_m: float, at: datetime, volume: Volume4D) -> Excess:
    outline = volume.outline
    c = outline.center
    if outline.is_circle:
        lateral = max(
            0.0, distances_from_m(c.lat, c.lng, np.array([lat_deg]), np.array([lng_deg]))[0] - outline.radius_m
        )
    else:  # the outline in the plane centred on the position: distances from the origin are exact
        lateral = float(project_outline(outline, lat_deg, lng_deg).distance(shapely.Point(0.0, 0.0)))
    band = volume.altitude
    vertical = max(0.0, band.lower_m - alt_m, alt_m - band.upper_m)
    t = at.timestamp()
    early, late = volume.time.start_s() - t, t - volume.time.end_s()
    time_s = max(0.0, early if math.isfinite(early) else 0.0, late if math.isfinite(late) else 0.0)
    return Excess(float(lateral), vertical, time_s)


def outside(
    lat_deg: float,
    lng_deg: float,
    alt_m: float,
    at: datetime,
    volumes: tuple[Volume4D, ...],
    lateral_tolerance_m: float,
    vertical_tolerance_m: float,
) -> Excess | None:
    """None when the position is within the tolerances of any of the volumes; otherwise how far it
    is outside the nearest one (by time first, then by the larger of its lateral and vertical
    excess beyond the tolerances)."""
    found = [excess(lat_deg, lng_deg, alt_m, at, v) for v in volumes]
    if any(e.within(lateral_tolerance_m, vertical_tolerance_m) for e in found):
        return None
    return min(
        found, key=lambda e: (e.time_s, max(e.lateral_m - lateral_tolerance_m, e.vertical_m - vertical_tolerance_m))
    )
