"""Polygons cut to circles by the compiled loop, checked against GEOS on finely drawn circles."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.domain import plane
from deconflict.domain.circle_clip import clip_by_circles, lenses

FINE = 8192  # vertices of the circles GEOS is given as the reference
_MM = 1e-3


def _star(centre: tuple[float, float], radius: float, n: int, rng: np.random.Generator) -> shapely.Polygon:
    """A simple polygon with n vertices, most often not convex."""
    while True:
        az = np.sort(rng.uniform(0.0, 2 * np.pi, n))
        dist = radius * rng.uniform(0.3, 1.0, n)
        star = shapely.Polygon(np.column_stack([centre[0] + dist * np.cos(az), centre[1] + dist * np.sin(az)]))
        if star.is_valid:
            return star


def _bracket(shape: shapely.Geometry, centre: np.ndarray, radius: float, segments: int) -> tuple[float, float]:
    """(area of the result outside the true circle's cut, area of the disc's cut missing from the result) bounds.

    The result lies between the shape cut to the circle's own disc (inscribed, `segments` vertices) and
    the shape cut to the true circle (here a fine polygon drawn around it).
    """
    angle = 2 * np.pi * np.arange(FINE) / FINE
    reach = radius / np.cos(np.pi / FINE)  # a polygon around the circle: every point of the circle is inside
    outer = shapely.Polygon(np.column_stack([centre[0] + reach * np.cos(angle), centre[1] + reach * np.sin(angle)]))
    inner = plane.discs(centre[None, :], np.array([radius]), segments)[0]
    return shapely.intersection(shape, outer), shapely.intersection(shape, inner)


def _check(shapes: list[shapely.Geometry], centres: np.ndarray, radii: np.ndarray, segments: int) -> int:
    made = clip_by_circles(np.array(shapes, dtype=object), centres, radii, np.full(len(shapes), segments))
    decided = 0
    for shape, centre, radius, got in zip(shapes, centres, radii, made, strict=True):
        if got is None:
            continue
        decided += 1
        assert got.is_valid, got.wkt
        most, least = _bracket(shape, centre, radius, segments)
        # Predicates, not overlays: GEOS overlays of shapes sharing nearly collinear edges can come out empty.
        assert shapely.covers(most.buffer(_MM), got)
        assert shapely.covers(got.buffer(_MM), least)
    return decided


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 100_000),
    vertices=st.integers(3, 14),
    segments=st.sampled_from([plane.DISC_SEGMENTS, plane.LENS_SEGMENTS]),
    clockwise=st.booleans(),
)
def test_cut_lies_between_the_disc_and_the_true_circle(
    seed: int, vertices: int, segments: int, clockwise: bool
) -> None:
    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(30):
        star = _star(tuple(rng.uniform(-5_000, 5_000, 2)), float(rng.uniform(1_000, 8_000)), vertices, rng)
        shapes.append(star.reverse() if clockwise else star)
    centres = rng.uniform(-6_000, 6_000, (30, 2))
    radii = rng.uniform(1_000, 9_000, 30)
    assert _check(shapes, centres, radii, segments) >= 3  # partial overlaps are cut here, not all left to GEOS


def test_discs_cut_to_circles_are_lenses_between_the_two_drawings() -> None:
    rng = np.random.default_rng(3)
    centres = rng.uniform(-3_000, 3_000, (200, 2))
    radii = rng.uniform(1_000, 5_000, 200)
    discs = list(plane.discs(rng.uniform(-3_000, 3_000, (200, 2)), rng.uniform(1_000, 5_000, 200)))
    decided = _check(discs, centres, radii, plane.DISC_SEGMENTS)
    assert decided > 100  # partly overlapping discs are the common case, and they are cut here


def test_orientation_does_not_change_the_cut() -> None:
    square = shapely.box(0.0, 0.0, 10.0, 10.0)
    centre, radius = np.array([[10.0, 5.0]]), np.array([4.0])
    ccw = clip_by_circles(np.array([square], dtype=object), centre, radius, np.array([32]))[0]
    cw = clip_by_circles(np.array([square.reverse()], dtype=object), centre, radius, np.array([32]))[0]
    assert ccw is not None
    assert cw is not None
    assert shapely.equals_exact(shapely.normalize(ccw), shapely.normalize(cw), tolerance=1e-9)
    # Half the disc, drawn through the circle's own disc vertices and the two crossings.
    assert abs(ccw.area - plane.discs(centre, radius)[0].area / 2) < 1e-9


def test_undecided_shapes_are_left_to_geos() -> None:
    centre, radius = np.array([0.0, 0.0]), 10.0
    cases = {
        "inside": shapely.box(-1.0, -1.0, 1.0, 1.0),
        "around": shapely.box(-50.0, -50.0, 50.0, 50.0),
        "apart": shapely.box(20.0, 20.0, 30.0, 30.0),
        # A U whose two arms cross the circle: four crossings.
        "four crossings": shapely.Polygon(
            [(-5, -20), (-2, -20), (-2, 20), (2, 20), (2, -20), (5, -20), (5, 30), (-5, 30)]
        ),
        # Grazing the circle: the crossings are too shallow for the disc's chords.
        "grazing": shapely.box(-20.0, 9.99, 20.0, 30.0),
        # A vertex inside, between the circle and the chords of its disc.
        "vertex near the circle": shapely.Polygon([(9.999, 0.0), (20.0, -5.0), (20.0, 5.0)]),
        "with a hole": shapely.box(-20.0, -20.0, 20.0, 5.0).difference(shapely.box(-1.0, -1.0, 1.0, 1.0)),
        "two parts": shapely.MultiPolygon([shapely.box(-20, -1, -5, 1), shapely.box(5, -1, 20, 1)]),
    }
    shapes = np.array(list(cases.values()), dtype=object)
    n = len(shapes)
    made = clip_by_circles(shapes, np.tile(centre, (n, 1)), np.full(n, radius), np.full(n, 32))
    assert dict(zip(cases, (m is None for m in made), strict=True)) == dict.fromkeys(cases, True)


def test_nothing_to_cut() -> None:
    empty = np.empty(0, dtype=object)
    assert len(clip_by_circles(empty, np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=np.int64))) == 0


def test_lenses_lie_between_the_discs_and_the_true_circles() -> None:
    rng = np.random.default_rng(9)
    n = 400
    a_xy, b_xy = rng.uniform(-3_000, 3_000, (n, 2)), rng.uniform(-3_000, 3_000, (n, 2))
    a_r, b_r = rng.uniform(500, 5_000, n), rng.uniform(500, 5_000, n)
    segments = np.where(rng.random(n) < 0.5, plane.DISC_SEGMENTS, plane.LENS_SEGMENTS)
    made = lenses(a_xy, a_r, b_xy, b_r, segments)
    d = np.hypot(*(b_xy - a_xy).T)
    crossing = (d < a_r + b_r) & (d > np.abs(a_r - b_r))
    assert np.array_equal(~shapely.is_missing(made), crossing)  # one holding the other, or apart: not here
    assert crossing.sum() > 100
    for k in np.flatnonzero(crossing):
        got = made[k]
        assert got.is_valid, got.wkt
        angle = 2 * np.pi * np.arange(FINE) / FINE
        outer = [
            shapely.Polygon(np.column_stack([c[0] + r * np.cos(angle), c[1] + r * np.sin(angle)]))
            for c, r in ((a_xy[k], a_r[k] / np.cos(np.pi / FINE)), (b_xy[k], b_r[k] / np.cos(np.pi / FINE)))
        ]
        inner = plane.discs(np.array([a_xy[k], b_xy[k]]), np.array([a_r[k], b_r[k]]), int(segments[k]))
        assert shapely.covers(shapely.intersection(*outer).buffer(_MM), got)
        least = shapely.intersection(*inner)  # empty for a lens thinner than the discs' insets
        assert least.is_empty or shapely.covers(got.buffer(_MM), least)


def test_a_thin_lens_is_drawn_where_the_discs_do_not_meet() -> None:
    """Circles overlapping by 20 m: their 32-gons, inset by up to 24 m, may miss each other; the lens does not."""
    radius = np.array([5_000.0])
    made = lenses(np.array([[0.0, 0.0]]), radius, np.array([[9_980.0, 0.0]]), radius, np.array([32]))
    assert made[0] is not None
    assert made[0].area > 10.0
    assert abs(made[0].bounds[2] - made[0].bounds[0] - 20.0) < 1e-6  # from 4,980 m to 5,000 m along x
