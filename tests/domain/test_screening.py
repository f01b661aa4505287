"""Shared-frame screening: every verdict it decides agrees with the independent brute force."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.domain import circle_clip, geodesy, plane, polygon_clip, screening, short_lines
from deconflict.domain.screening import (
    FRAME_REACH_M,
    Rings,
    Verdict,
    compile_kernels,
    outline_rows,
    screen,
    screen_many,
)
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, separation
from deconflict.domain.volumes import LatLng, Limits, Outline, circle_outline, polygon_outline
from tests.domain import reference

LIMITS = Limits(max_area_m2=float("inf"))


def _star(lat: float, lng: float, radius_m: float, n: int, seed: int) -> Outline:
    rng = np.random.default_rng(seed)
    az = (np.arange(n) + rng.uniform(0.0, 0.8, n)) * (360.0 / n)  # one vertex per sector: a simple star
    dist = radius_m * rng.uniform(0.4, 1.0, n)
    return polygon_outline([LatLng(*reference.offset(lat, lng, a, d)) for a, d in zip(az, dist, strict=True)], LIMITS)


def _lat_lng(polygon: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    ring = np.array(polygon["coordinates"][0][:-1])
    return ring[:, 1], ring[:, 0]


def _around(lat: float, lng: float, seed: int, count: int) -> list[Outline]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        la, ln = reference.offset(lat, lng, rng.uniform(0, 360), rng.uniform(0, 60_000))
        size = float(rng.uniform(500, 20_000))
        out.append(circle_outline(LatLng(la, ln), size, LIMITS) if k % 2 else _star(la, ln, size, 6, seed + k))
    return out


def _check(subject: Outline, others: list[Outline], lateral_m: float) -> tuple[int, int]:
    verdicts = screen(subject, others, np.full(len(others), lateral_m))
    decided = 0
    for other, verdict in zip(others, verdicts, strict=True):
        if verdict.conflict is None:
            continue
        decided += 1
        truth = reference.separation_m(reference.of_outline(subject), reference.of_outline(other))
        if verdict.conflict:
            assert truth == pytest.approx(verdict.distance_m, abs=0.5)
            assert truth <= lateral_m + DISTANCE_TOLERANCE_M
            assert verdict.overlap is not None
            assert shapely.geometry.shape(verdict.overlap).is_valid
        else:
            assert truth > lateral_m + DISTANCE_TOLERANCE_M
    return decided, len(others)


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(
    lat=st.one_of(st.floats(-80, 80), st.just(0.0)),  # exactly on the equator: a disc's first vertex due east
    lng=st.floats(-180, 180),
    subject_is_circle=st.booleans(),
    lateral_m=st.sampled_from([0.0, 500.0, 1852.0, 10_000.0]),
    seed=st.integers(0, 10_000),
)
def test_decided_verdicts_agree_with_brute_force(
    lat: float, lng: float, subject_is_circle: bool, lateral_m: float, seed: int
) -> None:
    subject = (
        circle_outline(LatLng(lat, lng), 15_000, LIMITS) if subject_is_circle else _star(lat, lng, 15_000, 7, seed)
    )
    _check(subject, _around(lat, lng, seed, 8), lateral_m)


def test_most_candidates_are_decided_in_the_shared_frame() -> None:
    subject = _star(48.0, 2.0, 15_000, 7, 1)
    decided, total = _check(subject, _around(48.0, 2.0, 2, 24), 1852.0)
    assert decided >= 0.8 * total


def test_across_the_antimeridian() -> None:
    subject = _star(-17.0, 179.9, 20_000, 6, 3)
    decided, _ = _check(subject, _around(-17.0, 179.9, 4, 12), 1852.0)
    assert decided > 0


def test_touching_is_left_to_the_exact_method() -> None:
    a = polygon_outline([LatLng(0, 0), LatLng(0, 0.1), LatLng(0.1, 0.1), LatLng(0.1, 0)], LIMITS)
    b = polygon_outline([LatLng(0, 0.1), LatLng(0, 0.2), LatLng(0.1, 0.2), LatLng(0.1, 0.1)], LIMITS)
    (verdict,) = screen(a, [b], np.array([0.0]))
    assert verdict.conflict is None


def test_candidates_beyond_the_frame_are_left_to_the_exact_method() -> None:
    subject = _star(10.0, 10.0, 5_000, 5, 5)
    far = circle_outline(LatLng(*reference.offset(10.0, 10.0, 90.0, FRAME_REACH_M + 10_000)), 5_000, LIMITS)
    (verdict,) = screen(subject, [far], np.array([1852.0]))
    assert verdict.conflict is None


@pytest.mark.parametrize("subject_is_circle", [True, False])
def test_pairs_with_a_circle_are_decided_with_the_exact_distance(subject_is_circle: bool) -> None:
    # Large circles far out in the frame: the plane's error bound is too loose to decide them there,
    # so screening measures them from the circle's centre, as `separation` does.
    lat, lng, lateral_m = 47.0, 10.0, 1852.0
    subject = circle_outline(LatLng(lat, lng), 20_000, LIMITS) if subject_is_circle else _star(lat, lng, 20_000, 9, 7)
    rng = np.random.default_rng(11)
    others = []
    for k in range(24):
        # Gaps spread around the buffer, a third of them within 2 m of it.
        gap_m = lateral_m + (float(rng.uniform(-2.0, 2.0)) if k % 3 == 0 else float(rng.uniform(-300.0, 300.0)))
        centre = LatLng(*reference.offset(lat, lng, 15.0 * k, float(rng.uniform(45_000, 60_000))))
        to_subject_m = reference.distance_to_m(centre.lat, centre.lng, reference.of_outline(subject))
        others.append(circle_outline(centre, to_subject_m - gap_m, LIMITS))
    verdicts = screen(subject, others, np.full(len(others), lateral_m))
    conflicts = 0
    for other, verdict in zip(others, verdicts, strict=True):
        exact = separation(subject, other, lateral_m)
        truth = reference.separation_m(reference.of_outline(subject), reference.of_outline(other))
        assert truth == pytest.approx(exact.distance_m, abs=0.5) or not exact.exact
        if exact.distance_m > DISTANCE_TOLERANCE_M and abs(exact.distance_m - lateral_m) > 100.0:
            # Left to the per-pair method: touching, and lenses too thin to draw (a hair inside the buffer).
            assert verdict.conflict is not None
        if verdict.conflict:
            conflicts += 1
            assert verdict.distance_m == pytest.approx(exact.distance_m, abs=1e-6)
            assert verdict.overlap is not None
            assert shapely.geometry.shape(verdict.overlap).area > 0
        elif verdict.conflict is False:
            assert not exact.exact or exact.distance_m > lateral_m + DISTANCE_TOLERANCE_M
    assert 0 < conflicts < len(others)


def test_a_batch_of_subjects_gives_the_verdicts_of_one_screen_each() -> None:
    subjects = [
        _star(48.0, 2.0, 15_000, 7, 1),
        circle_outline(LatLng(48.1, 2.2), 12_000, LIMITS),
        _star(-17.0, 179.9, 20_000, 6, 3),  # its overlaps get continuous longitudes; the others' do not
    ]
    others = [_around(s.center.lat, s.center.lng, 20 + k, 10) for k, s in enumerate(subjects)]
    lateral = [np.full(10, 1852.0), np.full(10, 500.0), np.full(10, 1852.0)]
    alone = [screen(s, o, b) for s, o, b in zip(subjects, others, lateral, strict=True)]
    every = [o for group in others for o in group]
    batch = screen_many(
        subjects, Rings.of(every), outline_rows(every), np.repeat(np.arange(3), 10), np.concatenate(lateral)
    ).listed()
    one_by_one = [v for group in alone for v in group]
    assert [(v.conflict, v.distance_m) for v in batch] == [(v.conflict, v.distance_m) for v in one_by_one]
    # The same regions; a pair of polygons may be cut by GEOS alone and by polygon_clip in a batch, which
    # start their rings at different vertices.
    for b, a in zip(batch, one_by_one, strict=True):
        assert (b.overlap is None) == (a.overlap is None)
        if b.overlap is not None and a.overlap is not None:
            drawn = [shapely.geometry.shape(v.overlap) for v in (b, a)]
            assert drawn[0].symmetric_difference(drawn[1]).area <= 1e-12 * drawn[1].area
    assert sum(v.conflict is True for v in batch) > 0


def test_a_subject_inside_a_candidate_circle_overlaps_it_whole() -> None:
    subject = _star(48.0, 2.0, 3_000, 7, 5)
    around = circle_outline(LatLng(*reference.offset(48.0, 2.0, 30.0, 2_000)), 9_000, LIMITS)
    (verdict,) = screen(subject, [around], np.array([1852.0]))
    assert verdict.conflict is True
    assert verdict.overlap is not None
    drawn = shapely.geometry.shape(verdict.overlap)
    outline = shapely.Polygon(np.column_stack([subject.dense_lng, subject.dense_lat]))
    assert drawn.symmetric_difference(outline).area < 1e-9 * outline.area


def _cut_as_geos_cuts(
    monkeypatch: pytest.MonkeyPatch, subject: Outline, others: list[Outline], segments: int, widen_m: float
) -> list[Verdict]:
    """Screen `others` in one batch, cut by `circle_clip`, and again with GEOS cutting them; the two must agree."""
    calls: list[int] = []
    for name in ("clip_by_circles", "lenses"):
        real = getattr(circle_clip, name)
        monkeypatch.setattr(circle_clip, name, lambda *a, real=real: calls.append(len(a[-1])) or real(*a))
    lateral = np.full(len(others), 1852.0)
    batch = screen(subject, others, lateral)
    assert calls == [len(others)]  # one batch, by circle_clip
    for name in ("clip_by_circles", "lenses"):  # nothing cut here: GEOS intersects the drawn discs
        monkeypatch.setattr(circle_clip, name, lambda *a: np.full(len(a[-1]), None, dtype=object))
    by_geos = screen(subject, others, lateral)
    assert [v.conflict for v in batch] == [v.conflict for v in by_geos]
    for other, b, g in zip(others, batch, by_geos, strict=True):
        assert b.distance_m == g.distance_m
        if b.overlap is None:
            continue
        assert g.overlap is not None
        assert shapely.geometry.shape(b.overlap).is_valid
        # The two drawings differ only between each circle and its disc's chords (crossings on the circles).
        radii = [other.radius_m + widen_m] + ([subject.radius_m + widen_m] if subject.is_circle else [])
        band_m2 = sum(r**2 * (np.pi - segments / 2 * np.sin(2 * np.pi / segments)) for r in radii)
        areas = [geodesy.geodesic_area_m2(*_lat_lng(v.overlap)) for v in (b, g)]
        assert abs(areas[0] - areas[1]) <= band_m2
    return batch


def test_many_overlapping_circles_are_cut_as_geos_cuts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = _star(48.0, 2.0, 15_000, 9, 11)
    rng = np.random.default_rng(12)
    others = [
        circle_outline(LatLng(*reference.offset(48.0, 2.0, az, 12_000)), float(r), LIMITS)
        for az, r in zip(np.linspace(0, 360, 24, endpoint=False), rng.uniform(3_000, 8_000, 24), strict=True)
    ]
    batch = _cut_as_geos_cuts(monkeypatch, subject, others, plane.DISC_SEGMENTS, 0.0)
    assert sum(v.overlap is not None and v.distance_m == 0 for v in batch) >= 16


def test_many_near_missing_circles_get_lenses_cut_as_geos_cuts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = circle_outline(LatLng(48.0, 2.0), 10_000, LIMITS)
    rng = np.random.default_rng(13)
    radii = rng.uniform(2_000, 6_000, 24)
    gaps = rng.uniform(200, 1_600, 24)  # all within the 1,852 m buffer
    others = [
        circle_outline(LatLng(*reference.offset(48.0, 2.0, az, 10_000 + r + gap)), float(r), LIMITS)
        for az, r, gap in zip(np.linspace(0, 360, 24, endpoint=False), radii, gaps, strict=True)
    ]
    batch = _cut_as_geos_cuts(monkeypatch, subject, others, plane.LENS_SEGMENTS, 1852.0 / 2)
    assert all(v.conflict is True and v.overlap is not None and v.distance_m > 0 for v in batch)


def test_compile_kernels_reaches_every_compiled_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the server runs at start-up, so that no filing waits for numba to compile."""
    reached: list[str] = []
    for module, name in (
        (polygon_clip, "intersect_pairs"),
        (circle_clip, "clip_by_circles"),
        (circle_clip, "lenses"),
        (short_lines, "forward"),
        (short_lines, "inverse"),
        (screening, "_vertices_within"),
        (screening, "_classify"),
        (plane, "_close_rings"),
    ):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=name: reached.append(name) or real(*a))
    compile_kernels()
    assert set(reached) == {
        "intersect_pairs",
        "clip_by_circles",
        "lenses",
        "forward",
        "inverse",
        "_vertices_within",
        "_classify",
        "_close_rings",
    }


