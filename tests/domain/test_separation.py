"""Exact horizontal separation (`deconflict.domain.separation`) against the independent geodesic reference."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely.affinity
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from deconflict.domain.separation import (
    DISTANCE_TOLERANCE_M,
    Separation,
    geojson_many,
    overlap_geojson,
    separation,
)
from deconflict.domain.volumes import LatLng, Limits, Outline, circle_outline, polygon_outline
from tests.domain import reference

GEOD = Geod(ellps="WGS84")
LIMITS = Limits()
BIG = Limits(max_area_m2=1e14)
#: Agreement required between the engine and the reference wherever the engine says it is exact.
EXACT_M = 1.0
#: How far on either side of a buffer the 'conflict iff distance <= buffer' boundary is probed.
STRADDLE_M = 0.5


def regular(lat: float, lng: float, radius_m: float, n: int = 6, turn_deg: float = 0.0) -> Outline:
    """A polygon whose vertices lie `radius_m` (geodesic) from the centre at evenly spaced azimuths."""
    az = turn_deg + np.arange(n) * 360.0 / n
    return polygon_outline([LatLng(*reference.offset(lat, lng, a, radius_m)) for a in az], BIG)


def poly(*vertices: tuple[float, float]) -> Outline:
    return polygon_outline([LatLng(lat, lng) for lat, lng in vertices], BIG)


def circle(lat: float, lng: float, radius_m: float) -> Outline:
    return circle_outline(LatLng(lat, lng), radius_m, BIG)


def conflicts(sep: Separation, buffer_m: float) -> bool:
    """The decision the conflict engine makes from a separation."""
    return sep.exact and sep.distance_m <= buffer_m + DISTANCE_TOLERANCE_M


def assert_matches_reference(a: Outline, b: Outline) -> float:
    """The engine's distance agrees with the reference, and the buffer decision flips at that distance."""
    expected = reference.separation_m(reference.of_outline(a), reference.of_outline(b))
    for x, y in ((a, b), (b, a)):
        sep = separation(x, y, expected + STRADDLE_M)
        assert sep.exact
        assert sep.distance_m == pytest.approx(expected, abs=EXACT_M)
        assert conflicts(sep, expected + STRADDLE_M)
        if expected > STRADDLE_M:
            assert not conflicts(separation(x, y, expected - STRADDLE_M), expected - STRADDLE_M)
    return expected


def assert_touching(a: Outline, b: Outline) -> None:
    """Touching or overlapping outlines are 0 apart, which is a conflict even without a buffer."""
    assert reference.separation_m(reference.of_outline(a), reference.of_outline(b)) <= 1e-3
    for x, y in ((a, b), (b, a)):
        sep = separation(x, y, 0.0)
        assert sep.exact
        assert sep.distance_m <= DISTANCE_TOLERANCE_M
        assert conflicts(sep, 0.0)


def test_reference_agrees_with_plain_dense_sampling() -> None:
    """Guard the reference itself: on a small pair, all-pairs sampling every ~2 m gives the same answer."""
    a, b = regular(46.0, 7.0, 300.0, n=5), regular(46.004, 7.005, 250.0, n=4, turn_deg=10.0)
    ra, rb = reference.of_outline(a), reference.of_outline(b)
    assert isinstance(ra, reference.Polygon)
    assert isinstance(rb, reference.Polygon)
    exact = reference.separation_m(ra, rb)
    sampled = reference.dense_sample_separation_m(ra, rb, 1_000)
    assert 100.0 < exact <= sampled + 1e-6
    assert sampled - exact < 0.05


# --- separated, touching, nested, crossing ------------------------------------------------------------


