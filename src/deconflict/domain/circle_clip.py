"""Plane polygons cut to a circle, many at once in numpy: the overlap shapes where one side is a circle.

A check with dozens of conflicts spends most of its drawing time in GEOS overlays, one per pair, and
three in four of those pairs have a circle on one side. A circle is simpler than the polygon GEOS
sees (its drawn disc): each edge of the other outline meets it where a quadratic says, so all the
edges of all the pairs are solved in a few array operations, and the boundary of the overlap is
the part of the outline inside the circle, then the circle's arc back to where the outline entered.
The arc is drawn through the vertices of the circle's disc (`plane.discs`: multiples of 2π/segments),
so an overlap shape lines up with the disc drawn for the circle itself.

Only the common case is taken here, where the answer is certainly a simple polygon: the outline
crosses the circle exactly twice, steeply enough, and no vertex inside it lies in the band where the
disc's chords run. Everything else gets None, and the caller asks GEOS.
"""

from __future__ import annotations

import numpy as np
import shapely

from deconflict.domain import plane
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
    simple = (shapely.get_type_id(shapes) == shapely.GeometryType.POLYGON) & (
        shapely.get_num_interior_rings(shapes) == 0
    )
    ids = simple.nonzero()[0]
    if len(ids) == 0:
        return made
    # Polygons without holes: their coordinates are their exterior rings, closed; edge e runs from
    # vertex e to e + 1, except from a ring's closing vertex. All relative to the ring's circle's centre.
    closed, ring_of = shapely.get_coordinates(shapes[ids], return_index=True)
    rings = len(ids)
    closed_sizes = np.bincount(ring_of, minlength=rings)
    start = closed_sizes.cumsum() - closed_sizes
    n = closed_sizes - 1
    centre = centre_xy[ids]
    x = closed[:, 0] - centre[ring_of, 0]
    y = closed[:, 1] - centre[ring_of, 1]
    r = radius_m[ids]
    step = 2.0 * np.pi / segments[ids]
    r_v = r[ring_of]
    c_v = x * x + y * y - r_v * r_v
    inside_v = c_v < 0.0
    # An inside vertex in the band between the circle and its disc's chords: a chord could cross an edge there.
    chord_r = r * np.cos(step / 2.0) * (1.0 - 1e-9)
    in_band = np.bincount(ring_of, weights=inside_v & (c_v > (chord_r * chord_r - r * r)[ring_of]), minlength=rings)
    x0, y0, x1, y1 = x[:-1], y[:-1], x[1:], y[1:]
    dx, dy = x1 - x0, y1 - y0
    is_edge = np.ones(len(x0), dtype=bool)
    is_edge[(start + n)[:-1]] = False
    s0, s1 = inside_v[:-1], inside_v[1:]
    a = dx * dx + dy * dy
    b = 2.0 * (x0 * dx + y0 * dy)
    c = c_v[:-1]
    disc = b * b - 4.0 * a * c
    # Both ends outside, yet the edge dips into the circle: it crosses it twice.
    through = ~s0 & ~s1 & (disc > 0.0) & (b < 0.0) & (-b < 2.0 * a)
    ce = (is_edge & ((s0 != s1) | through)).nonzero()[0]
    enters = ~s0[ce]
    exits = s0[ce] | through[ce]
    root = np.sqrt(np.maximum(disc[ce], 0.0))
    t_in = (-b[ce] - root) / (2.0 * a[ce])
    t_out = (-b[ce] + root) / (2.0 * a[ce])
    ex, ey, ce_r = dx[ce], dy[ce], r_v[ce] * np.sqrt(a[ce])
    entry_x, entry_y = x0[ce] + t_in * ex, y0[ce] + t_in * ey
    exit_x, exit_y = x0[ce] + t_out * ex, y0[ce] + t_out * ey
    # Steep crossings only: the sine of the angle between the edge and the circle where they meet.
    steep = np.sin(step[ring_of[ce]])
    shallow = (enters & ~(np.abs(entry_x * ex + entry_y * ey) >= steep * ce_r)) | (
        exits & ~(np.abs(exit_x * ex + exit_y * ey) >= steep * ce_r)
    )
    crossing_ring = ring_of[ce]
    good = (
        (np.bincount(crossing_ring, weights=enters, minlength=rings) == 1)
        & (np.bincount(crossing_ring, weights=exits, minlength=rings) == 1)
        & (np.bincount(crossing_ring, weights=shallow, minlength=rings) == 0)
        & (in_band == 0)
    )
    if not good.any():
        return made
    # Per good ring (one entry, one exit, in ring order): where it is crossed, its orientation.
    which = good.nonzero()[0]
    good_crossing = good[crossing_ring]
    at_entry = (enters & good_crossing).nonzero()[0]
    at_exit = (exits & good_crossing).nonzero()[0]
    in_x, in_y = entry_x[at_entry], entry_y[at_entry]
    out_x, out_y = exit_x[at_exit], exit_y[at_exit]
    start, n = start[which], n[which]
    k_in, k_out = ce[at_entry] - start, ce[at_exit] - start
    inside_count = (k_out - k_in) % n
    twice_area = np.bincount(ring_of[:-1], weights=(x0 * y1 - x1 * y0) * is_edge, minlength=rings)[which]
    turn = np.where(twice_area > 0.0, 1.0, -1.0)  # the arc runs the way the ring does
    theta_exit = np.arctan2(out_y, out_x)
    sweep = np.mod(turn * (np.arctan2(in_y, in_x) - theta_exit), 2.0 * np.pi)
    # The disc's vertices strictly between the exit and the entry, walking the way the ring turns.
    ring_step = step[which]
    lo = turn * theta_exit + _MIN_ARC_GAP_RAD
    first_multiple = np.floor(lo / ring_step) + 1.0
    arc_count = np.maximum(np.ceil((lo + sweep - 2 * _MIN_ARC_GAP_RAD) / ring_step) - first_multiple, 0.0).astype(
        np.int64
    )
    # Only an entry and an exit (a sliver within one chord of the disc): no polygon here.
    keep = inside_count + arc_count >= 1
    if not keep.all():
        if not keep.any():
            return made
        which, start, n, k_in, inside_count, arc_count, turn, first_multiple, ring_step = (
            v[keep] for v in (which, start, n, k_in, inside_count, arc_count, turn, first_multiple, ring_step)
        )
        in_x, in_y, out_x, out_y = in_x[keep], in_y[keep], out_x[keep], out_y[keep]
    lengths = inside_count + arc_count + 3  # entry, inside vertices, exit, arc, entry again
    offsets = np.zeros(len(which) + 1, dtype=np.int64)
    lengths.cumsum(out=offsets[1:])
    ring_start = offsets[:-1]
    out = np.empty((int(offsets[-1]), 2))
    for column, (entry, exit_) in enumerate(((in_x, out_x), (in_y, out_y))):
        out[ring_start, column] = entry
        out[offsets[1:] - 1, column] = entry
        out[ring_start + inside_count + 1, column] = exit_
    of = np.arange(len(which)).repeat(inside_count)
    j = np.arange(len(of)) - (inside_count.cumsum() - inside_count).repeat(inside_count)
    local = start[of] + (k_in[of] + 1 + j) % n[of]
    at = ring_start[of] + 1 + j
    out[at, 0] = x[local]
    out[at, 1] = y[local]
    of = np.arange(len(which)).repeat(arc_count)
    j = np.arange(len(of)) - (arc_count.cumsum() - arc_count).repeat(arc_count)
    angle = turn[of] * (first_multiple[of] + j) * ring_step[of]
    radius = r[which][of]
    at = ring_start[of] + inside_count[of] + 2 + j
    out[at, 0] = radius * np.cos(angle)
    out[at, 1] = radius * np.sin(angle)
    out += centre[which].repeat(lengths, axis=0)
    made[ids[which]] = plane.polygons(out, offsets)
    return made
