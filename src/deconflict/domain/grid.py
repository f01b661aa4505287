"""The index's grid: hierarchical lat/lng cells (packed into int codes) and time slots.

A cell of level L is 180 / 2**L degrees on a side; its code packs (level, row, column) into one
int, and a bucket key adds a time slot above that (`bucket_key`), so the index looks a bucket up
with one dict access. Boxes are widened bounding boxes of outlines, conservative in both directions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from deconflict.domain.volumes import Outline

MAX_LEVEL = 10  # cell edge 180 / 2**10 deg = 0.18 deg, about 20 km
SLOT_S = 6 * 3600.0
_MAX_SLOTS_PER_ENTRY = 8
OPEN_SLOT = -(2**62)  # entries with unbounded or very long windows
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
    # A lower bound on the distance to the nearer pole: a degree of meridian is never shorter than this.
    to_pole = (90.0 - abs(c.lat)) * _METRES_PER_DEG_LAT
    if to_pole <= outline.cap_radius_m + margin:
        polar = c.lat > 0
        lat_lo = -90.0 if not polar else float(outline.dense_lat.min()) - margin / _METRES_PER_DEG_LAT
        lat_hi = 90.0 if polar else float(outline.dense_lat.max()) + margin / _METRES_PER_DEG_LAT
        return Box(max(-90.0, lat_lo), min(90.0, lat_hi), -180.0, 180.0, True)
    dlat = margin / _METRES_PER_DEG_LAT
    lat_lo = max(-90.0, float(outline.dense_lat.min()) - dlat)
    lat_hi = min(90.0, float(outline.dense_lat.max()) + dlat)
    widest_lat = max(abs(lat_lo), abs(lat_hi))
    if widest_lat > 89.0:
        return Box(lat_lo, lat_hi, -180.0, 180.0, True)
    dl = (outline.dense_lng - c.lng + 180.0) % 360.0 - 180.0
    dlng = margin / (_METRES_PER_DEG_LNG_EQUATOR * math.cos(math.radians(widest_lat)))
    lo, hi = c.lng + float(dl.min()) - dlng, c.lng + float(dl.max()) + dlng
    if hi - lo >= 360.0:
        return Box(lat_lo, lat_hi, -180.0, 180.0, True)
    return Box(lat_lo, lat_hi, lo, hi, False)


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
    size = cell_size_deg(level)
    n_lng = round(360.0 / size)
    i_lo = math.floor((box.lat_min + 90.0) / size)
    i_hi = min(math.floor((box.lat_max + 90.0) / size), round(180.0 / size) - 1)
    if box.full_lng:
        js: Iterable[int] = range(n_lng)
    else:
        j_lo = math.floor((box.lng_min + 180.0) / size)
        j_hi = math.floor((box.lng_max + 180.0) / size)
        js = sorted({j % n_lng for j in range(j_lo, j_hi + 1)}) if j_hi - j_lo < n_lng else range(n_lng)
    rows = [(level << _LEVEL_SHIFT) | (i << _ROW_SHIFT) for i in range(i_lo, i_hi + 1)]
    return [row | j for row in rows for j in js]


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