@pytest.mark.parametrize("gap_m", [10.0, 100.0, 1_000.0, 10_000.0, 50_000.0])
@pytest.mark.parametrize(("lat", "lng"), [(0.0, 0.0), (47.4, 8.5), (-71.0, -60.0)])
def test_separated_polygons(gap_m: float, lat: float, lng: float) -> None:
    a = regular(lat, lng, 2_000.0, n=5, turn_deg=7.0)
    b_lat, b_lng = reference.offset(lat, lng, 63.0, 2_000.0 + 3_000.0 + gap_m)
    b = regular(b_lat, b_lng, 3_000.0, n=4, turn_deg=20.0)
    expected = assert_matches_reference(a, b)
    assert expected > gap_m  # the vertices reach their radius; the edges between them stay inside it


def test_far_apart_is_a_lower_bound_beyond_the_threshold() -> None:
    a, b = regular(10.0, 10.0, 1_000.0), regular(10.0, 10.5, 1_000.0)
    expected = reference.separation_m(reference.of_outline(a), reference.of_outline(b))
    sep = separation(a, b, 1_000.0)
    assert not sep.exact
    assert 1_000.0 < sep.distance_m <= expected


def test_polygons_sharing_an_edge() -> None:
    a = poly((47.0, 8.0), (47.0, 8.1), (47.1, 8.1), (47.1, 8.0))
    b = poly((47.0, 8.1), (47.0, 8.2), (47.1, 8.2), (47.1, 8.1))
    assert_touching(a, b)


def test_polygon_touching_along_part_of_an_edge() -> None:
    # b's west edge lies on a's east edge (a meridian, so a geodesic) without sharing vertices.
    a = poly((47.0, 8.0), (47.0, 8.1), (47.1, 8.1), (47.1, 8.0))
    b = poly((47.03, 8.1), (47.02, 8.2), (47.08, 8.2), (47.07, 8.1))
    assert_touching(a, b)


def test_polygons_sharing_a_single_vertex() -> None:
    a = poly((47.0, 8.0), (47.0, 8.1), (47.1, 8.1), (47.1, 8.0))
    b = poly((47.1, 8.1), (47.15, 8.2), (47.2, 8.1))
    assert_touching(a, b)


def test_vertex_touching_the_middle_of_an_edge() -> None:
    a = poly((47.0, 8.0), (47.0, 8.1), (47.1, 8.1), (47.1, 8.0))
    b = poly((47.05, 8.1), (47.0, 8.2), (47.1, 8.2))
    assert_touching(a, b)


@pytest.mark.parametrize("inner_kind", ["polygon", "circle"])
def test_nested_outline_is_zero_apart(inner_kind: str) -> None:
    outer = regular(-33.9, 151.2, 20_000.0, n=7)
    inner = regular(-33.9, 151.25, 1_000.0) if inner_kind == "polygon" else circle(-33.9, 151.25, 1_000.0)
    assert_touching(outer, inner)


def test_polygon_inside_a_large_circle_is_zero_apart() -> None:
    assert_touching(circle(35.0, 139.0, 40_000.0), regular(35.1, 139.1, 2_000.0))


def test_crossing_polygons_with_no_vertex_inside_the_other() -> None:
    # A plus sign: each long thin rectangle crosses the other, yet no vertex lies inside the other.
    across = poly((51.49, -0.3), (51.49, 0.3), (51.51, 0.3), (51.51, -0.3))
    along = poly((51.3, -0.01), (51.3, 0.01), (51.7, 0.01), (51.7, -0.01))
    assert_touching(across, along)
    g = overlap_geojson(across, along, 0.0)
    assert g is not None
    assert g["type"] == "Polygon"


# --- circles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gap_m", [0.0, 25.0, 3_000.0, 40_000.0])
@pytest.mark.parametrize(("lat", "lng"), [(0.0, 0.0), (-45.0, 170.0), (78.0, 15.0)])
def test_circle_to_circle_is_centre_distance_minus_radii(gap_m: float, lat: float, lng: float) -> None:
    r1, r2 = 5_000.0, 12_000.0
    lat2, lng2 = reference.offset(lat, lng, 200.0, r1 + r2 + gap_m)
    a, b = circle(lat, lng, r1), circle(lat2, lng2, r2)
    _, _, centres_m = GEOD.inv(lng, lat, lng2, lat2)
    sep = separation(a, b, gap_m + STRADDLE_M)
    assert sep.exact
    assert sep.distance_m == pytest.approx(max(0.0, centres_m - r1 - r2), abs=1e-6)
    assert conflicts(sep, gap_m)
    if gap_m > STRADDLE_M:
        assert not conflicts(separation(a, b, gap_m - STRADDLE_M), gap_m - STRADDLE_M)


