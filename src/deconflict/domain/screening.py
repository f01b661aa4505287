"""Screening many candidates against one outline at once, in a single shared projection.

The exact per-pair method (`separation`) costs a few projections and shapely calls per pair;
with dozens of candidates that dominates a check. Here every candidate is projected into the
AEQD plane centred on its subject, and the plane tests run vectorised. Only verdicts that stand
under a proven error bound are kept:

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
its lens is then drawn in the subject's frame with the others. Everything else (touching, polygon
pairs within the error of the buffer, lenses too thin to draw) is left undecided, and the caller
measures it exactly with `separation`.

`screen_many` does this for the candidates of several subjects (the extents of one operation) in
one batch: each subject keeps its own frame; the geodesic and shapely calls are shared.

The shapes of overlaps and lenses are intersections of the drawn outlines, a batch's all at once. Two
circles meet in a lens drawn directly, a pair with one circle is cut to the true circle (`circle_clip`),
polygon pairs are walked by another compiled loop (`polygon_clip`); GEOS takes what those leave (results
in several parts, degenerate contacts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.domain import circle_clip, geodesy, plane, polygon_clip
from deconflict.domain.columns import outline_row
from deconflict.domain.compiled import BoolArray, compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.plane import IntArray
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, geojson_many
from deconflict.domain.volumes import LatLng, Limits, Outline, circle_outline, polygon_outline

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
#: Polygon pairs go to `polygon_clip` from this many on; GEOS is as fast for one or two (the compiled walk's
#: cost is mostly the shapely calls around it, once a batch). Both give the same region: the choice does not show.
_MIN_POLYGON_CLIPS = 3
#: Lenses of near misses smaller than this (m²) are not drawn here (the pair is within a hair of its buffer).
_MIN_LENS_AREA_M2 = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """`conflict` is None when undecided; `overlap` and `distance_m` are set for conflicts decided here."""

    conflict: bool | None
    overlap: dict[str, Any] | None = None
    distance_m: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdicts:
    """The verdicts of a batch, by candidate: `state` 1 (conflict), 0 (clear) or -1 (undecided); and for each
    conflict decided here its distance (`distance_m[k]`) and overlap (`overlap[k]`, None for the others)."""

    state: npt.NDArray[np.int8]
    distance_m: FloatArray
    overlap: list[dict[str, Any] | None]

    @classmethod
    def undecided(cls, n: int) -> Verdicts:
        return cls(np.full(n, -1, dtype=np.int8), np.zeros(n), [None] * n)

    def listed(self) -> list[Verdict]:
        kinds = {1: True, 0: False, -1: None}
        rows = zip(self.state.tolist(), self.overlap, self.distance_m.tolist(), strict=True)
        return [Verdict(kinds[state], overlap, distance if state == 1 else 0.0) for state, overlap, distance in rows]


@dataclass(frozen=True, slots=True)
class Rings:
    """The candidates' polygon rings one after another (`lat_lng`: lat, lng in degrees; open, as
    `Outline.dense_lat` / `dense_lng`), and each candidate's ring size (0 for a circle)."""

    lat_lng: FloatArray
    size: IntArray

    @classmethod
    def of(cls, outlines: Sequence[Outline]) -> Rings:
        polygons = [o for o in outlines if not o.is_circle]
        size = np.array([0 if o.is_circle else len(o.dense_lat) for o in outlines], dtype=np.int64)
        if not polygons:
            return cls(np.zeros((0, 2)), size)
        lat_lng = np.column_stack(
            [np.concatenate([o.dense_lat for o in polygons]), np.concatenate([o.dense_lng for o in polygons])]
        )
        return cls(lat_lng, size)

    def take(self, ids: IntArray) -> Rings:
        """The rings of the candidates `ids`, in that order."""
        start = np.cumsum(self.size) - self.size
        size = self.size[ids]
        at = np.repeat(start[ids] - (np.cumsum(size) - size), size) + np.arange(int(size.sum()))
        return Rings(self.lat_lng[at], size)


