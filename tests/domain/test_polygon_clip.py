"""Polygon pairs intersected by the compiled Greiner-Hormann walk, checked against GEOS's overlay."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.domain import plane
from deconflict.domain.polygon_clip import intersect_pairs


def _star(rng: np.random.Generator, n: int) -> shapely.Polygon:
    """A simple polygon with n vertices (most often not convex), either way round."""
    centre, radius = rng.uniform(-3_000, 3_000, 2), rng.uniform(1_000, 8_000)
    while True:
        az = np.sort(rng.uniform(0.0, 2 * np.pi, n))
        dist = radius * rng.uniform(0.3, 1.0, n)
        star = shapely.Polygon(np.column_stack([centre[0] + dist * np.cos(az), centre[1] + dist * np.sin(az)]))
        if star.is_valid:
            return star.reverse() if rng.random() < 0.5 else star


def _agree_with_geos(a: list[shapely.Geometry], b: list[shapely.Geometry]) -> int:
    """Every decided pair is valid and equals GEOS's overlay; returns how many were decided."""
    left, right = np.array(a, dtype=object), np.array(b, dtype=object)
    made = intersect_pairs(left, right)
    decided = ~shapely.is_missing(made)
    reference = shapely.intersection(left, right)
    assert shapely.is_valid(made[decided]).all()
    # Same region: what differs is float noise along the edges.
    assert (shapely.area(shapely.symmetric_difference(made[decided], reference[decided])) < 1e-6).all()
    # What is left to GEOS is what the walk does not take: results in several parts.
    assert (shapely.get_type_id(reference[~decided]) == shapely.GeometryType.MULTIPOLYGON).all()
    return int(decided.sum())


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 100_000), vertices=st.integers(3, 24), widened=st.booleans())
def test_random_pairs_agree_with_geos(seed: int, vertices: int, widened: bool) -> None:
    rng = np.random.default_rng(seed)
    a = [_star(rng, vertices) for _ in range(40)]
    b = [_star(rng, int(rng.integers(3, 24))) for _ in range(40)]
    if widened:  # lenses of near misses: both outlines widened by half a buffer
        a = list(shapely.buffer(np.array(a, dtype=object), 300.0, quad_segs=4))
    assert _agree_with_geos(a, b) >= 20


def test_discs_and_stars_agree_with_geos() -> None:
    rng = np.random.default_rng(5)
    discs = list(plane.discs(rng.uniform(-3_000, 3_000, (200, 2)), rng.uniform(1_000, 5_000, 200)))
    stars = [_star(rng, int(rng.integers(3, 14))) for _ in range(200)]
    assert _agree_with_geos(discs, stars) > 150


def test_held_and_apart() -> None:
    big, small = shapely.box(0, 0, 10, 10), shapely.box(2, 2, 4, 5)
    far = shapely.box(20, 20, 30, 30)
    made = intersect_pairs(np.array([big, small, big], dtype=object), np.array([small, big, far], dtype=object))
    assert shapely.equals(made[0], small)
    assert shapely.equals(made[1], small)
    assert made[2].is_empty


def test_orientation_does_not_change_the_result() -> None:
    a, b = shapely.box(0, 0, 10, 10), shapely.Polygon([(5, -4), (14, 5), (5, 14), (-4, 5)])
    pairs = [(a, b), (a.reverse(), b), (a, b.reverse()), (a.reverse(), b.reverse())]
    made = intersect_pairs(np.array([p[0] for p in pairs], dtype=object), np.array([p[1] for p in pairs], dtype=object))
    expected = shapely.intersection(a, b)
    for m in made:
        assert m is not None
        assert shapely.equals_exact(shapely.normalize(m), shapely.normalize(expected), tolerance=1e-9)


def test_degenerate_pairs_are_left_to_geos() -> None:
    square = shapely.box(0.0, 0.0, 10.0, 10.0)
    cases = {
        "shared edge": shapely.box(10.0, 0.0, 20.0, 10.0),
        "overlapping collinear edges": shapely.box(5.0, 0.0, 15.0, 5.0),
        "vertex on an edge": shapely.Polygon([(10.0, 5.0), (20.0, 0.0), (20.0, 10.0)]),
        "vertex a hair inside an edge": shapely.Polygon([(10.0 - 1e-12, 5.0), (20.0, 0.0), (20.0, 10.0)]),
        "same vertex": shapely.Polygon([(10.0, 10.0), (20.0, 5.0), (20.0, 20.0)]),
        "result in two parts": shapely.Polygon(
            [(-5, 2), (15, 2), (15, 8), (12, 8), (12, 4), (-2, 4), (-2, 8), (-5, 8)]
        ).difference(shapely.box(4, 0, 6, 20)),
        "with a hole": shapely.box(-5, -5, 15, 15).difference(shapely.box(2, 2, 4, 4)),
    }
    made = intersect_pairs(np.array([square] * len(cases), dtype=object), np.array(list(cases.values()), dtype=object))
    assert dict(zip(cases, (m is None for m in made), strict=True)) == dict.fromkeys(cases, True)


def test_nothing_to_intersect() -> None:
    empty = np.empty(0, dtype=object)
    assert len(intersect_pairs(empty, empty)) == 0