@pytest.mark.parametrize("gap_m", [10.0, 500.0, 20_000.0])
@pytest.mark.parametrize(("lat", "lng"), [(1.0, 103.8), (64.1, -21.9), (-54.8, -68.3)])
def test_polygon_to_circle(gap_m: float, lat: float, lng: float) -> None:
    a = regular(lat, lng, 4_000.0, n=5, turn_deg=11.0)
    c_lat, c_lng = reference.offset(lat, lng, 150.0, 4_000.0 + 2_500.0 + gap_m)
    assert_matches_reference(a, circle(c_lat, c_lng, 2_500.0))


@pytest.mark.parametrize("radius_m", [500_000.0, 2_000_000.0])
@pytest.mark.parametrize("gap_m", [0.9, 30.0])
def test_large_circle_and_a_polygon_edge_far_from_its_centre(radius_m: float, gap_m: float) -> None:
    # A 200 km edge square to the circle's radius, `gap_m` outside it: its middle is the closest point.
    mid = reference.offset(0.0, 0.0, 45.0, radius_m + gap_m)
    _, back, _ = GEOD.inv(0.0, 0.0, mid[1], mid[0])
    outward = back + 180.0
    ends = [reference.offset(*mid, outward + turn, 100_000.0) for turn in (90.0, -90.0)]
    far = [reference.offset(*end, outward, 50_000.0) for end in ends[::-1]]
    square = polygon_outline([LatLng(*p) for p in (*ends, *far)], BIG)
    assert assert_matches_reference(circle(0.0, 0.0, radius_m), square) == pytest.approx(gap_m, abs=1e-3)


def test_circle_overlapping_a_polygon_edge() -> None:
    a = regular(1.0, 103.8, 4_000.0, n=5)
    c_lat, c_lng = reference.offset(1.0, 103.8, 0.0, 4_000.0)
    assert_touching(a, circle(c_lat, c_lng, 300.0))


# --- the antimeridian ---------------------------------------------------------------------------------


def test_polygons_straddling_the_antimeridian() -> None:
    a = poly((-17.0, 179.98), (-17.0, -179.98), (-16.97, -179.98), (-16.97, 179.98))
    b = poly((-16.96, 179.99), (-16.96, -179.97), (-16.93, -179.99))
    assert_matches_reference(a, b)


def test_polygon_and_circle_straddling_the_antimeridian() -> None:
    a = poly((-17.0, 179.98), (-17.0, -179.98), (-16.97, -179.98), (-16.97, 179.98))
    assert_matches_reference(a, circle(-16.94, -179.999, 1_500.0))
    assert_touching(a, circle(-16.985, 180.0, 100.0))


def _either_side_of_the_antimeridian(gap_deg: float) -> tuple[Outline, Outline]:
    west_edge, east_edge = 180.0 - gap_deg / 2, -180.0 + gap_deg / 2
    west = poly((65.0, west_edge - 0.04), (65.0, west_edge), (65.02, west_edge), (65.02, west_edge - 0.04))
    east = poly((65.005, east_edge), (65.005, east_edge + 0.04), (65.015, east_edge + 0.04), (65.015, east_edge))
    return west, east


@pytest.mark.parametrize("gap_deg", [0.0001, 0.002, 0.05])
def test_nearest_points_across_the_antimeridian(gap_deg: float) -> None:
    expected = assert_matches_reference(*_either_side_of_the_antimeridian(gap_deg))
    _, _, across_m = GEOD.inv(180.0 - gap_deg / 2, 65.01, -180.0 + gap_deg / 2, 65.01)
    assert expected == pytest.approx(across_m, rel=1e-3)