def screen(subject: Outline, others: Sequence[Outline], lateral_m: FloatArray) -> list[Verdict]:
    """One verdict per candidate outline, under its lateral buffer."""
    owner = np.zeros(len(others), dtype=np.int64)
    return screen_many([subject], Rings.of(others), outline_rows(others), owner, lateral_m).listed()


def screen_many(
    subjects: Sequence[Outline], rings: Rings, rows: FloatArray, owner: IntArray, lateral_m: FloatArray
) -> Verdicts:
    """`screen` for the candidates of several subjects at once: candidate k is one of `subjects[owner[k]]`'s,
    given by its row (`outline_rows`) and, for a polygon, its ring in `rings`."""
    n = len(rows)
    framed = np.array([s.cap_radius_m <= FRAME_REACH_M for s in subjects], dtype=bool)
    ids = plane.true_at(framed[owner]) if n else np.zeros(0, dtype=np.int64)
    if len(ids) == n:
        return _screen_framed(subjects, rings, rows, owner, lateral_m) if n else Verdicts.undecided(0)
    verdicts = Verdicts.undecided(n)
    if len(ids):
        chosen = _screen_framed(subjects, rings.take(ids), rows[ids], owner[ids], lateral_m[ids])
        verdicts.state[ids] = chosen.state
        verdicts.distance_m[ids] = chosen.distance_m
        for k, overlap in zip(ids.tolist(), chosen.overlap, strict=True):
            verdicts.overlap[k] = overlap
    return verdicts


