"""Validation and preparation of 4D volumes (`deconflict.domain.volumes`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from deconflict.domain.errors import InvalidInput
from deconflict.domain.volumes import (
    ALTITUDE_MAX_M,
    ALTITUDE_MIN_M,
    MAX_CAP_RADIUS_M,
    LatLng,
    Limits,
    Outline,
    altitude_band,
    circle_outline,
    circle_outlines,
    polygon_outline,
    polygon_outlines,
    time_window,
)
from tests.domain import reference

GEOD = Geod(ellps="WGS84")
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits()
SQUARE = [LatLng(47.0, 8.0), LatLng(47.0, 8.02), LatLng(47.02, 8.02), LatLng(47.02, 8.0)]


def _equal_area_m2(vertices: list[LatLng], samples: int = 20_000) -> float:
    """Area of the polygon's densely walked geodesic ring in a Lambert azimuthal equal-area plane."""
    ring_lat, ring_lng = reference.polygon([(v.lat, v.lng) for v in vertices]).ring(samples)
    lat0, lng0 = reference.mean_direction(ring_lat, ring_lng)
    to_plane = Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={lat0} +lon_0={lng0} +ellps=WGS84 +units=m", always_xy=True
    )
    x, y = to_plane.transform(ring_lng, ring_lat)
    return float(shapely.Polygon(np.column_stack([x, y])).area)


def _raises_on(field: str) -> pytest.RaisesExc[InvalidInput]:
    return pytest.raises(InvalidInput, check=lambda e: e.field == field)


# --- polygons -----------------------------------------------------------------------------------------


def test_valid_polygon_area_matches_pyproj_and_an_equal_area_projection() -> None:
    outline = polygon_outline(SQUARE, LIMITS)
    area, _ = GEOD.polygon_area_perimeter([v.lng for v in SQUARE], [v.lat for v in SQUARE])
    assert outline.kind == "polygon"
    assert outline.area_m2 == pytest.approx(abs(area), rel=1e-9)
    assert outline.area_m2 == pytest.approx(_equal_area_m2(SQUARE), rel=1e-6)


@pytest.mark.parametrize("reverse", [False, True], ids=["counter-clockwise", "clockwise"])
def test_area_is_the_enclosed_region_whatever_the_winding(reverse: bool) -> None:
    vertices = SQUARE[::-1] if reverse else SQUARE
    assert polygon_outline(vertices, LIMITS).area_m2 == pytest.approx(_equal_area_m2(SQUARE), rel=1e-6)


def test_large_polygon_area_follows_geodesic_edges() -> None:
    vertices = [LatLng(40.0, -10.0), LatLng(40.0, 10.0), LatLng(50.0, 10.0), LatLng(50.0, -10.0)]
    outline = polygon_outline(vertices, Limits(max_area_m2=1e13))
    assert outline.area_m2 == pytest.approx(_equal_area_m2(vertices), rel=1e-5)


def test_closing_vertex_equal_to_the_first_is_tolerated() -> None:
    closed = polygon_outline([*SQUARE, SQUARE[0]], LIMITS)
    open_ring = polygon_outline(SQUARE, LIMITS)
    assert closed.vertices == tuple(SQUARE)
    assert closed.area_m2 == pytest.approx(open_ring.area_m2, rel=1e-12)


def test_closing_vertex_does_not_count_towards_the_vertex_limit() -> None:
    polygon_outline([*SQUARE, SQUARE[0]], Limits(max_vertices=4))


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_three_vertices(count: int) -> None:
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(SQUARE[:count], LIMITS)


def test_closed_ring_of_two_distinct_vertices_is_too_few() -> None:
    with _raises_on("outline_polygon.vertices"):
        polygon_outline([SQUARE[0], SQUARE[1], SQUARE[0]], LIMITS)


def test_consecutive_duplicate_vertices() -> None:
    field = "outline_polygon.vertices"
    with pytest.raises(InvalidInput, match="vertices 1 and 2 are duplicates", check=lambda e: e.field == field):
        polygon_outline([SQUARE[0], SQUARE[1], SQUARE[1], SQUARE[2], SQUARE[3]], LIMITS)


def test_a_last_vertex_within_a_centimetre_of_the_first_is_named_with_it() -> None:
    """The ring closes by itself: its last edge runs back to vertex 0."""
    lat, lng = reference.offset(SQUARE[0].lat, SQUARE[0].lng, 120.0, 0.004)
    with pytest.raises(InvalidInput, match="vertices 4 and 0 are duplicates"):
        polygon_outline([*SQUARE, LatLng(lat, lng)], LIMITS)