def _classified_by_numpy(
    core_gap: Any, radius: Any, subject_radius: Any, centre_xy: Any, cap: Any, subject_cap: Any, reach: Any
) -> tuple[Any, Any, Any]:
    """The plane's verdicts as whole-array expressions, written from the module's docstring."""
    gap = core_gap - radius - subject_radius
    rho = np.maximum(np.hypot(centre_xy[:, 0], centre_xy[:, 1]) + cap, subject_cap)
    error = 3.0 * (rho / 6_335_439.0) ** 2 / 6.0 * (core_gap + radius + subject_radius) + 0.1
    in_frame = rho <= FRAME_REACH_M
    kind = np.where(in_frame, 1, 0)
    kind[in_frame & (gap > reach + error)] = 2
    kind[in_frame & (gap > error) & (gap <= reach - error) & (error <= 0.5)] = 3
    kind[in_frame & ((gap < -error) | (core_gap == 0.0))] = 4
    return kind, gap, error


def test_the_compiled_classification_is_the_whole_array_one() -> None:
    """Pairs around every threshold: in and out of the frame, clear, near, overlapping, and in between."""
    rng = np.random.default_rng(8)
    n = 20_000
    radius = np.where(rng.random(n) < 0.5, rng.uniform(100.0, 25_000.0, n), 0.0)
    subject_radius = np.where(rng.random(n) < 0.5, rng.uniform(100.0, 25_000.0, n), 0.0)
    reach = rng.choice([DISTANCE_TOLERANCE_M, 1_852.0 + DISTANCE_TOLERANCE_M, 9_260.0], n)
    # Plane gaps spread around 0, the error and the reach; some cores touching exactly.
    target_gap = np.concatenate([rng.uniform(-2.0, 2.0, n // 2), rng.uniform(-50.0, 10_000.0, n - n // 2)])
    core_gap = np.maximum(target_gap + radius + subject_radius, 0.0)
    core_gap[rng.random(n) < 0.05] = 0.0
    centre_xy = rng.uniform(-450_000.0, 450_000.0, (n, 2))
    cap = rng.uniform(0.0, 30_000.0, n)
    subject_cap = rng.uniform(0.0, 420_000.0, n)
    args = (core_gap, radius, subject_radius, centre_xy, cap, subject_cap, reach)
    kind, gap, error = screening._classify(*args)
    want_kind, want_gap, want_error = _classified_by_numpy(*args)
    np.testing.assert_array_equal(kind, want_kind)
    np.testing.assert_array_equal(gap, want_gap)
    np.testing.assert_array_equal(error, want_error)
    assert set(np.unique(kind).tolist()) == {0, 1, 2, 3, 4}


def test_subjects_within_candidate_discs_are_found_by_their_farthest_vertex() -> None:
    rng = np.random.default_rng(21)
    subjects = np.array(
        [shapely.Polygon(rng.uniform(-3_000, 3_000, (3, 2))) for _ in range(10)]
        + list(plane.discs(np.zeros((2, 2)), np.array([500.0, 2_000.0]))),
        dtype=object,
    )
    owner = rng.integers(0, len(subjects), 300)
    centre_xy = rng.uniform(-4_000, 4_000, (300, 2))
    radius_m = np.where(rng.random(300) < 0.1, 0.0, rng.uniform(500, 9_000, 300))
    found = screening._within_discs(subjects, owner, centre_xy, radius_m)
    inner = radius_m * np.cos(np.pi / plane.DISC_SEGMENTS) * (1.0 - 1e-9)
    drawn = plane.discs(centre_xy, np.maximum(radius_m, 1e-3))
    for k in range(300):
        vertices = shapely.get_coordinates(subjects[owner[k]])
        farthest = np.hypot(*(vertices - centre_xy[k]).T).max()
        assert found[k] == (radius_m[k] > 0 and farthest < inner[k])
        if found[k]:
            assert shapely.contains_properly(drawn[k], subjects[owner[k]])
    assert 20 < found.sum() < 280


@pytest.mark.parametrize("circle_is_subject", [True, False])
def test_a_shallow_sure_overlap_with_a_circle_is_drawn_here(circle_is_subject: bool) -> None:
    """A 2 km wide rectangle reaching 30 m into a 20 km circle, midway between two of its 32-gon's vertices
    (where the chords are 96 m inside the circle): the drawn discs miss each other, so the overlap is drawn
    again with a fine disc instead of being left to the exact per-pair method."""
    centre, bearing = (48.0, 2.0), 90.0 - 360.0 / plane.DISC_SEGMENTS / 2  # midway between two disc vertices
    circle = circle_outline(LatLng(*centre), 20_000.0, LIMITS)
    inner = reference.offset(*centre, bearing, 20_000.0 - 30.0)
    near_side = [reference.offset(*inner, bearing + turn, 1_000.0) for turn in (90.0, -90.0)]
    far_side = [reference.offset(*p, bearing, 2_000.0) for p in reversed(near_side)]
    rectangle = polygon_outline([LatLng(*p) for p in near_side + far_side], LIMITS)
    subject, other = (circle, rectangle) if circle_is_subject else (rectangle, circle)
    (verdict,) = screen(subject, [other], np.array([0.0]))
    assert verdict.conflict is True
    assert verdict.distance_m == 0.0
    assert verdict.overlap is not None
    assert shapely.geometry.shape(verdict.overlap).is_valid
    # The cap within the rectangle: 30 m deep at its middle, 30 - x² / 2r at x from it (5 m at its corners).
    cap_m2 = 2 * (30.0 * 1_000.0 - 1_000.0**3 / (3 * 2 * 20_000.0))
    assert 0.97 * cap_m2 < geodesy.geodesic_area_m2(*_lat_lng(verdict.overlap)) <= cap_m2


def test_rings_taken_are_the_rings_of_those_candidates() -> None:
    outlines = _around(48.0, 2.0, 31, 12)
    picked = np.array([7, 0, 3, 3, 10])
    taken = Rings.of(outlines).take(picked)
    direct = Rings.of([outlines[k] for k in picked.tolist()])
    assert taken.size.tolist() == direct.size.tolist()
    assert taken.lat_lng.tolist() == direct.lat_lng.tolist()
