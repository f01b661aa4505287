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
10 cm for chords and float noise. Everything else (touching, pairs within the error of the
buffer) is left undecided, and the caller measures it exactly with `separation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
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
_DISC_QUAD_SEGMENTS = 32


@dataclass(frozen=True)
class Verdict:
    """`conflict` is None when undecided; `overlap` and `distance_m` are set for conflicts decided here."""

    conflict: bool | None
    overlap: dict[str, Any] | None = None
    distance_m: float = 0.0


UNDECIDED = Verdict(None)
CLEAR = Verdict(False)


def screen(subject: Outline, others: Sequence[Outline], lateral_m: FloatArray) -> list[Verdict]:
    """One verdict per candidate outline, under its lateral buffer."""
    n = len(others)
    if n == 0:
        return []
    if subject.cap_radius_m > FRAME_REACH_M:
        return [UNDECIDED] * n
    lat0, lng0 = subject.center.lat, subject.center.lng
    is_circle = np.array([o.is_circle for o in others])
    radius = np.array([o.radius_m for o in others])
    polygons = [o for o in others if not o.is_circle]
    own = [] if subject.is_circle else [subject]
    sizes = [len(o.dense_lat) for o in polygons]
    lats = np.concatenate([[o.center.lat for o in others], *(o.dense_lat for o in [*polygons, *own])])
    lngs = np.concatenate([[o.center.lng for o in others], *(o.dense_lng for o in [*polygons, *own])])
    x, y = geodesy.aeqd_forward(lat0, lng0, lats, lngs)
    xy = np.column_stack([x, y])
    centres = shapely.points(xy[:n])
    ring_end = n + sum(sizes)
    drawn = np.empty(n, dtype=object)
    if sizes:
        ring_ids = np.repeat(np.arange(len(sizes)), sizes)
        drawn[~is_circle] = shapely.polygons(shapely.linearrings(xy[n:ring_end], indices=ring_ids))
    # Circles are drawn (for the overlap shape only) as plane discs: within _SCALE_ERROR of the truth.
    if is_circle.any():
        drawn[is_circle] = shapely.buffer(centres[is_circle], radius[is_circle], quad_segs=_DISC_QUAD_SEGMENTS // 4)
    # The exact core of each candidate: a circle's centre (its disc is everything within its radius
    # of it) or a polygon itself; likewise for the subject, whose centre is the frame's origin.
    cores = np.where(is_circle, centres, drawn)
    if subject.is_circle:
        subject_core: Any = shapely.Point(0.0, 0.0)
        subject_shape = subject_core.buffer(subject.radius_m, quad_segs=_DISC_QUAD_SEGMENTS // 4)
    else:
        subject_shape = subject_core = shapely.Polygon(xy[ring_end:])
    core_gap = shapely.distance(subject_core, cores)
    gap = core_gap - radius - subject.radius_m
    rho = np.maximum(np.hypot(x[:n], y[:n]) + np.array([o.cap_radius_m for o in others]), subject.cap_radius_m)
    scale_error = 3.0 * (rho / _R_MIN_M) ** 2 / 6.0
    error = scale_error * (core_gap + radius + subject.radius_m) + _SLACK_M
    in_frame = rho <= FRAME_REACH_M
    reach = lateral_m + DISTANCE_TOLERANCE_M
    verdicts = [UNDECIDED] * n
    for i in np.flatnonzero(in_frame & (gap > reach + error)):
        verdicts[i] = CLEAR
    near = np.flatnonzero(in_frame & (gap > error) & (gap <= reach - error) & (error <= _MAX_DISTANCE_ERROR_M))
    if len(near):
        half = lateral_m[near] / 2
        widened = {h: shapely.buffer(subject_shape, h, quad_segs=4) for h in set(half.tolist())}
        subject_widened = np.array([widened[h] for h in half.tolist()], dtype=object)
        lenses = shapely.intersection(subject_widened, shapely.buffer(drawn[near], half, quad_segs=4))
        for i, doc in zip(near, geojson_many(lenses, lat0, lng0), strict=True):
            verdicts[i] = Verdict(True, doc, float(gap[i]))
    overlapping = np.flatnonzero(in_frame & ((gap < -error) | (core_gap == 0.0)))
    if len(overlapping):
        parts = drawn[overlapping]
        shapely.prepare(subject_shape)
        # A candidate wholly inside the subject overlaps it by itself: no intersection to compute.
        inside = shapely.contains_properly(subject_shape, parts)
        shapes = parts.copy()
        if not inside.all():
            shapes[~inside] = shapely.intersection(subject_shape, parts[~inside])
        clear_overlap = shapely.area(shapes) >= _CLEAR_OVERLAP_M2
        docs = geojson_many(shapes[clear_overlap], lat0, lng0)
        for i, doc in zip(overlapping[clear_overlap], docs, strict=True):
            verdicts[i] = Verdict(True, doc, 0.0)
    return verdicts