def test_nearly_duplicate_vertices_within_a_centimetre() -> None:
    lat, lng = reference.offset(SQUARE[1].lat, SQUARE[1].lng, 30.0, 0.005)
    with _raises_on("outline_polygon.vertices"):
        polygon_outline([SQUARE[0], SQUARE[1], LatLng(lat, lng), SQUARE[2], SQUARE[3]], LIMITS)


def test_repeated_vertex_elsewhere_in_the_ring() -> None:
    with _raises_on("outline_polygon.vertices"):
        polygon_outline([SQUARE[0], SQUARE[1], SQUARE[2], SQUARE[0], SQUARE[3]], LIMITS)


def test_bow_tie_is_self_intersecting() -> None:
    bow_tie = [SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3]]
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(bow_tie, LIMITS)


def test_collinear_vertices_have_zero_area() -> None:
    # Points along one geodesic (a meridian), so the ring encloses nothing.
    collinear = [LatLng(47.0, 8.0), LatLng(47.01, 8.0), LatLng(47.02, 8.0)]
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(collinear, LIMITS)


@pytest.mark.parametrize(
    ("point", "field"),
    [
        (LatLng(math.nan, 8.0), "outline_polygon.vertices[2]"),
        (LatLng(47.0, math.inf), "outline_polygon.vertices[2]"),
        (LatLng(-math.inf, 8.0), "outline_polygon.vertices[2]"),
        (LatLng(90.0001, 8.0), "outline_polygon.vertices[2].lat"),
        (LatLng(-91.0, 8.0), "outline_polygon.vertices[2].lat"),
        (LatLng(47.0, 180.0001), "outline_polygon.vertices[2].lng"),
        (LatLng(47.0, -181.0), "outline_polygon.vertices[2].lng"),
    ],
)
def test_bad_coordinates_name_the_vertex(point: LatLng, field: str) -> None:
    with _raises_on(field):
        polygon_outline([SQUARE[0], SQUARE[1], point, SQUARE[3]], LIMITS)


def test_custom_field_name_prefixes_errors() -> None:
    with _raises_on("extents[1].volume.outline_polygon.vertices"):
        polygon_outline(SQUARE[:2], LIMITS, field_name="extents[1].volume.outline_polygon")


def test_area_over_the_limit() -> None:
    area = polygon_outline(SQUARE, LIMITS).area_m2
    polygon_outline(SQUARE, Limits(max_area_m2=area * 1.001))
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(SQUARE, Limits(max_area_m2=area * 0.999))


def test_vertices_over_the_limit() -> None:
    ring = [LatLng(*reference.offset(47.0, 8.0, az, 1_000.0)) for az in np.arange(0.0, 360.0, 360.0 / 12)]
    polygon_outline(ring, Limits(max_vertices=12))
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(ring, Limits(max_vertices=11))


def test_outline_reaching_too_far_from_its_centre() -> None:
    half = math.degrees(MAX_CAP_RADIUS_M * 1.2 / 6_371_000.0)
    huge = [LatLng(0.0, -half), LatLng(-10.0, 0.0), LatLng(0.0, half), LatLng(10.0, 0.0)]
    with _raises_on("outline_polygon.vertices"):
        polygon_outline(huge, Limits(max_area_m2=1e15))


def test_polygon_enclosing_a_pole_is_accepted_with_its_small_area() -> None:
    ring = [LatLng(89.5, lng) for lng in (0.0, 90.0, 180.0, -90.0)]
    outline = polygon_outline(ring, LIMITS)
    area, _ = GEOD.polygon_area_perimeter([v.lng for v in ring], [v.lat for v in ring])
    assert outline.area_m2 == pytest.approx(abs(area), rel=1e-9)
    assert outline.area_m2 == pytest.approx(_equal_area_m2(ring), rel=1e-5)
    assert outline.cap_radius_m < 60_000.0


def test_polygon_straddling_the_antimeridian() -> None:
    ring = [LatLng(-17.0, 179.99), LatLng(-17.0, -179.99), LatLng(-16.98, -179.99), LatLng(-16.98, 179.99)]
    outline = polygon_outline(ring, LIMITS)
    assert outline.area_m2 == pytest.approx(_equal_area_m2(ring), rel=1e-6)
    assert outline.cap_radius_m < 2_000.0