def test_touching_at_the_antimeridian_written_as_180_and_minus_180() -> None:
    assert_touching(*_either_side_of_the_antimeridian(0.0))


# --- the poles ----------------------------------------------------------------------------------------


def test_polygons_near_a_pole() -> None:
    a = regular(89.95, 30.0, 1_500.0, n=5)
    b = regular(89.95, -150.0, 1_500.0, n=4)  # on the other side of the pole
    expected = assert_matches_reference(a, b)
    assert 8_000.0 < expected < 9_000.0


def test_polygon_enclosing_the_north_pole() -> None:
    cap = poly((89.5, 0.0), (89.5, 90.0), (89.5, 180.0), (89.5, -90.0))
    assert_touching(cap, circle(90.0, 0.0, 10.0))
    assert_touching(cap, regular(89.9, 100.0, 2_000.0))
    outside = regular(89.3, 45.0, 1_000.0)
    assert_matches_reference(cap, outside)
    assert_matches_reference(cap, circle(89.45, -135.0, 500.0))


def test_polygons_enclosing_the_south_pole_overlap() -> None:
    a = poly((-89.6, 10.0), (-89.6, 130.0), (-89.6, -110.0))
    b = poly((-89.7, 0.0), (-89.7, -90.0), (-89.7, 180.0), (-89.7, 90.0))
    assert_touching(a, b)


def test_small_shapes_across_a_pole() -> None:
    assert_matches_reference(circle(89.99, 0.0, 200.0), poly((89.99, 179.0), (89.985, -170.0), (89.98, 175.0)))


# --- large outlines and long geodesic edges -----------------------------------------------------------


def test_large_squares_meeting_near_a_far_corner() -> None:
    # ~900 km squares: the closest approach is a corner of one against the poleward-bulging top edge of
    # the other, 500+ km from both centres.
    a = poly((-4.0, -4.0), (-4.0, 4.0), (4.0, 4.0), (4.0, -4.0))
    b = poly((4.01, -3.5), (4.01, 4.5), (12.01, 4.5), (12.01, -3.5))
    expected = assert_matches_reference(a, b)
    assert 500.0 < expected < 2_000.0


def test_large_polygons_with_nearly_parallel_edges() -> None:
    a = poly((-4.0, -4.0), (-4.0, 4.0), (4.0, 4.0), (4.0, -4.0))
    b = poly((-3.5, 4.001), (-3.5, 12.0), (4.5, 12.0), (4.5, 4.001))
    assert_matches_reference(a, b)


def test_thousand_kilometre_triangles_tip_to_edge() -> None:
    # b's tip sits 350 m off the middle of a's 1,100 km east edge, along the edge's perpendicular.
    a = poly((30.0, 10.0), (36.0, 20.0), (26.0, 21.0))
    [(mid_lng, mid_lat)] = GEOD.npts(20.0, 36.0, 21.0, 26.0, 1)
    heading, _, _ = GEOD.inv(mid_lng, mid_lat, 21.0, 26.0)
    tip = reference.offset(mid_lat, mid_lng, heading - 90.0, 350.0)
    b = poly(tip, (28.0, 29.0), (36.0, 27.0))
    assert assert_matches_reference(a, b) == pytest.approx(350.0, abs=1e-3)


def test_edges_are_geodesics_not_rhumb_lines() -> None:
    # The top edge joins two points at 50 N; as a geodesic it bulges north to about 51.4 N halfway.
    south, north = 40.0, 50.0
    a = poly((south, -20.0), (south, 20.0), (north, 20.0), (north, -20.0))
    [(apex_lng, apex_lat)] = GEOD.npts(20.0, north, -20.0, north, 1)
    assert apex_lng == pytest.approx(0.0, abs=1e-9)
    assert apex_lat > north + 1.0

    inside_lat = (north + apex_lat) / 2  # north of the rhumb line at 50 N, south of the geodesic
    assert_touching(a, circle(inside_lat, 0.0, 100.0))

    beyond_lat, _ = reference.offset(apex_lat, 0.0, 0.0, 1_200.0)
    gap = assert_matches_reference(a, circle(beyond_lat, 0.0, 200.0))
    assert gap == pytest.approx(1_000.0, abs=1.0)

    # The south edge at 40 N bulges north too, away from a circle just south of its middle.
    below = reference.offset(south, 0.0, 180.0, 500.0)
    assert assert_matches_reference(a, circle(*below, 100.0)) > 500.0


