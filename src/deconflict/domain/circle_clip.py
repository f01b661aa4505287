"""Plane polygons cut to a circle, compiled: the overlap shapes where one side of a pair is a circle.

A check with dozens of conflicts spends most of its drawing time in overlays, one per pair, and three
in four of those pairs have a circle on one side. A circle is simpler than the polygon GEOS would see
(its drawn disc): each edge of the other outline meets it where a quadratic says, and the boundary of
the overlap is the part of the outline inside the circle, then the circle's arc back to where the
outline entered. The arc is drawn through the vertices of the circle's disc (`plane.discs`: multiples
of 2π/segments), so an overlap shape lines up with the disc drawn for the circle itself. One compiled
loop (numba) cuts every pair of a check.

Only the common case is taken here, where the answer is certainly a simple polygon: the outline
crosses the circle exactly twice, steeply enough, and no vertex inside it lies in the band where the
disc's chords run. Everything else gets None, and the caller asks GEOS.
"""

from __future__ import annotations

import math

import numpy as np

from deconflict.domain import plane
from deconflict.domain.compiled import BoolArray, compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.plane import IntArray

#: An arc vertex this close (rad) to a crossing is left out: it would be a near-duplicate vertex.
_MIN_ARC_GAP_RAD = 1e-6


def clip_by_circles(
    shapes: plane.Geometries, centre_xy: FloatArray, radius_m: FloatArray, segments: IntArray
) -> plane.Geometries:
    """`shapes[k]` intersected with the circle of `radius_m[k]` about `centre_xy[k]`; None where not decided here.

    The circle's boundary is drawn through the vertices of its disc of `segments[k]` vertices.
    """
    made = np.empty(len(shapes), dtype=object)  # all None
    if len(shapes) == 0:
        return made
    ids = plane.simple_polygons(shapes).nonzero()[0]
    if len(ids) == 0:
        return made
    closed, ring_start = plane.rings(shapes[ids])
    segments = segments[ids]
    # Room for each cut: its ring's vertices, its disc's, and the two crossings and the closing vertex.
    out = np.empty((len(closed) + int(segments.sum()) + 3 * len(ids), 2))
    out_start = np.empty(len(ids) + 1, dtype=np.int64)
    cut = np.zeros(len(ids), dtype=bool)
    _cut_kernel(closed, ring_start, centre_xy[ids], radius_m[ids], segments, out, out_start, cut)
    which = cut.nonzero()[0]
    if len(which):
        # The cuts lie one after another in `out`: where each starts, and where the last ends.
        offsets = np.append(out_start[which], out_start[-1])
        made[ids[which]] = plane.polygons(out[: offsets[-1]], offsets)
    return made


@compiled
def _cut_kernel(
    closed: FloatArray,
    ring_start: IntArray,
    centre: FloatArray,
    radius: FloatArray,
    segments: IntArray,
    out: FloatArray,
    out_start: IntArray,
    cut: BoolArray,
) -> None:
    """Cut ring k (closed, `closed[ring_start[k]:ring_start[k + 1]]`) to its circle, where decided here.

    The cut of ring k is written to `out[out_start[k]:out_start[k + 1]]`, closed, with `cut[k]` set; the
    span of an undecided ring is empty, so the cuts follow one another.
    """
    at = 0
    for k in range(len(ring_start) - 1):
        out_start[k] = at
        first, stop = ring_start[k], ring_start[k + 1]
        n = stop - first - 1  # distinct vertices; vertex n repeats vertex 0
        cx, cy, r = centre[k, 0], centre[k, 1], radius[k]
        step = 2.0 * math.pi / segments[k]
        # An inside vertex between the circle and its disc's chords: a chord could cross an edge there.
        chord_r = r * math.cos(step / 2.0) * (1.0 - 1e-9)
        band_floor = chord_r * chord_r - r * r
        steep = math.sin(step)
        enters = exits = 0
        k_in = k_out = -1
        in_x = in_y = out_x = out_y = 0.0
        twice_area = 0.0
        decided = n >= 3
        for e in range(n):
            x0, y0 = closed[first + e, 0] - cx, closed[first + e, 1] - cy
            x1, y1 = closed[first + e + 1, 0] - cx, closed[first + e + 1, 1] - cy
            twice_area += x0 * y1 - x1 * y0
            c0 = x0 * x0 + y0 * y0 - r * r
            c1 = x1 * x1 + y1 * y1 - r * r
            s0, s1 = c0 < 0.0, c1 < 0.0
            if s0 and c0 > band_floor:
                decided = False
                break
            dx, dy = x1 - x0, y1 - y0
            a = dx * dx + dy * dy
            b = 2.0 * (x0 * dx + y0 * dy)
            disc = b * b - 4.0 * a * c0
            # Both ends outside, yet the edge dips into the circle: it crosses it twice.
            through = not s0 and not s1 and disc > 0.0 and b < 0.0 and -b < 2.0 * a
            if s0 == s1 and not through:
                continue
            root = math.sqrt(max(disc, 0.0))
            # Steep crossings only: the sine of the angle between the edge and the circle where they meet.
            least = steep * r * math.sqrt(a)
            if not s0:  # enters the circle on this edge
                in_x, in_y = x0 + (-b - root) / (2.0 * a) * dx, y0 + (-b - root) / (2.0 * a) * dy
                decided = abs(in_x * dx + in_y * dy) >= least
                enters += 1
                k_in = e
            if decided and (s0 or through):  # leaves it
                out_x, out_y = x0 + (-b + root) / (2.0 * a) * dx, y0 + (-b + root) / (2.0 * a) * dy
                decided = abs(out_x * dx + out_y * dy) >= least
                exits += 1
                k_out = e
            if not decided:
                break
        if not decided or enters != 1 or exits != 1:
            continue
        inside_count = (k_out - k_in) % n
        turn = 1.0 if twice_area > 0.0 else -1.0  # the arc runs the way the ring does
        theta_exit = math.atan2(out_y, out_x)
        sweep = (turn * (math.atan2(in_y, in_x) - theta_exit)) % (2.0 * math.pi)
        # The disc's vertices strictly between the exit and the entry, walking the way the ring turns.
        lo = turn * theta_exit + _MIN_ARC_GAP_RAD
        first_multiple = math.floor(lo / step) + 1.0
        arc_count = max(int(math.ceil((lo + sweep - 2 * _MIN_ARC_GAP_RAD) / step) - first_multiple), 0)
        if inside_count + arc_count < 1:
            continue  # only an entry and an exit (a sliver within one chord of the disc): no polygon here
        # entry, inside vertices, exit, arc, entry again
        out[at, 0], out[at, 1] = in_x + cx, in_y + cy
        at += 1
        for j in range(inside_count):
            v = first + (k_in + 1 + j) % n
            out[at, 0], out[at, 1] = closed[v, 0], closed[v, 1]
            at += 1
        out[at, 0], out[at, 1] = out_x + cx, out_y + cy
        at += 1
        for j in range(arc_count):
            angle = turn * (first_multiple + j) * step
            out[at, 0], out[at, 1] = r * math.cos(angle) + cx, r * math.sin(angle) + cy
            at += 1
        out[at, 0], out[at, 1] = in_x + cx, in_y + cy
        at += 1
        cut[k] = True
    out_start[len(ring_start) - 1] = at


