"""The index's per-entry columns: what its box filter tests and what screening reads, one row per entry id.

A check reads these instead of the entries themselves: each entry is a Python object somewhere in a heap
of millions, and reading a few fields of each of a hundred candidates costs more than everything else the
check does with them. The columns are numpy arrays, grown by doubling; polygons' rings sit one after
another in one array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from deconflict.domain.compiled import BoolArray, compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.grid import MARGIN_M
from deconflict.domain.plane import IntArray
from deconflict.domain.separation import DISTANCE_TOLERANCE_M
from deconflict.domain.volumes import Outline, Volume4D

_CAP_SLACK = 1.005  # sphere vs ellipsoid: angular radius from metres, conservatively
#: WGS84 a(1 - e²), the meridional radius of curvature at the equator and the smallest anywhere: a geodesic
#: of length s turns the surface normal by at most s / this, so it converts metres to a safe angular radius.
_MIN_CURVATURE_RADIUS_M = 6_335_439.0

#: Columns of `Columns.rows`: window start and end (s), band lower and upper (m), centre unit vector, cap (rad).
_T0, _T1, _A0, _A1, _X, _Y, _Z, _CAP = range(8)


def outline_row(o: Outline) -> tuple[float, float, float, float, float]:
    """What screening reads of an outline: centre lat and lng (deg), radius (m; 0 for a polygon), cap radius (m),
    1 for a circle (else 0)."""
    return o.center.lat, o.center.lng, o.radius_m, o.cap_radius_m, float(o.is_circle)


class Columns:
    """Growable numpy columns, one row per entry id: the box filter reads one row per candidate."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.alive = np.zeros(capacity, dtype=bool)
        self.party = np.zeros(capacity, dtype=np.int64)
        self.rows = np.zeros((capacity, 8))
        #: What screening reads of each outline (`outline_row`), kept apart from the filter's columns.
        self.outline = np.zeros((capacity, 5))
        #: The last query that met each entry (`_filter_kernel` reads each gathered id once).
        self.seen = np.zeros(capacity, dtype=np.int64)
        self.queries = 0
        #: Polygons' rings (lat, lng; open, as `Outline.dense_lat` / `dense_lng`), one after another: entry i's
        #: at `ring[ring_start[i] : ring_start[i + 1]]` (none for a circle).
        self.ring = np.zeros((8 * capacity, 2))
        self.ring_start = np.zeros(capacity + 1, dtype=np.int64)

    def append(self, volume: Volume4D, party_code: int) -> int:
        if self.size == len(self.alive):
            self._grow()
        i = self.size
        o = volume.outline
        self.alive[i] = True
        self.party[i] = party_code
        self.rows[i] = (
            volume.time.start_s(),
            volume.time.end_s(),
            volume.altitude.lower_m,
            volume.altitude.upper_m,
            *_unit_vector(o.center.lat, o.center.lng),
            o.cap_radius_m * _CAP_SLACK / _MIN_CURVATURE_RADIUS_M,
        )
        self.outline[i] = outline_row(o)
        start = self.ring_start[i]
        end = start if o.is_circle else start + len(o.dense_lat)
        if end > len(self.ring):
            self.ring = _grown(self.ring, max(2 * len(self.ring), end))
        if end > start:
            self.ring[start:end, 0], self.ring[start:end, 1] = o.dense_lat, o.dense_lng
        self.ring_start[i + 1] = end
        self.size += 1
        return i

    def box_filter(
        self, raw: IntArray, volume: Volume4D, lateral_m: float, vertical_m: float, time_s: float
    ) -> tuple[IntArray, FloatArray, FloatArray, int]:
        """The entries among `raw` (ids, with repeats) whose window, band and cap, widened by the buffers, meet
        `volume`'s, each once: their ids, time gaps (s) and vertical gaps (m); and how many distinct ids `raw` held."""
        o = volume.outline
        self.queries += 1
        query = (
            volume.time.start_s(),
            volume.time.end_s(),
            volume.altitude.lower_m,
            volume.altitude.upper_m,
            *_unit_vector(o.center.lat, o.center.lng),
            (o.cap_radius_m * _CAP_SLACK + lateral_m + MARGIN_M) / _MIN_CURVATURE_RADIUS_M,
        )
        return _filter_kernel(
            raw,
            self.seen,
            self.queries,
            self.alive,
            self.rows,
            np.array(query),
            time_s,
            vertical_m + DISTANCE_TOLERANCE_M,
        )

    def bands(self, ids: IntArray) -> FloatArray:
        """Window start and end (s), band lower and upper (m) of these entries."""
        return self.rows[ids, _T0 : _A1 + 1]

    def rings(self, ids: IntArray) -> tuple[FloatArray, IntArray]:
        """The rings of these entries one after another (lat, lng; circles have none), and each one's size."""
        sizes = self.ring_start[ids + 1] - self.ring_start[ids]
        return _gather_rings(self.ring, self.ring_start, ids, int(sizes.sum())), sizes

    def _grow(self) -> None:
        for name in ("alive", "party", "rows", "outline", "seen", "ring_start"):
            old = getattr(self, name)
            setattr(self, name, _grown(old, len(old) * 2))