# --- overlap GeoJSON ----------------------------------------------------------------------------------


def _positions(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    shape = shapely.geometry.shape(geometry)
    return [(lat, lng) for lng, lat in shapely.get_coordinates(shape)]


def _assert_valid_geojson(geometry: dict[str, Any] | None, types: set[str]) -> None:
    assert geometry is not None
    assert geometry["type"] in types
    shape = shapely.geometry.shape(geometry)
    assert shape.is_valid
    assert not shape.is_empty
    coords = shapely.get_coordinates(shape)
    assert np.all(np.isfinite(coords))
    assert np.all(np.abs(coords[:, 1]) <= 90.0)


def _assert_lng_continuous(geometry: dict[str, Any]) -> None:
    """No jump of 180 degrees or more between neighbouring positions, except along a pole."""
    lng_lat = shapely.get_coordinates(shapely.geometry.shape(geometry))
    along_pole = (np.abs(lng_lat[:-1, 1]) == 90.0) & (np.abs(lng_lat[1:, 1]) == 90.0)
    assert np.all((np.abs(np.diff(lng_lat[:, 0])) < 180.0) | along_pole)


@pytest.mark.parametrize("buffer_m", [0.0, 800.0])
def test_overlap_of_crossing_polygons_lies_in_both(buffer_m: float) -> None:
    a = regular(47.0, 8.0, 3_000.0, n=5)
    b = regular(47.0, 8.06, 3_000.0, n=4)
    geometry = overlap_geojson(a, b, buffer_m)
    _assert_valid_geojson(geometry, {"Polygon"})
    assert geometry is not None
    ra, rb = reference.of_outline(a), reference.of_outline(b)
    for lat, lng in _positions(geometry)[::4]:
        assert reference.distance_to_m(lat, lng, ra) <= buffer_m / 2 + EXACT_M
        assert reference.distance_to_m(lat, lng, rb) <= buffer_m / 2 + EXACT_M


def test_overlap_within_a_buffer_is_the_lens_between_the_outlines() -> None:
    a = regular(-23.5, -46.6, 2_000.0, n=6)
    lat, lng = reference.offset(-23.5, -46.6, 90.0, 2_000.0 + 1_500.0 + 600.0)
    b = circle(lat, lng, 1_500.0)
    buffer_m = 1_000.0
    assert conflicts(separation(a, b, buffer_m), buffer_m)
    geometry = overlap_geojson(a, b, buffer_m)
    _assert_valid_geojson(geometry, {"Polygon"})
    assert geometry is not None
    ra, rb = reference.of_outline(a), reference.of_outline(b)
    for p_lat, p_lng in _positions(geometry):
        # The circle is drawn as an inscribed 72-gon for display: allow its sagitta.
        assert reference.distance_to_m(p_lat, p_lng, ra) <= buffer_m / 2 + EXACT_M
        assert (
            reference.distance_to_m(p_lat, p_lng, rb) <= buffer_m / 2 + 1_500.0 * (1 - math.cos(math.pi / 72)) + EXACT_M
        )


@pytest.mark.parametrize(
    ("b_vertices", "types"),
    [
        (((47.0, 8.1), (47.0, 8.2), (47.1, 8.2), (47.1, 8.1)), {"LineString", "MultiLineString"}),
        (((47.1, 8.1), (47.15, 8.2), (47.2, 8.1)), {"Point", "LineString", "MultiLineString"}),
    ],
    ids=["shared-edge", "shared-vertex"],
)
def test_overlap_of_touching_polygons_is_where_they_meet(
    b_vertices: tuple[tuple[float, float], ...], types: set[str]
) -> None:
    a = poly((47.0, 8.0), (47.0, 8.1), (47.1, 8.1), (47.1, 8.0))
    b = poly(*b_vertices)
    geometry = overlap_geojson(a, b, 0.0)
    _assert_valid_geojson(geometry, types)
    assert geometry is not None
    for lat, lng in _positions(geometry):
        for shape in (a, b):
            assert reference.distance_to_m(lat, lng, reference.of_outline(shape)) <= 0.05


def test_overlap_of_polygons_sharing_a_long_edge_is_a_line_not_slivers() -> None:
    # A 111 km shared edge is densified from both ends; the float-noise slivers between the two
    # copies must not be reported as zero-area polygons.
    a = poly((0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0))
    b = poly((0.0, 1.0), (0.0, 2.0), (1.0, 2.0), (1.0, 1.0))
    assert_touching(a, b)
    geometry = overlap_geojson(a, b, 0.0)
    _assert_valid_geojson(geometry, {"LineString", "MultiLineString"})
    assert geometry is not None
    assert shapely.geometry.shape(geometry).length == pytest.approx(1.0, abs=1e-6)  # degrees along 1 E


def test_overlap_across_the_antimeridian_has_continuous_longitudes() -> None:
    a = poly((-17.0, 179.95), (-17.0, -179.97), (-16.97, -179.97), (-16.97, 179.95))
    b = poly((-16.99, 179.99), (-16.99, -179.9), (-16.95, -179.9), (-16.95, 179.99))
    geometry = overlap_geojson(a, b, 0.0)
    _assert_valid_geojson(geometry, {"Polygon"})
    assert geometry is not None
    _assert_lng_continuous(geometry)


def test_overlap_around_a_pole_is_closed_through_the_pole() -> None:
    cap = poly((89.5, 0.0), (89.5, 90.0), (89.5, 180.0), (89.5, -90.0))
    inner = poly((89.7, 45.0), (89.7, 135.0), (89.7, -135.0), (89.7, -45.0))
    geometry = overlap_geojson(cap, inner, 0.0)
    _assert_valid_geojson(geometry, {"Polygon"})
    assert geometry is not None
    _assert_lng_continuous(geometry)
    assert max(lat for lat, _ in _positions(geometry)) == 90.0
    # The inner square itself, between its edges and the pole: its edges are geodesics, which bulge poleward
    # (the midpoints are 24 km from the pole, the corners 33 km). Sampled here with pyproj, 200 points an edge.
    corners = [(45.0, 89.7), (135.0, 89.7), (-135.0, 89.7), (-45.0, 89.7), (45.0, 89.7)]
    lng: list[float] = []
    lat: list[float] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        points = [(x0, y0), *GEOD.npts(x0, y0, x1, y1, 200)]
        lng.extend(p[0] for p in points)
        lat.extend(p[1] for p in points)
    lng_turn = np.unwrap(np.array([*lng, 45.0]), period=360.0)
    band_deg2 = float(np.trapezoid(90.0 - np.array([*lat, 89.7]), lng_turn))
    assert shapely.geometry.shape(geometry).area == pytest.approx(abs(band_deg2), rel=0.01)


def test_geojson_of_a_mixed_batch_is_each_shape_unprojected_on_its_own() -> None:
    """A batch of plain polygons with a few that are not (two parts, a hole, a frame across the antimeridian):
    each document is what that shape gives alone, and plain ones are pyproj's inverse of their vertices."""
    square = shapely.Polygon([(0, 0), (2_000, 0), (2_000, 2_000), (0, 2_000)])
    two_parts = shapely.MultiPolygon([square, shapely.affinity.translate(square, 5_000, 0)])
    holed = shapely.Polygon(square.exterior.coords, [[(500, 500), (1_500, 500), (1_500, 1_500), (500, 1_500)]])
    shapes = np.array([square, two_parts, square, holed, square, square], dtype=object)
    lat0 = np.array([47.0, 47.0, -16.9, 10.0, 0.0, -16.9])
    lng0 = np.array([10.0, 10.0, 179.99, 20.0, 0.0, -179.99])
    docs = geojson_many(shapes, lat0, lng0)
    for shape, lat, lng, doc in zip(shapes, lat0, lng0, docs, strict=True):
        assert doc == geojson_many(np.array([shape], dtype=object), lat, lng)[0]
    assert [d["type"] for d in docs] == ["Polygon", "MultiPolygon", "Polygon", "Polygon", "Polygon", "Polygon"]
    assert len(docs[3]["coordinates"]) == 2  # the hole is kept
    for i in (0, 4):  # plain polygons away from the antimeridian: the AEQD inverse, as pyproj computes it
        aeqd = pyproj.Transformer.from_crs(
            pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0[i]} +lon_0={lng0[i]} +ellps=WGS84"),
            "EPSG:4326",
            always_xy=True,
        )
        x, y = np.asarray(shapes[i].exterior.coords).T
        assert np.allclose(docs[i]["coordinates"][0], np.column_stack(aeqd.transform(x, y)), rtol=0, atol=1e-9)
    _assert_lng_continuous(docs[2])