def _random_polygons(count: int, seed: int) -> list[list[LatLng]]:
    """Star-shaped polygons of 3-13 vertices, 100 m to 600 km across, anywhere (poles and antimeridian included)."""
    rng = np.random.default_rng(seed)
    polygons = []
    while len(polygons) < count:
        lat0, lng0 = rng.uniform(-89.0, 89.0), rng.uniform(-180.0, 180.0)
        k = int(rng.integers(3, 14))
        reach = 10 ** rng.uniform(2, 5.5)
        lng, lat, _ = GEOD.fwd(
            np.full(k, lng0), np.full(k, lat0), np.sort(rng.uniform(0, 360, k)), reach * rng.uniform(0.4, 1, k)
        )
        ring = [LatLng(float(a), float(b)) for a, b in zip(lat, lng, strict=True)]
        try:
            polygon_outline(ring, LIMITS)
        except InvalidInput:
            continue
        polygons.append(ring)
    return polygons


def _same(a: Outline, b: Outline) -> bool:
    return (
        (a.kind, a.vertices, a.center, a.radius_m, a.cap_radius_m, a.area_m2)
        == (b.kind, b.vertices, b.center, b.radius_m, b.cap_radius_m, b.area_m2)
        and np.array_equal(a.dense_lat, b.dense_lat)
        and np.array_equal(a.dense_lng, b.dense_lng)
    )


def test_a_batch_prepares_each_polygon_as_it_would_alone() -> None:
    """A store's outlines are prepared again in batches when it loads: each must come out as it did when filed,
    to the bit, so a check answers the same before and after a restart."""
    polygons = _random_polygons(200, seed=4)
    batch = polygon_outlines(polygons, LIMITS)
    assert all(_same(made, polygon_outline(ring, LIMITS)) for made, ring in zip(batch, polygons, strict=True))
    assert any(len(o.dense_lat) > len(o.vertices) for o in batch)  # some were densified
    # The reach is the farthest point of the dense ring, by geodesic distance from the centre (pyproj).
    for outline in batch:
        n = len(outline.dense_lat)
        _, _, dist = GEOD.inv(
            np.full(n, outline.center.lng), np.full(n, outline.center.lat), outline.dense_lng, outline.dense_lat
        )
        assert outline.cap_radius_m == pytest.approx(float(np.max(dist)), abs=1e-4)


def test_a_batch_reports_the_first_polygon_that_fails_a_check() -> None:
    bow_tie = [SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3]]
    duplicate = [SQUARE[0], SQUARE[1], SQUARE[1], SQUARE[2]]
    with pytest.raises(InvalidInput, match="self-intersecting"):
        polygon_outlines([SQUARE, bow_tie, SQUARE], LIMITS)
    with pytest.raises(InvalidInput, match="duplicates"):  # duplicates are looked for before crossings
        polygon_outlines([SQUARE, bow_tie, duplicate], LIMITS)
    assert polygon_outlines([], LIMITS) == []


# --- circles ------------------------------------------------------------------------------------------


def test_valid_circle_area_matches_a_dense_geodesic_ring() -> None:
    radius_m = 30_000.0
    outline = circle_outline(LatLng(60.0, 25.0), radius_m, LIMITS)
    az = np.linspace(0.0, 360.0, 3600, endpoint=False)
    lng, lat, _ = GEOD.fwd(np.full(az.size, 25.0), np.full(az.size, 60.0), az, np.full(az.size, radius_m))
    ring_area, _ = GEOD.polygon_area_perimeter(lng, lat)
    assert outline.kind == "circle"
    assert outline.cap_radius_m == radius_m
    assert outline.area_m2 == pytest.approx(abs(ring_area), rel=5e-3)


