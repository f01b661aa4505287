"""Coarse space-time index: hierarchical lat/lng cells x time slots, then a vectorised box filter.

Stage 1 (cells): each extent is filed under the cells of the one grid level at which
its bounding box spans at most 2 x 2 cells, and under each time slot its window
touches. A query visits, at every level in use, the cells and slots its widened
box touches.

Stage 2 (boxes): the gathered ids are filtered with numpy on time window, altitude
band and spherical cap (centre + angular radius), all widened by the buffers.

Both stages are conservative: they never drop a pair the exact stage would call a
conflict; `last_stats` shows how much each one pruned.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from deconflict.domain import geodesy
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.separation import DISTANCE_TOLERANCE_M
from deconflict.domain.volumes import Outline, Volume4D

MAX_LEVEL = 10  # cell edge 180 / 2**10 deg = 0.18 deg, about 20 km
SLOT_S = 6 * 3600.0
_MAX_SLOTS_PER_ENTRY = 8
_OPEN_SLOT = -(2**62)  # entries with unbounded or very long windows
_METRES_PER_DEG_LAT = 110_574.0
_METRES_PER_DEG_LNG_EQUATOR = 111_320.0
_MARGIN_M = 100.0
_CAP_SLACK = 1.005  # sphere vs ellipsoid: angular radius from metres, conservatively
#: WGS84 a(1 - e²), the meridional radius of curvature at the equator and the smallest anywhere: a geodesic
#: of length s turns the surface normal by at most s / this, so it converts metres to a safe angular radius.
_MIN_CURVATURE_RADIUS_M = 6_335_439.0


@dataclass(frozen=True)
class Entry:
    """One indexed extent: an operation's extent or a zone's volume."""

    owner_kind: str  # "operation" | "zone"
    owner_id: str
    party_id: str
    extent_index: int
    volume: Volume4D


@dataclass(frozen=True)
class Candidates:
    entries: list[Entry]
    time_gap_s: FloatArray
    vertical_gap_m: FloatArray


@dataclass
class QueryStats:
    total_live: int = 0
    gathered: int = 0
    after_box_filter: int = 0


@dataclass(frozen=True)
class _Box:
    lat_min: float
    lat_max: float
    lng_min: float  # may be below -180 or lng_max above 180 when crossing the antimeridian
    lng_max: float
    full_lng: bool


def _bounding_box(outline: Outline, widen_m: float) -> _Box:
    margin = _MARGIN_M + widen_m + (0.002 * outline.radius_m if outline.is_circle else 0.0)
    c = outline.center
    # A lower bound on the distance to the nearer pole: a degree of meridian is never shorter than this.
    to_pole = (90.0 - abs(c.lat)) * _METRES_PER_DEG_LAT
    if to_pole <= outline.cap_radius_m + margin:
        polar = c.lat > 0
        lat_lo = -90.0 if not polar else float(np.min(outline.dense_lat)) - margin / _METRES_PER_DEG_LAT
        lat_hi = 90.0 if polar else float(np.max(outline.dense_lat)) + margin / _METRES_PER_DEG_LAT
        return _Box(max(-90.0, lat_lo), min(90.0, lat_hi), -180.0, 180.0, True)
    dlat = margin / _METRES_PER_DEG_LAT
    lat_lo = max(-90.0, float(np.min(outline.dense_lat)) - dlat)
    lat_hi = min(90.0, float(np.max(outline.dense_lat)) + dlat)
    widest_lat = max(abs(lat_lo), abs(lat_hi))
    if widest_lat > 89.0:
        return _Box(lat_lo, lat_hi, -180.0, 180.0, True)
    dl = (outline.dense_lng - c.lng + 180.0) % 360.0 - 180.0
    dlng = margin / (_METRES_PER_DEG_LNG_EQUATOR * math.cos(math.radians(widest_lat)))
    lo, hi = c.lng + float(np.min(dl)) - dlng, c.lng + float(np.max(dl)) + dlng
    if hi - lo >= 360.0:
        return _Box(lat_lo, lat_hi, -180.0, 180.0, True)
    return _Box(lat_lo, lat_hi, lo, hi, False)


def _cell_size_deg(level: int) -> float:
    return 180.0 / (1 << level)


def _level_for(box: _Box) -> int:
    span = max(box.lat_max - box.lat_min, 360.0 if box.full_lng else box.lng_max - box.lng_min)
    level = MAX_LEVEL
    while level > 0 and _cell_size_deg(level) < span:
        level -= 1
    return level


def _cells(box: _Box, level: int) -> list[tuple[int, int, int]]:
    size = _cell_size_deg(level)
    n_lng = round(360.0 / size)
    i_lo = math.floor((box.lat_min + 90.0) / size)
    i_hi = min(math.floor((box.lat_max + 90.0) / size), round(180.0 / size) - 1)
    if box.full_lng:
        js: Iterable[int] = range(n_lng)
    else:
        j_lo = math.floor((box.lng_min + 180.0) / size)
        j_hi = math.floor((box.lng_max + 180.0) / size)
        js = sorted({j % n_lng for j in range(j_lo, j_hi + 1)}) if j_hi - j_lo < n_lng else range(n_lng)
    return [(level, i, j) for i in range(i_lo, i_hi + 1) for j in js]


def _slots(start_s: float, end_s: float) -> list[int]:
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        return [_OPEN_SLOT]
    lo, hi = math.floor(start_s / SLOT_S), math.floor(end_s / SLOT_S)
    if hi - lo + 1 > _MAX_SLOTS_PER_ENTRY:
        return [_OPEN_SLOT]
    return list(range(lo, hi + 1))


class _Columns:
    """Growable numpy columns, one row per entry id."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.alive = np.zeros(capacity, dtype=bool)
        self.t0 = np.zeros(capacity)
        self.t1 = np.zeros(capacity)
        self.a0 = np.zeros(capacity)
        self.a1 = np.zeros(capacity)
        self.xyz = np.zeros((capacity, 3))
        self.cap_rad = np.zeros(capacity)

    def append(self, volume: Volume4D) -> int:
        if self.size == len(self.alive):
            self._grow()
        i = self.size
        o = volume.outline
        self.alive[i] = True
        self.t0[i], self.t1[i] = volume.time.start_s(), volume.time.end_s()
        self.a0[i], self.a1[i] = volume.altitude.lower_m, volume.altitude.upper_m
        self.xyz[i] = geodesy.unit_vector(np.array([o.center.lat]), np.array([o.center.lng]))[0]
        self.cap_rad[i] = o.cap_radius_m * _CAP_SLACK / _MIN_CURVATURE_RADIUS_M
        self.size += 1
        return i

    def _grow(self) -> None:
        for name in ("alive", "t0", "t1", "a0", "a1", "cap_rad", "xyz"):
            old = getattr(self, name)
            new = np.zeros((len(old) * 2, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


class SpaceTimeIndex:
    """In-memory candidate index over live operation extents and zones; a cache of the store.

    Not thread-safe: the service calls it only while holding its process lock.
    """

    def __init__(self) -> None:
        self._cols = _Columns()
        self._entries: list[Entry] = []
        # Buckets are typed int64 arrays (array module): appends are cheap and numpy reads them without copying.
        self._buckets: dict[tuple[int, int, int], dict[int, array[int]]] = {}
        self._levels: set[int] = set()
        self._by_owner: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._live = 0
        self._open_entries = 0  # ever filed under _OPEN_SLOT; until one is, queries skip that lookup
        self.last_stats = QueryStats()

    def __len__(self) -> int:
        return self._live

    def add(self, entry: Entry) -> None:
        eid = self._cols.append(entry.volume)
        self._entries.append(entry)
        box = _bounding_box(entry.volume.outline, 0.0)
        level = _level_for(box)
        self._levels.add(level)
        slots = _slots(entry.volume.time.start_s(), entry.volume.time.end_s())
        if slots == [_OPEN_SLOT]:
            self._open_entries += 1
        for cell in _cells(box, level):
            per_slot = self._buckets.setdefault(cell, {})
            for slot in slots:
                bucket = per_slot.get(slot)
                if bucket is None:
                    bucket = per_slot[slot] = array("q")
                bucket.append(eid)
        self._by_owner[(entry.owner_kind, entry.owner_id)].append(eid)
        self._live += 1

    def remove_owner(self, owner_kind: str, owner_id: str) -> None:
        """Drop every extent of an owner (dead ids are skipped by queries)."""
        for eid in self._by_owner.pop((owner_kind, owner_id), []):
            self._cols.alive[eid] = False
            self._live -= 1

    def entries_of(self, owner_kind: str, owner_id: str) -> list[Entry]:
        return [self._entries[eid] for eid in self._by_owner.get((owner_kind, owner_id), [])]

    def candidates(self, volume: Volume4D, *, lateral_m: float, vertical_m: float, time_s: float) -> list[Entry]:
        """Entries whose widened box meets `volume`'s; a superset of the true conflicts."""
        return self.candidates_with_gaps(volume, lateral_m=lateral_m, vertical_m=vertical_m, time_s=time_s).entries

    def candidates_with_gaps(
        self, volume: Volume4D, *, lateral_m: float, vertical_m: float, time_s: float
    ) -> Candidates:
        """`candidates`, with each one's time gap (s) and vertical gap (m) to `volume` (0 when overlapping)."""
        ids = self._gather(volume, lateral_m, time_s)
        cols = self._cols
        stats = QueryStats(total_live=self._live, gathered=len(ids))
        if len(ids) == 0:
            self.last_stats = stats
            return Candidates([], np.zeros(0), np.zeros(0))
        s0, s1 = volume.time.start_s(), volume.time.end_s()
        lo, hi = volume.altitude.lower_m, volume.altitude.upper_m
        o = volume.outline
        q_xyz = geodesy.unit_vector(np.array([o.center.lat]), np.array([o.center.lng]))[0]
        q_rad = (o.cap_radius_m * _CAP_SLACK + lateral_m + _MARGIN_M) / _MIN_CURVATURE_RADIUS_M
        reach = np.minimum(q_rad + cols.cap_rad[ids], math.pi)
        with np.errstate(invalid="ignore"):  # inf - inf for two open-ended windows: no gap
            time_gap = np.nan_to_num(np.maximum(np.maximum(cols.t0[ids] - s1, s0 - cols.t1[ids]), 0.0), nan=0.0)
        vertical_gap = np.maximum(np.maximum(cols.a0[ids] - hi, lo - cols.a1[ids]), 0.0)
        keep = (
            cols.alive[ids]
            & (time_gap <= time_s)
            & (vertical_gap <= vertical_m + DISTANCE_TOLERANCE_M)
            & (cols.xyz[ids] @ q_xyz >= np.cos(reach))
        )
        kept = ids[keep]
        stats.after_box_filter = len(kept)
        self.last_stats = stats
        return Candidates([self._entries[int(i)] for i in kept], time_gap[keep], vertical_gap[keep])

    def _gather(self, volume: Volume4D, lateral_m: float, time_s: float) -> FloatArray:
        box = _bounding_box(volume.outline, lateral_m)
        q_slots = _slots(volume.time.start_s() - time_s, volume.time.end_s() + time_s)
        open_query = q_slots == [_OPEN_SLOT]
        slots = (*q_slots, _OPEN_SLOT) if self._open_entries else tuple(q_slots)
        found: list[array[int]] = []
        for level in self._levels:
            for cell in self._cells_to_visit(box, level):
                per_slot = self._buckets.get(cell)
                if not per_slot:
                    continue
                if open_query:
                    found.extend(per_slot.values())
                    continue
                for slot in slots:
                    bucket = per_slot.get(slot)
                    if bucket:
                        found.append(bucket)
        if not found:
            return np.zeros(0, dtype=np.int64)
        flat = np.concatenate([np.frombuffer(bucket, dtype=np.int64) for bucket in found])
        return np.unique(flat)

    def _cells_to_visit(self, box: _Box, level: int) -> list[tuple[int, int, int]]:
        size = _cell_size_deg(level)
        lng_span = 360.0 if box.full_lng else box.lng_max - box.lng_min
        estimate = ((box.lat_max - box.lat_min) / size + 1) * (lng_span / size + 1)
        if estimate > 4096:
            # Very wide query at a fine level: scan the level's non-empty cells instead.
            wanted = set(_cells(box, level)) if estimate < 250_000 else None
            return [c for c in self._buckets if c[0] == level and (wanted is None or c in wanted)]
        return _cells(box, level)
