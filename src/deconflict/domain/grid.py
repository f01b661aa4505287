"""The index's grid: hierarchical lat/lng cells (packed into int codes) and time slots.

A cell of level L is 180 / 2**L degrees on a side; its code packs (level, row, column) into one
int, and a bucket key adds a time slot above that (`bucket_key`), so the index looks a bucket up
with one dict access. Boxes are widened bounding boxes of outlines, conservative in both directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deconflict.domain.compiled import compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.plane import IntArray
from deconflict.domain.volumes import Outline

MAX_LEVEL = 10  # cell edge 180 / 2**10 deg = 0.18 deg, about 20 km
SLOT_S = 6 * 3600.0
_MAX_SLOTS_PER_ENTRY = 8
#: The slot of entries with unbounded or very long windows: far below any real one (year 1 is slot -2.9
#: million), and small enough that its bucket keys fit in 64 bits, as the compiled `bucket_keys` makes them.
OPEN_SLOT = -(2**34)
_METRES_PER_DEG_LAT = 110_574.0
_METRES_PER_DEG_LNG_EQUATOR = 111_320.0
#: Added all round to every box (m).
MARGIN_M = 100.0
#: A cell's code packs (level, row i, column j) into one int (j < 2**12, i < 2**12, level < 2**4);
#: a bucket's key puts its time slot above that.
_LEVEL_SHIFT = 24
_ROW_SHIFT = 12
SLOT_SHIFT = 28


@dataclass(frozen=True)
class Box:
    lat_min: float
    lat_max: float
    lng_min: float  # may be below -180 or lng_max above 180 when crossing the antimeridian
    lng_max: float
    full_lng: bool


def bounding_box(outline: Outline, widen_m: float) -> Box:
    margin = MARGIN_M + widen_m + (0.002 * outline.radius_m if outline.is_circle else 0.0)
    c = outline.center
    lat_lo, lat_hi, lng_lo, lng_hi, full = _box_kernel(
        outline.dense_lat, outline.dense_lng, c.lat, c.lng, outline.cap_radius_m, margin
    )
    return Box(lat_lo, lat_hi, lng_lo, lng_hi, full)


@compiled
def _box_kernel(
    dense_lat: FloatArray, dense_lng: FloatArray, lat: float, lng: float, cap_radius_m: float, margin_m: float
) -> tuple[float, float, float, float, bool]:
    """(lat min, lat max, lng min, lng max, all longitudes) of the ring about centre (lat, lng), widened by
    `margin_m`; the longitudes run on from the centre's, so they may pass -180 or 180."""
    # A lower bound on the distance to the nearer pole: a degree of meridian is never shorter than this.
    to_pole = (90.0 - abs(lat)) * _METRES_PER_DEG_LAT
    dlat = margin_m / _METRES_PER_DEG_LAT
    if to_pole <= cap_radius_m + margin_m:
        polar = lat > 0
        lat_lo = dense_lat.min() - dlat if polar else -90.0
        lat_hi = 90.0 if polar else dense_lat.max() + dlat
        return max(-90.0, lat_lo), min(90.0, lat_hi), -180.0, 180.0, True
    lat_lo = max(-90.0, dense_lat.min() - dlat)
    lat_hi = min(90.0, dense_lat.max() + dlat)
    widest_lat = max(abs(lat_lo), abs(lat_hi))
    if widest_lat > 89.0:
        return lat_lo, lat_hi, -180.0, 180.0, True
    # Each vertex's longitude from the centre's, in [-180, 180).
    east = west = (dense_lng[0] - lng + 180.0) % 360.0 - 180.0
    for v in range(1, dense_lng.shape[0]):
        d = (dense_lng[v] - lng + 180.0) % 360.0 - 180.0
        east, west = max(east, d), min(west, d)
    dlng = margin_m / (_METRES_PER_DEG_LNG_EQUATOR * math.cos(math.radians(widest_lat)))
    lo, hi = lng + west - dlng, lng + east + dlng
    if hi - lo >= 360.0:
        return lat_lo, lat_hi, -180.0, 180.0, True
    return lat_lo, lat_hi, lo, hi, False


