"""GeoJSON laid out for a map near the antimeridian and the poles (`deconflict.domain.lng_continuity`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely.geometry
from pyproj import Geod

from deconflict.domain.lng_continuity import continuous

GEOD = Geod(ellps="WGS84")


def _ring(doc: dict[str, Any]) -> np.ndarray:
    return np.asarray(doc["coordinates"][0], dtype=np.float64)


def _same_places(a: np.ndarray, b: np.ndarray) -> bool:
    """The same positions once longitudes are taken modulo a turn (as sets: a ring may start elsewhere)."""
    key = {(round(lng % 360.0, 9), round(lat, 9)) for lng, lat in a}
    return key == {(round(lng % 360.0, 9), round(lat, 9)) for lng, lat in b}


def test_a_ring_across_the_antimeridian_is_continuous_and_closed_exactly() -> None:
    raw = [[179.99, -17.0], [-179.98, -17.0], [-179.98, -16.97], [179.99, -16.97], [179.99, -17.0]]
    doc = continuous({"type": "Polygon", "coordinates": [raw]})
    ring = _ring(doc)
    assert np.all(np.abs(np.diff(ring[:, 0])) < 180.0)
    assert ring[0].tolist() == ring[-1].tolist()
    assert _same_places(ring, np.asarray(raw))
    assert ring[1, 0] == -179.98 + 360.0  # moved by a whole turn, nothing else
    assert shapely.geometry.shape(doc).is_valid


def test_a_ring_around_a_pole_is_cut_where_it_crosses_a_meridian_once() -> None:
    """A ring round the north pole whose longitudes double back just after its first vertex: laid out from
    there, it would cross itself; cut at a meridian it crosses once, it is the region between it and the pole."""
    lng = [-50.0, -48.0, -60.0, -120.0, -180.0, 120.0, 60.0, 0.0, -50.0]  # -50 -> -48 doubles back
    lat = [89.96, 89.95, 89.961, 89.962, 89.963, 89.962, 89.961, 89.96, 89.96]
    raw = [[a, b] for a, b in zip(lng, lat, strict=True)]
    doc = continuous({"type": "Polygon", "coordinates": [raw]})
    shape = shapely.geometry.shape(doc)
    assert shape.is_valid
    ring = _ring(doc)
    assert ring[0].tolist() == ring[-1].tolist()
    assert np.ptp(ring[:, 0]) == 360.0  # one whole turn, closed along the pole
    assert ring[:, 1].max() == 90.0
    along = ring[ring[:, 1] < 90.0]
    assert {(round(a % 360.0, 9), round(b, 9)) for a, b in raw} <= {
        (round(a % 360.0, 9), round(b, 9)) for a, b in along
    }
    # Near the pole is inside at every longitude of the turn; below the ring is outside.
    west, east = ring[:, 0].min(), ring[:, 0].max()
    for x in np.linspace(west + 1.0, east - 1.0, 12):
        assert shape.contains(shapely.Point(x, 89.99))
        assert not shape.contains(shapely.Point(x, 89.9))


def test_positions_and_collections_pass_through() -> None:
    point = {"type": "Point", "coordinates": [179.5, 10.0]}
    assert continuous(point) == point
    lines = {"type": "MultiLineString", "coordinates": [[[179.9, 0.0], [-179.9, 0.0]], [[10.0, 1.0], [10.0, 2.0]]]}
    assert continuous(lines)["coordinates"] == [[[179.9, 0.0], [180.1, 0.0]], [[10.0, 1.0], [10.0, 2.0]]]


def test_an_edge_that_sweeps_many_degrees_near_a_pole_is_drawn_along_its_geodesic() -> None:
    """Near a pole a 16 km edge sweeps 90 degrees of longitude: straight in longitude and latitude it would
    run along the parallel, where the geodesic bulges 2 km poleward. Points along the geodesic are put in."""
    raw = [[0.0, 89.9], [90.0, 89.9], [90.5, 89.89]]
    line = np.asarray(continuous({"type": "LineString", "coordinates": raw})["coordinates"])
    assert line[0].tolist() == raw[0]  # the ends, and the short edge, as they were
    assert line[-2:].tolist() == raw[1:]
    assert np.all(np.abs(np.diff(line[:-1, 0])) < 3.0)  # about 2 degrees a step (equal lengths, not sweeps)
    _, _, whole = GEOD.inv(0.0, 89.9, 90.0, 89.9)
    _, _, to_point = GEOD.inv(np.zeros(len(line) - 2), np.full(len(line) - 2, 89.9), line[1:-1, 0], line[1:-1, 1])
    _, _, from_point = GEOD.inv(
        line[1:-1, 0], line[1:-1, 1], np.full(len(line) - 2, 90.0), np.full(len(line) - 2, 89.9)
    )
    assert np.allclose(np.asarray(to_point) + np.asarray(from_point), whole, rtol=0, atol=1e-3)  # on the geodesic
    assert line[1:-2, 1].max() > 89.91  # bulging poleward