def _grown(old: npt.NDArray[Any], rows: int) -> npt.NDArray[Any]:
    new = np.zeros((rows, *old.shape[1:]), dtype=old.dtype)
    new[: len(old)] = old
    return new


@compiled
def _gather_rings(ring: FloatArray, ring_start: IntArray, ids: IntArray, total: int) -> FloatArray:
    out = np.empty((total, 2))
    at = 0
    for i in ids:
        for v in range(ring_start[i], ring_start[i + 1]):
            out[at, 0], out[at, 1] = ring[v, 0], ring[v, 1]
            at += 1
    return out


def _unit_vector(lat_deg: float, lng_deg: float) -> tuple[float, float, float]:
    lat, lng = math.radians(lat_deg), math.radians(lng_deg)
    return math.cos(lat) * math.cos(lng), math.cos(lat) * math.sin(lng), math.sin(lat)


@compiled
def _filter_kernel(
    raw: IntArray,
    seen: IntArray,
    query: int,
    alive: BoolArray,
    rows: FloatArray,
    box: FloatArray,
    time_s: float,
    vertical_m: float,
) -> tuple[IntArray, FloatArray, FloatArray, int]:
    """The ids in `raw` (with repeats) whose rows pass the box filter, each once, with their time gap (s) and
    vertical gap (m); and how many distinct ids `raw` held.

    `box` holds the query's window start and end (s), band lower and upper (m), centre unit vector and
    widened angular radius (rad); `vertical_m` includes the tolerance. `seen` marks each id met by this
    `query` (a number no earlier query used), so repeats are skipped without sorting.
    """
    n = raw.shape[0]
    kept = np.empty(n, dtype=np.int64)
    time_gaps, vertical_gaps = np.empty(n), np.empty(n)
    s0, s1, lo, hi, qx, qy, qz, q_rad = box[0], box[1], box[2], box[3], box[4], box[5], box[6], box[7]
    count = distinct = 0
    for k in range(n):
        i = raw[k]
        if seen[i] == query:
            continue
        seen[i] = query
        distinct += 1
        if not alive[i]:
            continue
        # A NaN (inf - inf, never from valid windows) fails both comparisons: it counts as no gap.
        time_gap = 0.0
        before, after = rows[i, _T0] - s1, s0 - rows[i, _T1]
        if before > time_gap:
            time_gap = before
        if after > time_gap:
            time_gap = after
        if time_gap > time_s:
            continue
        vertical_gap = max(max(rows[i, _A0] - hi, lo - rows[i, _A1]), 0.0)
        if vertical_gap > vertical_m:
            continue
        reach = min(q_rad + rows[i, _CAP], math.pi)
        if rows[i, _X] * qx + rows[i, _Y] * qy + rows[i, _Z] * qz < math.cos(reach):
            continue
        kept[count], time_gaps[count], vertical_gaps[count] = i, time_gap, vertical_gap
        count += 1
    return kept[:count], time_gaps[:count], vertical_gaps[:count], distinct