def _screen_framed(
    subjects: Sequence[Outline], rings: Rings, scalars: FloatArray, owner: IntArray, lateral_m: FloatArray
) -> Verdicts:
    n = len(scalars)
    # Subjects' and candidates' centre, radius (0 for polygons), cap radius.
    own = outline_rows(subjects)
    own_round = own[:, 4] > 0
    is_circle = scalars[:, 4] > 0
    radius, cap_radius = scalars[:, 2], scalars[:, 3]
    subject_radius = own[owner, 2]
    # Project, in one geodesic call: every candidate's centre and every polygon candidate's ring in its
    # subject's frame, then every polygon subject's ring in its own.
    polygon_ids = plane.true_at(~is_circle)
    polygon_subjects = plane.true_at(~own_round)
    own_rings = [subjects[i] for i in polygon_subjects.tolist()]
    ring_frame = np.concatenate([owner[polygon_ids], polygon_subjects])
    own_sizes = np.array([len(o.dense_lat) for o in own_rings], dtype=np.int64)
    ring_sizes = np.concatenate([rings.size[polygon_ids], own_sizes])
    frame = np.concatenate([owner, np.repeat(ring_frame, ring_sizes)])
    lats = np.concatenate([scalars[:, 0], rings.lat_lng[:, 0], *(o.dense_lat for o in own_rings)])
    lngs = np.concatenate([scalars[:, 1], rings.lat_lng[:, 1], *(o.dense_lng for o in own_rings)])
    xy = np.empty((len(lats), 2))
    xy[:, 0], xy[:, 1] = geodesy.aeqd_forward_each(own[frame, 0], own[frame, 1], lats, lngs)
    centres_xy = xy[:n]
    projected = plane.closed_polygons(xy[n:], ring_sizes)
    drawn = np.empty(n, dtype=object)
    drawn[polygon_ids] = projected[: len(polygon_ids)]
    # Circles are drawn (for the overlap shape only) as plane discs: within _SCALE_ERROR of the truth.
    circle_ids = plane.true_at(is_circle)
    drawn[circle_ids] = plane.discs(centres_xy[circle_ids], radius[circle_ids])
    # The exact core of each candidate: a circle's centre (its disc is everything within its radius
    # of it) or a polygon itself; likewise for each subject, whose centre is its frame's origin.
    cores = drawn.copy()
    cores[circle_ids] = shapely.points(centres_xy[circle_ids])
    subject_shape = np.empty(len(subjects), dtype=object)
    subject_shape[polygon_subjects] = projected[len(polygon_ids) :]
    subject_core = subject_shape.copy()
    round_subjects = plane.true_at(own_round)
    origins = np.zeros((len(round_subjects), 2))
    subject_shape[round_subjects] = plane.discs(origins, own[round_subjects, 2])
    subject_core[round_subjects] = shapely.points(origins)
    core_gap = shapely.distance(subject_core[owner], cores)
    reach = lateral_m + DISTANCE_TOLERANCE_M
    kind, gap, error = _classify(core_gap, radius, subject_radius, centres_xy, cap_radius, own[owner, 3], reach)
    clear, near, overlap = kind == _CLEAR, kind == _NEAR, kind == _OVERLAP
    distance = np.maximum(gap, 0.0)
    # A pair with a circle that the plane leaves open is measured exactly here, as `separation` would.
    open_circles = plane.true_at((kind == _OPEN) & (is_circle | own_round[owner]))
    if len(open_circles):
        exact = _circle_gaps_m(subjects, own, owner[open_circles], scalars[open_circles], core_gap[open_circles])
        clear[open_circles[exact > reach[open_circles]]] = True
        apart_within = (exact > DISTANCE_TOLERANCE_M) & (exact <= reach[open_circles])
        near[open_circles[apart_within]] = True
        distance[open_circles[apart_within]] = exact[apart_within]
    verdicts = Verdicts(np.where(clear, 0, -1).astype(np.int8), distance, [None] * n)
    decided: list[int] = []
    shapes: list[Any] = []
    # Lenses of near misses and shapes of overlaps are cut together: one batch of intersections.
    near_ids = plane.true_at(near)
    overlapping = plane.true_at(overlap)
    cuts: list[_Cuts] = []
    if len(near_ids):
        half = lateral_m[near_ids] / 2
        widened_subjects = _widened_subjects(subject_shape, own[:, 2], owner[near_ids], half)
        # A circle widened by h is the circle of radius r + h: drawn directly, finer than a buffered disc.
        widened = np.empty(len(near_ids), dtype=object)
        round_ones = is_circle[near_ids]
        rounds, flats = near_ids[round_ones], near_ids[~round_ones]
        widened[round_ones] = plane.discs(centres_xy[rounds], radius[rounds] + half[round_ones], plane.LENS_SEGMENTS)
        widened[~round_ones] = shapely.buffer(drawn[flats], half[~round_ones], quad_segs=4)
        subject_round = own_round[owner[near_ids]]
        cuts.append(
            _Cuts(
                widened_subjects,
                widened,
                centres_xy[near_ids],
                np.where(round_ones, radius[near_ids] + half, 0.0),
                np.where(subject_round, own[owner[near_ids], 2] + half, 0.0),
                plane.LENS_SEGMENTS,
            )
        )
    if len(overlapping):
        parts = drawn[overlapping]
        shapely.prepare(subject_shape)
        whole = subject_shape[owner[overlapping]]
        # A candidate wholly inside its subject overlaps it by itself: no intersection to compute.
        inside = shapely.contains_properly(whole, parts)
        overlaps = parts.copy()
        # Likewise a subject wholly inside a candidate's disc.
        around = ~inside & _within_discs(
            subject_shape,
            owner[overlapping],
            centres_xy[overlapping],
            np.where(is_circle[overlapping], radius[overlapping], 0.0),
        )
        overlaps[around] = whole[around]
        rest = plane.true_at(~(inside | around))
        ids = overlapping[rest]
        if len(rest):
            cuts.append(
                _Cuts(
                    whole[rest],
                    parts[rest],
                    centres_xy[ids],
                    np.where(is_circle[ids], radius[ids], 0.0),
                    np.where(own_round[owner[ids]], own[owner[ids], 2], 0.0),
                    plane.DISC_SEGMENTS,
                )
            )
    made = _intersections(cuts)
    if len(near_ids):
        lenses = made[: len(near_ids)]
        drawable = shapely.area(lenses) >= _MIN_LENS_AREA_M2
        decided.extend(near_ids[drawable].tolist())
        shapes.extend(lenses[drawable].tolist())
    if len(overlapping):
        overlaps[rest] = made[len(made) - len(rest) :]
        clear_overlap = shapely.area(overlaps) >= _CLEAR_OVERLAP_M2
        # A circle that surely reaches into the other outline (by more than the error), drawn too thin by its
        # disc's chords: drawn again with a fine disc, rather than measured again pair by pair.
        thin = ~clear_overlap & (gap[overlapping] < -error[overlapping])
        thin &= is_circle[overlapping] | own_round[owner[overlapping]]
        if thin.any():
            ids = overlapping[thin]
            by_candidate = is_circle[ids]
            fine = plane.discs(
                np.where(by_candidate[:, None], centres_xy[ids], 0.0),
                np.where(by_candidate, radius[ids], own[owner[ids], 2]),
                plane.FINE_SEGMENTS,
            )
            redrawn = plane.intersections(fine, np.where(by_candidate, subject_shape[owner[ids]], drawn[ids]))
            overlaps[thin] = redrawn
            clear_overlap[thin] = shapely.area(redrawn) >= _MIN_LENS_AREA_M2
        decided.extend(overlapping[clear_overlap].tolist())
        shapes.extend(overlaps[clear_overlap].tolist())
    if decided:
        frames = owner[decided]
        docs = geojson_many(np.array(shapes, dtype=object), own[frames, 0], own[frames, 1])
        verdicts.state[decided] = 1
        for k, doc in zip(decided, docs, strict=True):
            verdicts.overlap[k] = doc
    return verdicts


