"""Tracks against 4D volumes, checked against the independent geodesic reference (tests/domain/reference.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deconflict.domain.intrusion import excess, first_inside_s, near, outside, sample_paths
from deconflict.domain.tactical import Tracks
from deconflict.domain.volumes import (
    AltitudeBand,
    LatLng,
    Limits,
    Outline,
    TimeWindow,
    Volume4D,
    circle_outline,
    polygon_outline,
)
from tests.domain import reference

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
LIMITS = Limits(max_area_m2=1e12, max_vertices=1000)


def volume(
    outline: Outline, lower_m: float = 0.0, upper_m: float = 12_000.0, start: float = -3600, end: float = 3600
) -> Volume4D:
    return Volume4D(
        outline, AltitudeBand(lower_m, upper_m), TimeWindow(T0 + timedelta(seconds=start), T0 + timedelta(seconds=end))
    )


def tracks(
    lat: list[float], lng: list[float], alt: list[float], gs: list[float], trk: list[float], vr: list[float]
) -> Tracks:
    return Tracks.from_reports(np.array(lat), np.array(lng), np.array(alt), np.array(gs), np.array(trk), np.array(vr))


def reference_first_inside(
    paths_lat: np.ndarray, paths_lng: np.ndarray, alt: np.ndarray, t_s: np.ndarray, v: Volume4D
) -> np.ndarray:
    """Per row: the first sample time inside `v`, by the reference containment test (NaN: never)."""
    shape = reference.of_outline(v.outline)
    lat, lng = paths_lat.ravel(), paths_lng.ravel()
    c = v.outline.center
    _, _, from_centre_m = reference.GEOD.inv(np.full(len(lat), c.lng), np.full(len(lat), c.lat), lng, lat)
    maybe = np.flatnonzero(np.asarray(from_centre_m) <= v.outline.cap_radius_m + 1_000.0)  # only to save time
    flat = np.zeros(len(lat), dtype=bool)
    flat[maybe] = shape.contains(lat[maybe], lng[maybe])
    inside = flat.reshape(paths_lat.shape)
    inside &= (alt >= v.altitude.lower_m) & (alt <= v.altitude.upper_m)
    at = T0.timestamp() + t_s
    inside &= ((at >= v.time.start_s()) & (at <= v.time.end_s()))[None, :]
    return np.where(inside.any(axis=1), t_s[np.argmax(inside, axis=1)], np.nan)


def test_entry_into_a_circle_straight_ahead_matches_the_geodesic_distance() -> None:
    zone = volume(circle_outline(LatLng(50.0, 4.0), 5_000.0, LIMITS))
    lng0, lat0, _ = reference.GEOD.fwd(4.0, 50.0, 180.0, 30_000.0)  # 30 km south of the centre
    t = tracks([lat0], [lng0], [3000.0], [200.0], [0.0], [0.0])  # northbound at 200 m/s
    paths = sample_paths(t, T0, 300.0, step_s=1.0)
    entry = first_inside_s(paths, np.array([0]), zone)[0]
    assert entry == pytest.approx((30_000.0 - 5_000.0) / 200.0, abs=1.0)


def test_sampled_paths_follow_the_geodesic() -> None:
    t = tracks([10.0], [179.9], [1000.0], [250.0], [80.0], [5.0])
    paths = sample_paths(t, T0, 120.0, step_s=10.0)
    _, _, dist = reference.GEOD.inv(np.full(13, 179.9), np.full(13, 10.0), paths.lng_deg[0], paths.lat_deg[0])
    assert np.allclose(dist, 250.0 * paths.t_s, atol=1e-3)  # across the antimeridian too
    assert np.allclose(paths.alt_m[0], 1000.0 + 5.0 * paths.t_s)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_entry_agrees_with_the_reference_for_random_tracks_and_polygons(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lat_c, lng_c = rng.uniform(-70, 70), rng.uniform(-180, 180)
    angles = np.sort(rng.uniform(0, 360, 7))
    radii = rng.uniform(5_000, 20_000, 7)
    vertices = [reference.offset(lat_c, lng_c, a, r) for a, r in zip(angles, radii, strict=True)]
    outline = polygon_outline([LatLng(a, b) for a, b in vertices], LIMITS)
    v = volume(outline, 1_000.0, 4_000.0, start=30, end=250)
    n = 200
    starts = [
        reference.offset(lat_c, lng_c, a, d)
        for a, d in zip(rng.uniform(0, 360, n), rng.uniform(0, 60_000, n), strict=True)
    ]
    t = tracks(
        [s[0] for s in starts],
        [s[1] for s in starts],
        list(rng.uniform(0, 5_000, n)),
        list(rng.uniform(50, 300, n)),
        list(rng.uniform(0, 360, n)),
        list(rng.uniform(-20, 20, n)),
    )
    paths = sample_paths(t, T0, 300.0, step_s=2.0)
    rows = np.arange(n)
    got = first_inside_s(paths, rows, v)
    expected = reference_first_inside(paths.lat_deg, paths.lng_deg, paths.alt_m, paths.t_s, v)
    same = (np.isnan(got) & np.isnan(expected)) | (got == expected)
    assert same.mean() >= 0.99, (got[~same], expected[~same])  # a sample within a metre of an edge may differ
    assert np.isfinite(expected).sum() >= 10  # the scenario does produce entries
    assert set(near(t, outline, np.hypot(t.east_mps, t.north_mps) * 300.0)) >= set(
        np.flatnonzero(np.isfinite(expected))
    )


def test_excess_matches_the_reference_distance_to_the_outline() -> None:
    outline = polygon_outline([LatLng(45.0, 5.0), LatLng(45.0, 5.2), LatLng(45.2, 5.2), LatLng(45.2, 5.0)], LIMITS)
    v = volume(outline, 0.0, 3_000.0)
    shape = reference.of_outline(outline)
    for lat, lng in [(45.1, 5.25), (44.97, 5.1), (45.3, 4.9), (45.1, 5.1)]:
        got = excess(lat, lng, 1_000.0, T0, v)
        expected = reference.separation_m(shape, reference.Circle(lat, lng, 0.0))
        assert got.lateral_m == pytest.approx(expected, abs=0.5)
    assert excess(45.1, 5.1, 3_100.0, T0, v).vertical_m == pytest.approx(100.0)
    late = excess(45.1, 5.1, 1_000.0, T0 + timedelta(hours=2), v)
    assert late.time_s == pytest.approx(3600.0)
    assert not late.within(1e9, 1e9)


def test_outside_picks_the_nearest_volume_and_any_volume_within_tolerance_conforms() -> None:
    near_one = volume(circle_outline(LatLng(45.0, 5.0), 1_000.0, LIMITS))
    far_one = volume(circle_outline(LatLng(46.0, 5.0), 1_000.0, LIMITS))
    lng, lat, _ = reference.GEOD.fwd(5.0, 45.0, 90.0, 1_150.0)
    assert outside(float(lat), float(lng), 500.0, T0, (far_one, near_one), 200.0, 0.0) is None
    beyond = outside(float(lat), float(lng), 500.0, T0, (far_one, near_one), 100.0, 0.0)
    assert beyond is not None
    assert beyond.lateral_m == pytest.approx(150.0, abs=0.01)


def test_a_stack_of_extents_conforms_within_the_tolerance_of_any_of_them() -> None:
    """A wide low extent under a narrower high one: 30 m outside the high one's side is within
    tolerance of it, although the low one is nearer laterally (the aircraft is inside its outline)."""
    low = volume(circle_outline(LatLng(45.0, 5.0), 2_000.0, LIMITS), 0.0, 1_000.0)
    high = volume(circle_outline(LatLng(45.0, 5.0), 1_950.0, LIMITS), 1_000.0, 3_000.0)
    lng, lat, _ = reference.GEOD.fwd(5.0, 45.0, 90.0, 1_980.0)
    assert outside(float(lat), float(lng), 1_700.0, T0, (low, high), 100.0, 60.0) is None