# --- property: random outlines worldwide --------------------------------------------------------------

latitudes = st.one_of(st.floats(-89.9, 89.9), st.floats(80.0, 89.99), st.floats(-89.99, -80.0), st.just(0.0))
longitudes = st.one_of(st.floats(-180.0, 180.0), st.floats(179.5, 180.0), st.floats(-180.0, -179.5))
sizes_m = st.floats(2.0, math.log10(50_000.0)).map(lambda e: 10.0**e)


@st.composite
def outlines_near(draw: st.DrawFn, lat: float, lng: float, size_m: float) -> Outline:
    """A circle, or a star-shaped polygon whose vertices lie between half and all of `size_m` from the centre."""
    if draw(st.booleans()):
        return circle_outline(LatLng(lat, lng), size_m, LIMITS)
    n = draw(st.integers(3, 7))
    turn = draw(st.floats(0.0, 360.0))
    jitter = draw(st.lists(st.floats(-0.3, 0.3), min_size=n, max_size=n))
    reach = draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n))
    vertices = [
        LatLng(*reference.offset(lat, lng, turn + (i + jitter[i]) * 360.0 / n, size_m * reach[i])) for i in range(n)
    ]
    return polygon_outline(vertices, LIMITS)


@st.composite
def outline_pairs(draw: st.DrawFn) -> tuple[Outline, Outline, float]:
    lat, lng = draw(latitudes), draw(longitudes)
    size_a, size_b = draw(sizes_m), draw(sizes_m)
    a = draw(outlines_near(lat, lng, size_a))
    reach_m = size_a + size_b
    apart_m = reach_m + draw(st.one_of(st.floats(-reach_m, 0.0), st.floats(0.0, 2_000.0), st.floats(0.0, 20_000.0)))
    b_lat, b_lng = reference.offset(lat, lng, draw(st.floats(0.0, 360.0)), apart_m)
    b = draw(outlines_near(b_lat, b_lng, size_b))
    within_m = draw(st.sampled_from([0.0, 10.0, 300.0, 1_852.0, 10_000.0, 30_000.0]))
    return a, b, within_m


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(outline_pairs())
def test_random_outlines_agree_with_the_reference(pair: tuple[Outline, Outline, float]) -> None:
    a, b, within_m = pair
    expected = reference.separation_m(reference.of_outline(a), reference.of_outline(b))
    sep = separation(a, b, within_m)
    if sep.exact:
        assert sep.distance_m == pytest.approx(expected, abs=EXACT_M)
    else:
        assert within_m < sep.distance_m <= expected + 1e-6
    if expected <= within_m:
        assert sep.exact
        assert conflicts(sep, within_m)
