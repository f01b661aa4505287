"""The index's grid (`deconflict.domain.grid`): boxes, cells and bucket keys, against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from deconflict.domain import grid
from deconflict.domain.grid import OPEN_SLOT, Box
from tests.domain.test_index import HOTSPOTS, random_outline

GEOD = Geod(ellps="WGS84")


def _cells_by_brute_force(box: Box, level: int) -> set[int]:
    """Every cell of `level` whose lat/lng rectangle (south and west edges in) meets the box, testing each one."""
    size = grid.cell_size_deg(level)
    rows, columns = round(180.0 / size), round(360.0 / size)
    lo, hi = (-180.0, 180.0) if box.full_lng else (box.lng_min, box.lng_max)
    found = set()
    for i in range(rows):
        south = -90.0 + i * size
        if south > box.lat_max or south + size <= box.lat_min:
            continue
        for j in range(columns):
            west = -180.0 + j * size
            # The box's longitudes may run past +-180: try the cell a turn either way too.
            if any(west + turn <= hi and west + turn + size > lo for turn in (-360.0, 0.0, 360.0)):
                found.add(grid.bucket_key(0, (level << 24) | (i << 12) | j))
    return found


def _random_boxes(seed: int, count: int) -> list[Box]:
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(count):
        lat_min = float(rng.uniform(-90.0, 89.0))
        lat_max = min(90.0, lat_min + float(rng.exponential(3.0)))
        lng_min = float(rng.uniform(-185.0, 180.0))
        lng_max = lng_min + float(rng.exponential(4.0))
        boxes.append(Box(lat_min, lat_max, lng_min, lng_max, bool(rng.random() < 0.05)))
    return boxes


@pytest.mark.parametrize("level", [3, 6, 8, 10])
def test_cells_are_those_a_brute_force_search_finds_each_once_in_order(level: int) -> None:
    for box in _random_boxes(level, 40):
        codes = grid.cells(box, level)
        assert set(codes) == _cells_by_brute_force(box, level), box
        assert codes == sorted(codes)  # each once, row by row, columns in order


def test_bucket_keys_are_every_slot_with_every_cell_of_every_level() -> None:
    slots = [-3, 0, 88_000, 88_001, OPEN_SLOT]
    levels = [7, 8, 9, 10]
    for box in _random_boxes(99, 30):
        keys = grid.bucket_keys(box, np.array(levels), np.array(slots)).tolist()
        expected = [grid.bucket_key(s, c) for s in slots for level in levels for c in grid.cells(box, level)]
        assert keys == expected
    # The open slot's keys fit in 64 bits and are apart from every real slot's (year 1 is about slot -2.9 million).
    assert grid.bucket_key(OPEN_SLOT, 0) >= -(2**63)
    assert grid.slots(-62_135_596_800.0, -62_135_596_800.0)[0] > OPEN_SLOT


@pytest.mark.parametrize(("lat", "lng"), HOTSPOTS)
@pytest.mark.parametrize("widen_m", [0.0, 5_000.0])
def test_bounding_box_holds_every_point_within_its_widening_of_the_outline(
    lat: float, lng: float, widen_m: float
) -> None:
    """Points `widen_m` from each vertex in eight directions (pyproj), and the vertices, all lie in the box."""
    rng = np.random.default_rng(7)
    for size_m in (200.0, 20_000.0, 300_000.0):
        outline = random_outline(rng, lat, lng, size_m)
        box = grid.bounding_box(outline, widen_m)
        n = len(outline.dense_lat)
        azimuths = np.repeat(np.arange(0.0, 360.0, 45.0), n)
        far_lng, far_lat, _ = GEOD.fwd(
            np.tile(outline.dense_lng, 8), np.tile(outline.dense_lat, 8), azimuths, np.full(8 * n, widen_m)
        )
        points_lat = np.concatenate([outline.dense_lat, far_lat])
        points_lng = np.concatenate([outline.dense_lng, far_lng])
        assert (points_lat >= box.lat_min).all()
        assert (points_lat <= box.lat_max).all()
        if not box.full_lng:
            # Each longitude, taken the turn that brings it nearest the box, is inside it.
            middle = (box.lng_min + box.lng_max) / 2
            unwrapped = middle + (points_lng - middle + 180.0) % 360.0 - 180.0
            assert (unwrapped >= box.lng_min).all()
            assert (unwrapped <= box.lng_max).all()
