"""Plane shapes: discs as shapely draws them, and intersections that survive GEOS's empty answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from deconflict.domain import plane

# Two valid polygons (metres in a plane) whose overlay GEOS 3.14.1 gets wrong: the triangle lies almost
# wholly inside the quadrilateral, one edge nearly along one of the quadrilateral's, and
# `shapely.intersection` returns an empty polygon. Found while testing `circle_clip`.
TRIANGLE = [
    (3425.737871903024, 54.40335299960043),
    (3725.1074932995157, -804.4088418765537),
    (3463.188359464895, 80.47741084949939),
]
QUADRILATERAL = [
    (3725.1074932995157, -804.4088418765537),
    (3425.737851465164, 54.403411630410105),
    (3463.188310763255, 80.47748373665479),
    (4427.797114279766, 242.41452825633374),
]


def _clipped_area(subject: list[tuple[float, float]], convex: list[tuple[float, float]]) -> float:
    """Area of `subject` clipped to a convex polygon (Sutherland–Hodgman, then the shoelace): an
    independent computation."""
    ccw = shapely.Polygon(convex).exterior.is_ccw
    out = subject
    for (x1, y1), (x2, y2) in zip(convex, convex[1:] + convex[:1], strict=True):

        def side(p: tuple[float, float], x1: float = x1, y1: float = y1, x2: float = x2, y2: float = y2) -> float:
            cross = (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1)
            return cross if ccw else -cross

        points, out = out, []
        for p, q in zip(points, points[1:] + points[:1], strict=True):
            sp, sq = side(p), side(q)
            if sp >= 0:
                out.append(p)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    xs, ys = np.array(out).T
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)


def test_an_overlap_geos_misses_is_redone() -> None:
    a = np.array([shapely.Polygon(TRIANGLE)], dtype=object)
    b = np.array([shapely.Polygon(QUADRILATERAL)], dtype=object)
    assert a[0].is_valid
    assert b[0].is_valid
    (made,) = plane.intersections(a, b)
    expected = _clipped_area(TRIANGLE, QUADRILATERAL)
    assert expected > 19_000  # nearly all of the triangle
    assert made.area == pytest.approx(expected, abs=2.0)  # redone on a 1 mm grid


def test_other_answers_are_shapelys() -> None:
    discs = plane.discs(np.array([[0.0, 0.0], [15.0, 0.0], [40.0, 0.0]]), np.array([10.0, 10.0, 10.0]))
    a = np.array([discs[0], discs[0], discs[0]], dtype=object)
    b = np.array([discs[1], shapely.box(10.0, -5.0, 20.0, 5.0), discs[2]], dtype=object)
    made = plane.intersections(a, b)
    assert all(shapely.equals_exact(m, e, tolerance=0.0) for m, e in zip(made, shapely.intersection(a, b), strict=True))
    assert made[1].area == 0  # touching at x = 10: a line, not redone
    assert made[2].is_empty  # apart


def test_closed_polygons_are_the_rings_closed() -> None:
    rng = np.random.default_rng(3)
    sizes = rng.integers(3, 12, 40)
    rings = [rng.uniform(-1e4, 1e4, (int(n), 2)) for n in sizes]
    made = plane.closed_polygons(np.concatenate(rings), sizes)
    for shape, ring in zip(made, rings, strict=True):
        assert shapely.equals_exact(shape, shapely.Polygon(ring), tolerance=0.0)
    assert len(plane.closed_polygons(np.zeros((0, 2)), np.zeros(0, dtype=np.int64))) == 0