def test_a_batch_prepares_each_circle_as_it_would_alone() -> None:
    rng = np.random.default_rng(6)
    circles = [
        (LatLng(float(rng.uniform(-89.9, 89.9)), float(rng.uniform(-180, 180))), float(10 ** rng.uniform(0, 4.7)))
        for _ in range(100)
    ]
    batch = circle_outlines(circles, LIMITS)
    assert all(_same(made, circle_outline(c, r, LIMITS)) for made, (c, r) in zip(batch, circles, strict=True))
    # Every ring point lies on the circle (pyproj's distance from the centre).
    for outline in batch:
        n = len(outline.dense_lat)
        _, _, dist = GEOD.inv(
            np.full(n, outline.center.lng), np.full(n, outline.center.lat), outline.dense_lng, outline.dense_lat
        )
        assert np.allclose(dist, outline.radius_m, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("radius_m", [0.0, -1.0, math.nan, math.inf, MAX_CAP_RADIUS_M * 1.01])
def test_bad_radius(radius_m: float) -> None:
    with _raises_on("outline_circle.radius.value"):
        circle_outline(LatLng(47.0, 8.0), radius_m, Limits(max_area_m2=1e16))


def test_circle_area_over_the_limit() -> None:
    area = circle_outline(LatLng(47.0, 8.0), 5_000.0, LIMITS).area_m2
    with _raises_on("outline_circle.radius.value"):
        circle_outline(LatLng(47.0, 8.0), 5_000.0, Limits(max_area_m2=area * 0.999))


@pytest.mark.parametrize(
    ("center", "field"),
    [
        (LatLng(math.nan, 8.0), "outline_circle.center"),
        (LatLng(95.0, 8.0), "outline_circle.center.lat"),
        (LatLng(47.0, -200.0), "outline_circle.center.lng"),
    ],
)
def test_bad_circle_centre(center: LatLng, field: str) -> None:
    with _raises_on(field):
        circle_outline(center, 1_000.0, LIMITS)


# --- altitude bands -----------------------------------------------------------------------------------


def test_valid_altitude_band_including_the_range_ends() -> None:
    band = altitude_band(ALTITUDE_MIN_M, ALTITUDE_MAX_M)
    assert (band.lower_m, band.upper_m) == (ALTITUDE_MIN_M, ALTITUDE_MAX_M)
    flat = altitude_band(120.0, 120.0)
    assert flat.lower_m == flat.upper_m == 120.0


def test_lower_above_upper() -> None:
    with _raises_on("volume.altitude_lower"):
        altitude_band(500.0, 400.0)


@pytest.mark.parametrize(
    ("lower_m", "upper_m", "field"),
    [
        (ALTITUDE_MIN_M - 1.0, 100.0, "volume.altitude_lower.value"),
        (0.0, ALTITUDE_MAX_M + 1.0, "volume.altitude_upper.value"),
        (math.nan, 100.0, "volume.altitude_lower.value"),
        (0.0, math.inf, "volume.altitude_upper.value"),
    ],
)
def test_altitude_out_of_range(lower_m: float, upper_m: float, field: str) -> None:
    with _raises_on(field):
        altitude_band(lower_m, upper_m)


# --- time windows -------------------------------------------------------------------------------------


def test_valid_time_window() -> None:
    window = time_window(NOW + timedelta(hours=1), NOW + timedelta(hours=2), NOW)
    assert window.end_s() - window.start_s() == 3600.0


def test_start_in_the_past_is_allowed_while_the_end_is_ahead() -> None:
    time_window(NOW - timedelta(hours=1), NOW + timedelta(seconds=1), NOW)


@pytest.mark.parametrize("end_offset", [timedelta(0), timedelta(minutes=-30)], ids=["equal", "before"])
def test_end_not_after_start(end_offset: timedelta) -> None:
    start = NOW + timedelta(hours=1)
    with _raises_on("time_end"):
        time_window(start, start + end_offset, NOW)


@pytest.mark.parametrize("end", [NOW, NOW - timedelta(minutes=1)], ids=["now", "past"])
def test_end_in_the_past(end: datetime) -> None:
    with _raises_on("extents[0].time_end"):
        time_window(end - timedelta(hours=1), end, NOW, field_name="extents[0]")


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (None, NOW + timedelta(hours=1), "time_start"),
        (NOW, None, "time_end"),
        (None, None, "time_start"),
    ],
)
def test_missing_bounds_when_not_open_ended(start: datetime | None, end: datetime | None, field: str) -> None:
    with _raises_on(field):
        time_window(start, end, NOW)


def test_open_ended_window_may_omit_bounds() -> None:
    open_both = time_window(None, None, NOW, open_ended=True)
    assert (open_both.start_s(), open_both.end_s()) == (-math.inf, math.inf)
    open_end = time_window(NOW, None, NOW, open_ended=True)
    assert open_end.start_s() == NOW.timestamp()


def test_naive_times_are_refused() -> None:
    naive = datetime(2030, 6, 1, 13, 0)  # noqa: DTZ001 - the point of the test
    with _raises_on("time_start"):
        time_window(naive, NOW + timedelta(hours=2), NOW)