#: What the plane alone says of a pair (`_classify`).
_OUT_OF_FRAME, _OPEN, _CLEAR, _NEAR, _OVERLAP = 0, 1, 2, 3, 4


@compiled
def _classify(
    core_gap_m: FloatArray,
    radius_m: FloatArray,
    subject_radius_m: FloatArray,
    centre_xy: FloatArray,
    cap_radius_m: FloatArray,
    subject_cap_m: FloatArray,
    reach_m: FloatArray,
) -> tuple[npt.NDArray[np.int8], FloatArray, FloatArray]:
    """Per pair, what the plane decides under the error bound (`_OUT_OF_FRAME`, `_OPEN`, `_CLEAR`, `_NEAR` or
    `_OVERLAP`), the plane gap between the outlines (m) and that bound (m).

    `core_gap_m` is the plane distance between the exact cores (centre of a circle, else the polygon);
    `reach_m` the lateral buffer plus the distance tolerance. See the module's docstring for the bound.
    """
    n = len(core_gap_m)
    kind = np.empty(n, dtype=np.int8)
    gap = np.empty(n)
    error = np.empty(n)
    for k in range(n):
        core = core_gap_m[k]
        g = core - radius_m[k] - subject_radius_m[k]
        rho = max(math.hypot(centre_xy[k, 0], centre_xy[k, 1]) + cap_radius_m[k], subject_cap_m[k])
        e = 3.0 * (rho / _R_MIN_M) ** 2 / 6.0 * (core + radius_m[k] + subject_radius_m[k]) + _SLACK_M
        gap[k], error[k] = g, e
        if not rho <= FRAME_REACH_M:
            kind[k] = _OUT_OF_FRAME
        elif g > reach_m[k] + e:
            kind[k] = _CLEAR
        elif g > e and g <= reach_m[k] - e and e <= _MAX_DISTANCE_ERROR_M:
            kind[k] = _NEAR
        elif g < -e or core == 0.0:
            kind[k] = _OVERLAP
        else:
            kind[k] = _OPEN
    return kind, gap, error