def cell_size_deg(level: int) -> float:
    return 180.0 / (1 << level)


def level_for(box: Box) -> int:
    span = max(box.lat_max - box.lat_min, 360.0 if box.full_lng else box.lng_max - box.lng_min)
    level = MAX_LEVEL
    while level > 0 and cell_size_deg(level) < span:
        level -= 1
    return level


def level_of(code: int) -> int:
    return code >> _LEVEL_SHIFT


def cells(box: Box, level: int) -> list[int]:
    """Codes of the cells of `level` that `box` touches."""
    codes: list[int] = _cells_kernel(box.lat_min, box.lat_max, box.lng_min, box.lng_max, box.full_lng, level).tolist()
    return codes


def cell_count_estimate(box: Box, level: int) -> float:
    """About how many cells of `level` the box touches (a bound; cheap to compute)."""
    size = cell_size_deg(level)
    lng_span = 360.0 if box.full_lng else box.lng_max - box.lng_min
    return ((box.lat_max - box.lat_min) / size + 1) * (lng_span / size + 1)


def bucket_keys(box: Box, levels: IntArray, slots: IntArray) -> IntArray:
    """The bucket keys (`bucket_key`) of every cell of each of `levels` that `box` touches, under each of `slots`."""
    return _keys_kernel(box.lat_min, box.lat_max, box.lng_min, box.lng_max, box.full_lng, levels, slots)


@compiled
def _cells_kernel(lat_min: float, lat_max: float, lng_min: float, lng_max: float, full: bool, level: int) -> IntArray:
    size = 180.0 / (1 << level)
    n_lng = round(360.0 / size)
    i_lo = math.floor((lat_min + 90.0) / size)
    i_hi = min(math.floor((lat_max + 90.0) / size), round(180.0 / size) - 1)
    j_lo, j_hi = math.floor((lng_min + 180.0) / size), math.floor((lng_max + 180.0) / size)
    # Less than a full turn: each column once, in order, wrapped across the antimeridian.
    js = np.arange(n_lng) if full or j_hi - j_lo >= n_lng else np.sort(np.arange(j_lo, j_hi + 1) % n_lng)
    rows = max(i_hi - i_lo + 1, 0)
    codes = np.empty(rows * js.shape[0], dtype=np.int64)
    at = 0
    for i in range(i_lo, i_hi + 1):
        row = (level << _LEVEL_SHIFT) | (i << _ROW_SHIFT)
        for j in js:
            codes[at] = row | j
            at += 1
    return codes


@compiled
def _keys_kernel(
    lat_min: float, lat_max: float, lng_min: float, lng_max: float, full: bool, levels: IntArray, slots: IntArray
) -> IntArray:
    parts = [_cells_kernel(lat_min, lat_max, lng_min, lng_max, full, level) for level in levels]
    total = 0
    for part in parts:
        total += part.shape[0]
    keys = np.empty(total * slots.shape[0], dtype=np.int64)
    at = 0
    for slot in slots:
        high = slot << SLOT_SHIFT
        for part in parts:
            for cell in part:
                keys[at] = high | cell
                at += 1
    return keys


def slots(start_s: float, end_s: float) -> list[int]:
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        return [OPEN_SLOT]
    lo, hi = math.floor(start_s / SLOT_S), math.floor(end_s / SLOT_S)
    if hi - lo + 1 > _MAX_SLOTS_PER_ENTRY:
        return [OPEN_SLOT]
    return list(range(lo, hi + 1))


def bucket_key(slot: int, cell: int) -> int:
    """One int for (time slot, cell code); the slot may be negative (OPEN_SLOT included)."""
    return (slot << SLOT_SHIFT) | cell