def lenses(
    centre_a_xy: FloatArray,
    radius_a_m: FloatArray,
    centre_b_xy: FloatArray,
    radius_b_m: FloatArray,
    segments: IntArray,
) -> plane.Geometries:
    """The overlap of circle a[k] and circle b[k], drawn through both discs' vertices; None where one holds
    the other or they are apart.

    Two circles that cross meet in a convex lens bounded by an arc of each; its corners are where the circles
    cross, exactly (no chord of either disc decides whether a thin lens is drawn at all), and each arc
    passes through its own disc's vertices (`segments[k]` of them).
    """
    n = len(radius_a_m)
    made = np.empty(n, dtype=object)  # all None
    if n == 0:
        return made
    segments = np.asarray(segments, dtype=np.int64)
    out = np.empty((int(2 * segments.sum()) + 3 * n, 2))
    out_start = np.empty(n + 1, dtype=np.int64)
    drawn = np.zeros(n, dtype=bool)
    _lens_kernel(centre_a_xy, radius_a_m, centre_b_xy, radius_b_m, segments, out, out_start, drawn)
    which = drawn.nonzero()[0]
    if len(which):
        offsets = np.append(out_start[which], out_start[-1])
        made[which] = plane.polygons(out[: offsets[-1]], offsets)
    return made


@compiled
def _arc(cx: float, cy: float, r: float, start: float, stop: float, step: float, out: FloatArray, at: int) -> int:
    """Write the disc vertices (multiples of `step`) strictly between angles start < stop, or the arc's middle
    where there is none (a thin lens still gets four corners); returns the next row."""
    k = math.floor((start + _MIN_ARC_GAP_RAD) / step) + 1.0
    if k * step >= stop - _MIN_ARC_GAP_RAD:
        middle = (start + stop) / 2
        out[at, 0], out[at, 1] = cx + r * math.cos(middle), cy + r * math.sin(middle)
        return at + 1
    while k * step < stop - _MIN_ARC_GAP_RAD:
        out[at, 0], out[at, 1] = cx + r * math.cos(k * step), cy + r * math.sin(k * step)
        at += 1
        k += 1.0
    return at


@compiled
def _lens_kernel(
    centre_a: FloatArray,
    radius_a: FloatArray,
    centre_b: FloatArray,
    radius_b: FloatArray,
    segments: IntArray,
    out: FloatArray,
    out_start: IntArray,
    drawn: BoolArray,
) -> None:
    at = 0
    for k in range(len(radius_a)):
        out_start[k] = at
        ax, ay, ra = centre_a[k, 0], centre_a[k, 1], radius_a[k]
        bx, by, rb = centre_b[k, 0], centre_b[k, 1], radius_b[k]
        d = math.hypot(bx - ax, by - ay)
        if d >= ra + rb or d <= abs(ra - rb):
            continue
        # Along the line of centres, the chord through both crossings lies at `along` from a.
        along = (d * d + ra * ra - rb * rb) / (2.0 * d)
        toward_b = math.atan2(by - ay, bx - ax)
        half_a = math.acos(max(-1.0, min(1.0, along / ra)))  # half the angle a's arc spans inside b
        half_b = math.acos(max(-1.0, min(1.0, (d - along) / rb)))
        step = 2.0 * math.pi / segments[k]
        # Anticlockwise: a's arc from the first crossing to the second, then b's arc back to the first.
        first_x, first_y = ax + ra * math.cos(toward_b - half_a), ay + ra * math.sin(toward_b - half_a)
        out[at, 0], out[at, 1] = first_x, first_y
        at = _arc(ax, ay, ra, toward_b - half_a, toward_b + half_a, step, out, at + 1)
        out[at, 0], out[at, 1] = ax + ra * math.cos(toward_b + half_a), ay + ra * math.sin(toward_b + half_a)
        at = _arc(bx, by, rb, toward_b + math.pi - half_b, toward_b + math.pi + half_b, step, out, at + 1)
        out[at, 0], out[at, 1] = first_x, first_y
        at += 1
        drawn[k] = True
    out_start[len(radius_a)] = at
