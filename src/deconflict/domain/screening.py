"""Screening many candidates against one outline at once, in a single shared projection.

The exact per-pair method (`separation`) costs a few projections and shapely calls per pair;
with dozens of candidates that dominates a check. Here every candidate is projected in one
geodesic call into the AEQD plane centred on the subject, and the plane tests run vectorised.
Only verdicts that stand under a proven error bound are kept:

* two outlines that overlap by a clear area are in conflict at distance 0 (the projection is a
  continuous bijection, so overlap in the plane is overlap on the ellipsoid; chord errors are
  centimetres);
* a candidate further than the buffer by more than the projection's error is clear;
* a candidate apart, but within the buffer by more than that error, is in conflict, and its
  distance is the plane distance, true to within that error (kept under 0.5 m, else undecided).

The error bound grows with the square of the distance from the frame's centre (the AEQD scale
error is about rho^2 / 6R^2 across the line of sight); it is taken three times larger, plus
10 cm for chords and float noise.

A pair with a circle that this leaves open is measured exactly here, the way `separation` measures
it (from the circle's centre, in the AEQD plane centred there), all such pairs in one geodesic call;
its lens is then drawn in the shared frame. Everything else (touching, polygon pairs within the
error of the buffer, lenses too thin to draw) is left undecided, and the caller measures it exactly
with `separation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.domain import geodesy
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, geojson_many
from deconflict.domain.volumes import Outline

#: Subjects larger than this, or candidates reaching further from the subject's centre, go to the
#: per-pair method: within it the AEQD scale error is below _SCALE_ERROR.
FRAME_REACH_M = 400_000.0
#: Smallest radius of curvature on WGS84 (m), for a conservative scale-error bound.
_R_MIN_M = 6_335_439.0
#: Absolute slack for chords (<= 10 km, so within centimetres of their geodesics) and float noise (m).
_SLACK_M = 0.1
#: Near misses are decided here only when the distance is known to within this (m).
_MAX_DISTANCE_ERROR_M = 0.5
#: Overlaps with at least this area (m²) are clear overlaps; smaller ones are treated as touching.
_CLEAR_OVERLAP_M2 = 10.0
#: Lenses of near misses smaller than this (m²) are not drawn here (the pair is within a hair of its buffer).
_MIN_LENS_AREA_M2 = 1.0
_DISC_QUAD_SEGMENTS = 32
#: Circles widened for the lens of a near miss are drawn with this many vertices.
_LENS_SEGMENTS = 64


def _unit_ring(segments: int) -> FloatArray:
    """Closed ring of unit-circle vertices from +x, clockwise (as `shapely.buffer` draws a point's disc)."""
    angle = -2 * np.pi * np.arange(segments + 1) / segments
    ring = np.column_stack([np.cos(angle), np.sin(angle)])
    ring[-1] = ring[0]
    return ring


_UNIT_RINGS = {segments: _unit_ring(segments) for segments in (_DISC_QUAD_SEGMENTS, _LENS_SEGMENTS)}


@dataclass(frozen=True)
class Verdict:
    """`conflict` is None when undecided; `overlap` and `distance_m` are set for conflicts decided here."""

    conflict: bool | None
    overlap: dict[str, Any] | None = None
    distance_m: float = 0.0


UNDECIDED = Verdict(None)
CLEAR = Verdict(False)


def _discs(xy: FloatArray, radius_m: FloatArray, segments: int = _DISC_QUAD_SEGMENTS) -> npt.NDArray[np.object_]:
    """Plane discs: regular polygons inscribed in each circle (placed as `shapely.buffer` places them)."""
    ring = _UNIT_RINGS[segments]
    coords = (xy[:, None, :] + radius_m[:, None, None] * ring[None, :, :]).reshape(-1, 2)
    ring_offsets = np.arange(len(xy) + 1) * len(ring)
    return _polygons(coords, ring_offsets)


def _widened(shape: Any, circle_radius_m: float, by_m: float) -> Any:
    """`shape` widened by `by_m` for a lens; a circle (radius > 0, centred on the origin) is redrawn larger."""
    if circle_radius_m > 0:
        return _discs(np.zeros((1, 2)), np.array([circle_radius_m + by_m]), _LENS_SEGMENTS)[0]
    return shapely.buffer(shape, by_m, quad_segs=4)


def _polygons(closed_xy: FloatArray, ring_offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Simple polygons from closed rings concatenated in `closed_xy`, ring i at [offsets[i], offsets[i + 1])."""
    polygon_offsets = np.arange(len(ring_offsets))
    made = shapely.from_ragged_array(shapely.GeometryType.POLYGON, closed_xy, (ring_offsets, polygon_offsets))
    return np.asarray(made, dtype=object)


def _closed_polygons(open_xy: FloatArray, ring_sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Simple polygons from open rings (no closing vertex) of the given sizes, concatenated in `open_xy`."""
    open_starts = np.cumsum(ring_sizes) - ring_sizes
    closed_offsets = np.concatenate([[0], np.cumsum(ring_sizes + 1)])
    take = np.arange(closed_offsets[-1]) - np.repeat(np.arange(len(ring_sizes)), ring_sizes + 1)
    take[closed_offsets[1:] - 1] = open_starts  # each ring ends where it started
    return _polygons(open_xy[take], closed_offsets)


def screen(subject: Outline, others: Sequence[Outline], lateral_m: FloatArray) -> list[Verdict]:
    """One verdict per candidate outline, under its lateral buffer."""
    n = len(others)
    if n == 0:
        return []
    if subject.cap_radius_m > FRAME_REACH_M:
        return [UNDECIDED] * n
    lat0, lng0 = subject.center.lat, subject.center.lng
    # One pass over the candidates: centre, radius (0 for polygons), cap radius.
    scalars = np.array([(o.center.lat, o.center.lng, o.radius_m, o.cap_radius_m) for o in others])
    is_circle = np.array([o.is_circle for o in others], dtype=bool)
    radius, cap_radius = scalars[:, 2], scalars[:, 3]
    rings = [o for o in others if not o.is_circle]
    if not subject.is_circle:
        rings.append(subject)
    ring_sizes = np.array([len(o.dense_lat) for o in rings], dtype=np.int64)
    lats = np.concatenate([scalars[:, 0], *(o.dense_lat for o in rings)])
    lngs = np.concatenate([scalars[:, 1], *(o.dense_lng for o in rings)])
    x, y = geodesy.aeqd_forward(lat0, lng0, lats, lngs)
    xy = np.column_stack([x, y])
    centres_xy = xy[:n]
    projected = _closed_polygons(xy[n:], ring_sizes) if len(rings) else np.empty(0, dtype=object)
    drawn = np.empty(n, dtype=object)
    polygon_count = n - int(is_circle.sum())
    drawn[~is_circle] = projected[:polygon_count]
    # Circles are drawn (for the overlap shape only) as plane discs: within _SCALE_ERROR of the truth.
    if polygon_count < n:
        drawn[is_circle] = _discs(centres_xy[is_circle], radius[is_circle])
    # The exact core of each candidate: a circle's centre (its disc is everything within its radius
    # of it) or a polygon itself; likewise for the subject, whose centre is the frame's origin.
    cores = drawn.copy()
    if polygon_count < n:
        cores[is_circle] = shapely.points(centres_xy[is_circle])
    if subject.is_circle:
        subject_core: Any = shapely.Point(0.0, 0.0)
        subject_shape = _discs(np.zeros((1, 2)), np.array([subject.radius_m]))[0]
    else:
        subject_shape = subject_core = projected[-1]
    core_gap = shapely.distance(subject_core, cores)
    gap = core_gap - radius - subject.radius_m
    rho = np.maximum(np.hypot(centres_xy[:, 0], centres_xy[:, 1]) + cap_radius, subject.cap_radius_m)
    scale_error = 3.0 * (rho / _R_MIN_M) ** 2 / 6.0
    error = scale_error * (core_gap + radius + subject.radius_m) + _SLACK_M
    in_frame = rho <= FRAME_REACH_M
    reach = lateral_m + DISTANCE_TOLERANCE_M
    clear = in_frame & (gap > reach + error)
    near = in_frame & (gap > error) & (gap <= reach - error) & (error <= _MAX_DISTANCE_ERROR_M)
    overlap = in_frame & ((gap < -error) | (core_gap == 0.0))
    distance = np.maximum(gap, 0.0)
    # A pair with a circle that the plane leaves open is measured exactly here, as `separation` would.
    open_circles = np.flatnonzero(in_frame & ~(clear | near | overlap) & (is_circle | subject.is_circle))
    if len(open_circles):
        exact = _circle_gaps_m(subject, [others[i] for i in open_circles.tolist()], core_gap[open_circles])
        clear[open_circles[exact > reach[open_circles]]] = True
        apart_within = (exact > DISTANCE_TOLERANCE_M) & (exact <= reach[open_circles])
        near[open_circles[apart_within]] = True
        distance[open_circles[apart_within]] = exact[apart_within]
    verdicts = [UNDECIDED] * n
    for i in np.flatnonzero(clear).tolist():
        verdicts[i] = CLEAR
    decided: list[int] = []
    shapes: list[Any] = []
    near_ids = np.flatnonzero(near)
    if len(near_ids):
        half = lateral_m[near_ids] / 2
        widened = {h: _widened(subject_shape, subject.radius_m, h) for h in set(half.tolist())}
        subject_widened = np.array([widened[h] for h in half.tolist()], dtype=object)
        # A circle widened by h is the circle of radius r + h: drawn directly, finer than a buffered disc.
        others_widened = np.empty(len(near_ids), dtype=object)
        round_ones = is_circle[near_ids]
        others_widened[round_ones] = _discs(
            centres_xy[near_ids[round_ones]], radius[near_ids[round_ones]] + half[round_ones], _LENS_SEGMENTS
        )
        others_widened[~round_ones] = shapely.buffer(drawn[near_ids[~round_ones]], half[~round_ones], quad_segs=4)
        lenses = shapely.intersection(subject_widened, others_widened)
        # A lens too thin to draw in this frame (the pair is nearly at the buffer) is left to the exact method.
        drawable = shapely.area(lenses) >= _MIN_LENS_AREA_M2
        decided.extend(near_ids[drawable].tolist())
        shapes.extend(lenses[drawable].tolist())
    overlapping = np.flatnonzero(overlap)
    if len(overlapping):
        parts = drawn[overlapping]
        shapely.prepare(subject_shape)
        # A candidate wholly inside the subject overlaps it by itself: no intersection to compute.
        inside = shapely.contains_properly(subject_shape, parts)
        overlaps = parts.copy()
        if not inside.all():
            overlaps[~inside] = shapely.intersection(subject_shape, parts[~inside])
        clear_overlap = shapely.area(overlaps) >= _CLEAR_OVERLAP_M2
        decided.extend(overlapping[clear_overlap].tolist())
        shapes.extend(overlaps[clear_overlap].tolist())
    if decided:
        docs = geojson_many(np.array(shapes, dtype=object), lat0, lng0)
        for i, doc in zip(decided, docs, strict=True):
            verdicts[i] = Verdict(True, doc, float(distance[i]))
    return verdicts


def _circle_gaps_m(subject: Outline, others: Sequence[Outline], core_gap_m: FloatArray) -> FloatArray:
    """Exact distances (m) from `subject` to each of `others`, where one of each pair is a circle.

    Measured as `separation` measures them: from the circle's centre, in the AEQD plane centred
    there (so the same numbers), minus the radius; the subject's own frame is that plane when
    the subject is the circle, where `core_gap_m` already holds the distance from its centre.
    """
    if subject.is_circle:
        c = subject.center
        gaps = core_gap_m.copy()
        circles = np.array([o.is_circle for o in others], dtype=bool)
        if circles.any():
            ring = [o for o in others if o.is_circle]
            lat = np.array([o.center.lat for o in ring])
            lng = np.array([o.center.lng for o in ring])
            gaps[circles] = geodesy.distances_from_m(c.lat, c.lng, lat, lng) - np.array([o.radius_m for o in ring])
        return np.maximum(gaps - subject.radius_m, 0.0)
    # The subject is a polygon: project it into the plane of each circle's centre, all in one call.
    size = len(subject.dense_lat)
    lat0 = np.repeat([o.center.lat for o in others], size)
    lng0 = np.repeat([o.center.lng for o in others], size)
    x, y = geodesy.aeqd_forward_each(
        lat0, lng0, np.tile(subject.dense_lat, len(others)), np.tile(subject.dense_lng, len(others))
    )
    projected = _closed_polygons(np.column_stack([x, y]), np.full(len(others), size, dtype=np.int64))
    from_centre: FloatArray = shapely.distance(shapely.Point(0.0, 0.0), projected)
    outside: FloatArray = np.maximum(from_centre - np.array([o.radius_m for o in others]), 0.0)
    return outside
