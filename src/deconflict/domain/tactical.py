"""Tactical conflict prediction: will two tracks lose separation within the lookahead?

Each pair is solved in the local tangent plane of its first track (an azimuthal equidistant plane,
so the distance between the two at the start is the exact geodesic distance). The second track's
velocity is turned into that plane with the geodesic's azimuths at both ends (meridian convergence
accounted for), and both move on straight lines: closest point of approach (CPA) and the interval
in which both the horizontal and the vertical minima are infringed follow in closed form,
vectorised over all pairs.

Boundary: separation is lost only when the vertical distance is below the minimum by more than
`VERTICAL_TOLERANCE_M` (1 cm), so aircraft at adjacent flight levels exactly 1,000 ft apart are
separated whatever the floating-point rounding of feet into metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from deconflict.domain.geodesy import GEOD, FloatArray

FT_M = 0.3048
NM_M = 1852.0
KT_MPS = NM_M / 3600.0
FPM_MPS = FT_M / 60.0
#: A vertical distance within this much of the minimum still counts as separated.
VERTICAL_TOLERANCE_M = 0.01
_TINY = 1e-12


@dataclass(frozen=True)
class Minima:
    lateral_m: float = 5 * NM_M
    vertical_m: float = 1000 * FT_M
    lookahead_s: float = 300.0


class Level(IntEnum):
    NONE = 0
    ADVISORY = 1  # loss within the lookahead
    CAUTION = 2
    WARNING = 3


@dataclass(frozen=True)
class Thresholds:
    """Alert level by time to loss of separation: warning, then caution, then advisory (lookahead)."""

    warning_s: float = 60.0
    caution_s: float = 120.0

    def level(self, time_to_loss_s: FloatArray) -> np.ndarray:
        out = np.full(time_to_loss_s.shape, Level.NONE, dtype=np.int8)
        known = ~np.isnan(time_to_loss_s)
        out[known] = Level.ADVISORY
        out[known & (time_to_loss_s <= self.caution_s)] = Level.CAUTION
        out[known & (time_to_loss_s <= self.warning_s)] = Level.WARNING
        return out


@dataclass(frozen=True)
class Tracks:
    """Track states at one instant: position (degrees, metres above WGS84), velocity east/north/up (m/s)."""

    lat_deg: FloatArray
    lng_deg: FloatArray
    alt_m: FloatArray
    east_mps: FloatArray
    north_mps: FloatArray
    up_mps: FloatArray

    @classmethod
    def from_reports(
        cls,
        lat_deg: FloatArray,
        lng_deg: FloatArray,
        alt_m: FloatArray,
        ground_speed_mps: FloatArray,
        track_deg: FloatArray,
        vertical_rate_mps: FloatArray,
    ) -> Tracks:
        heading = np.radians(track_deg)
        return cls(
            np.asarray(lat_deg, dtype=np.float64),
            np.asarray(lng_deg, dtype=np.float64),
            np.asarray(alt_m, dtype=np.float64),
            ground_speed_mps * np.sin(heading),
            ground_speed_mps * np.cos(heading),
            np.asarray(vertical_rate_mps, dtype=np.float64),
        )

    def take(self, rows: np.ndarray) -> Tracks:
        """The tracks at `rows`, in that order."""
        return Tracks(
            self.lat_deg[rows],
            self.lng_deg[rows],
            self.alt_m[rows],
            self.east_mps[rows],
            self.north_mps[rows],
            self.up_mps[rows],
        )


@dataclass(frozen=True)
class Encounters:
    """Per pair (i, j): CPA within the lookahead, and the time to loss of separation (NaN: none)."""

    i: np.ndarray
    j: np.ndarray
    time_to_cpa_s: FloatArray
    horizontal_at_cpa_m: FloatArray
    vertical_at_cpa_m: FloatArray
    time_to_loss_s: FloatArray
    level: np.ndarray


def predict(
    tracks: Tracks, i: np.ndarray, j: np.ndarray, minima: Minima = Minima(), thresholds: Thresholds = Thresholds()
) -> Encounters:
    """CPA and loss of separation for the pairs (i[k], j[k]) of `tracks`."""
    az1, back_az2, dist = GEOD.inv(tracks.lng_deg[i], tracks.lat_deg[i], tracks.lng_deg[j], tracks.lat_deg[j])
    az2 = np.asarray(back_az2) + 180.0  # the geodesic's forward azimuth at j
    az1_rad, turn = np.radians(az1), np.radians(np.asarray(az1) - az2)
    rx, ry = dist * np.sin(az1_rad), dist * np.cos(az1_rad)
    # The radial line from i has bearing az1 in i's plane and az2 at j: j's local north is turned
    # by (az1 - az2) in the plane; rotate its velocity accordingly.
    ej, nj = tracks.east_mps[j], tracks.north_mps[j]
    vx = ej * np.cos(turn) + nj * np.sin(turn) - tracks.east_mps[i]
    vy = -ej * np.sin(turn) + nj * np.cos(turn) - tracks.north_mps[i]
    dz = tracks.alt_m[j] - tracks.alt_m[i]
    dvz = tracks.up_mps[j] - tracks.up_mps[i]
    lookahead = minima.lookahead_s

    a = vx * vx + vy * vy
    b = rx * vx + ry * vy
    moving = a > _TINY
    t_cpa = np.where(moving, np.clip(-b / np.where(moving, a, 1.0), 0.0, lookahead), 0.0)
    h_cpa = np.hypot(rx + vx * t_cpa, ry + vy * t_cpa)
    v_cpa = dz + dvz * t_cpa

    h_lo, h_hi = _inside_circle(rx, ry, vx, vy, minima.lateral_m)
    v_lo, v_hi = inside_band(dz, dvz, minima.vertical_m - VERTICAL_TOLERANCE_M)
    lo = np.maximum(np.maximum(h_lo, v_lo), 0.0)
    hi = np.minimum(np.minimum(h_hi, v_hi), lookahead)
    t_loss = np.where(lo <= hi, lo, np.nan)
    return Encounters(np.asarray(i), np.asarray(j), t_cpa, h_cpa, v_cpa, t_loss, thresholds.level(t_loss))


def _inside_circle(
    rx: FloatArray, ry: FloatArray, vx: FloatArray, vy: FloatArray, radius_m: float
) -> tuple[FloatArray, FloatArray]:
    """The times at which |r + v t| < radius: an interval (empty when lo > hi)."""
    a = vx * vx + vy * vy
    b = 2 * (rx * vx + ry * vy)
    c = rx * rx + ry * ry - radius_m * radius_m
    moving = a > _TINY
    disc = b * b - 4 * a * c
    root = np.sqrt(np.where(moving & (disc > 0), disc, 0.0))
    safe_a = np.where(moving, a, 1.0)
    lo = np.where(moving, (-b - root) / (2 * safe_a), np.where(c < 0, -np.inf, np.inf))
    hi = np.where(moving, (-b + root) / (2 * safe_a), np.where(c < 0, np.inf, -np.inf))
    empty = moving & (disc <= 0)
    return np.where(empty, np.inf, lo), np.where(empty, -np.inf, hi)


def inside_band(dz: FloatArray, dvz: FloatArray, half_m: float) -> tuple[FloatArray, FloatArray]:
    """The times at which |dz + dvz t| < half_m: an interval (empty when lo > hi)."""
    climbing = np.abs(dvz) > _TINY
    safe = np.where(climbing, dvz, 1.0)
    t1, t2 = (-half_m - dz) / safe, (half_m - dz) / safe
    inside_now = np.abs(dz) < half_m
    lo = np.where(climbing, np.minimum(t1, t2), np.where(inside_now, -np.inf, np.inf))
    hi = np.where(climbing, np.maximum(t1, t2), np.where(inside_now, np.inf, -np.inf))
    return lo, hi