def outline_rows(outlines: Sequence[Outline]) -> FloatArray:
    """One `columns.outline_row` per outline, as the index keeps them."""
    return np.array([outline_row(o) for o in outlines], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Cuts:
    """Pairs of drawn shapes to intersect; a radius > 0 says that side is a circle (the subject's at the origin)."""

    subject_side: plane.Geometries
    candidate_side: plane.Geometries
    candidate_xy: FloatArray
    candidate_radius_m: FloatArray
    subject_radius_m: FloatArray
    segments: int  # of the circles' discs


def _intersections(cuts: Sequence[_Cuts]) -> plane.Geometries:
    """Each pair's two shapes intersected, the groups one after another.

    Two circles meet in a lens drawn directly (`circle_clip.lenses`); where one side is a circle the other is
    cut to it (`circle_clip.clip_by_circles`), all such pairs in one call; the rest are intersected by
    `polygon_clip`, and what those leave by GEOS.
    """
    if not cuts:
        return np.empty(0, dtype=object)
    subject_side = np.concatenate([c.subject_side for c in cuts]) if len(cuts) > 1 else cuts[0].subject_side
    candidate_side = np.concatenate([c.candidate_side for c in cuts]) if len(cuts) > 1 else cuts[0].candidate_side
    candidate_radius_m = np.concatenate([c.candidate_radius_m for c in cuts])
    subject_radius_m = np.concatenate([c.subject_radius_m for c in cuts])
    # The circle of each pair: the candidate's where it is one, else the subject's (at its frame's origin).
    by_candidate = candidate_radius_m > 0
    circle_xy = np.concatenate([c.candidate_xy for c in cuts])
    circle_xy[~by_candidate] = 0.0
    circle_radius_m = np.where(by_candidate, candidate_radius_m, subject_radius_m)
    cut = np.where(by_candidate, subject_side, candidate_side)
    segments = np.concatenate([np.full(len(c.subject_side), c.segments) for c in cuts])
    made = np.full(len(subject_side), None, dtype=object)
    # Two circles: their lens, drawn directly (the subject's circle is at its frame's origin).
    both = plane.true_at(by_candidate & (subject_radius_m > 0))
    if len(both):
        made[both] = circle_clip.lenses(
            np.zeros((len(both), 2)), subject_radius_m[both], circle_xy[both], candidate_radius_m[both], segments[both]
        )
    round_ones = plane.true_at((circle_radius_m > 0) & shapely.is_missing(made))
    if len(round_ones):
        made[round_ones] = circle_clip.clip_by_circles(
            cut[round_ones], circle_xy[round_ones], circle_radius_m[round_ones], segments[round_ones]
        )
    left = plane.true_at(shapely.is_missing(made))
    if len(left) >= _MIN_POLYGON_CLIPS:
        made[left] = polygon_clip.intersect_pairs(subject_side[left], candidate_side[left])
        left = left[shapely.is_missing(made[left])]
    if len(left):
        made[left] = plane.intersections(subject_side[left], candidate_side[left])
    return made


def _within_discs(
    subject_shape: plane.Geometries, owner: IntArray, centre_xy: FloatArray, radius_m: FloatArray
) -> npt.NDArray[np.bool_]:
    """Whether each pair's subject lies strictly inside the candidate's drawn disc (radius 0: not a disc).

    The disc is the regular polygon inscribed in the circle; every point within its inner radius is in
    it, and a polygon whose vertices all are lies wholly inside (that circle is convex).
    """
    inner = radius_m * np.cos(np.pi / plane.DISC_SEGMENTS) * (1.0 - 1e-9)
    if not (inner > 0).any():
        return np.zeros(len(owner), dtype=bool)
    vertices, start = plane.rings(subject_shape)
    return _vertices_within(vertices, start, owner, centre_xy, inner)


@compiled
def _vertices_within(
    vertices: FloatArray, start: IntArray, owner: IntArray, centre_xy: FloatArray, reach_m: FloatArray
) -> BoolArray:
    """Whether every vertex of ring `owner[k]` (at `start[owner[k]]:start[owner[k] + 1]`) lies closer than
    `reach_m[k]` to `centre_xy[k]`; False where the reach is 0."""
    result = np.zeros(len(owner), dtype=np.bool_)
    for k in range(len(owner)):
        reach = reach_m[k]
        if reach <= 0.0:
            continue
        cx, cy = centre_xy[k, 0], centre_xy[k, 1]
        within = True
        for v in range(start[owner[k]], start[owner[k] + 1]):
            if math.hypot(vertices[v, 0] - cx, vertices[v, 1] - cy) >= reach:
                within = False
                break
        result[k] = within
    return result


def _widened_subjects(
    subject_shape: plane.Geometries, subject_radius_m: FloatArray, owner: IntArray, half_m: FloatArray
) -> plane.Geometries:
    """Each pair's subject widened by its half buffer, built once per (subject, half buffer).

    A circular subject (radius > 0, centred on its frame's origin) is redrawn with radius r + h.
    """
    keys = list(zip(owner.tolist(), half_m.tolist(), strict=True))
    unique = list(dict.fromkeys(keys))
    subject = np.array([k[0] for k in unique], dtype=np.int64)
    half = np.array([k[1] for k in unique])
    made = np.empty(len(unique), dtype=object)
    round_ones = subject_radius_m[subject] > 0
    made[round_ones] = plane.discs(
        np.zeros((int(round_ones.sum()), 2)),
        subject_radius_m[subject[round_ones]] + half[round_ones],
        plane.LENS_SEGMENTS,
    )
    made[~round_ones] = shapely.buffer(subject_shape[subject[~round_ones]], half[~round_ones], quad_segs=4)
    position = {k: i for i, k in enumerate(unique)}
    return made[[position[k] for k in keys]]


def _circle_gaps_m(
    subjects: Sequence[Outline],
    own: FloatArray,
    owner: IntArray,
    rows: FloatArray,
    core_gap_m: FloatArray,
) -> FloatArray:
    """Exact distances (m) from `subjects[owner[k]]` to candidate k, where one of each pair is a circle.

    `own` and `rows` are the subjects' and the candidates' `outline_rows`. Measured as `separation`
    measures them: from the circle's centre, in the AEQD plane centred there (so the same numbers), minus
    the radius. When the subject is the circle, its own frame is that plane and `core_gap_m` already holds
    the distance from its centre to a polygon.
    """
    pair_subject = own[owner]
    round_subject = pair_subject[:, 4] > 0
    round_other = rows[:, 4] > 0
    from_centre = core_gap_m.copy()
    both = plane.true_at(round_subject & round_other)
    if len(both):
        a, b = pair_subject[both], rows[both]
        between = geodesy.distances_between_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        from_centre[both] = between - b[:, 2]
    # A polygon subject: project it into the plane of each circle's centre, all in one call.
    flat = plane.true_at(~round_subject)
    if len(flat):
        rings = [subjects[i] for i in owner[flat].tolist()]
        sizes = np.array([len(r.dense_lat) for r in rings], dtype=np.int64)
        lat0, lng0 = np.repeat(rows[flat, 0], sizes), np.repeat(rows[flat, 1], sizes)
        lat = np.concatenate([r.dense_lat for r in rings])
        lng = np.concatenate([r.dense_lng for r in rings])
        x, y = geodesy.aeqd_forward_each(lat0, lng0, lat, lng)
        projected = plane.closed_polygons(np.column_stack([x, y]), sizes)
        from_centre[flat] = shapely.distance(shapely.Point(0.0, 0.0), projected)
    circle_radius = np.where(round_subject, pair_subject[:, 2], rows[:, 2])
    gaps: FloatArray = np.maximum(from_centre - circle_radius, 0.0)
    return gaps


def compile_kernels() -> None:
    """Screen a tiny batch that reaches every compiled kernel, so that numba compiles them (on a new machine,
    about ten seconds) or loads them from its cache now, at start-up, not in the first filing that needs them."""
    limits = Limits()
    square = polygon_outline([LatLng(0.0, 0.0), LatLng(0.0, 0.1), LatLng(0.1, 0.1), LatLng(0.1, 0.0)], limits)
    kite = polygon_outline([LatLng(0.05, -0.02), LatLng(0.12, 0.05), LatLng(0.05, 0.12), LatLng(-0.02, 0.05)], limits)
    ring = circle_outline(LatLng(0.05, 0.1), 3_000.0, limits)
    # Two polygon pairs (polygon_clip), a circle cut (clip_by_circles), two circles (lenses), geodesics throughout.
    others = [kite, kite, ring, ring]
    screen_many([square, ring], Rings.of(others), outline_rows(others), np.array([0, 0, 0, 1]), np.zeros(4))
