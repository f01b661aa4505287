"""Two plane polygons intersected, many pairs at once in one compiled loop: the overlaps GEOS drew one by one.

After `circle_clip`, the overlap shapes of a check that GEOS still overlays are polygon pairs (two
polygon outlines, or the lens of two widened ones) and the circle cuts that `circle_clip` leaves; GEOS
spends about 20 µs on each. Here every pair is intersected by the Greiner-Hormann method: find where the
edges cross, mark each crossing as entering or leaving the other polygon, and walk from crossing to
crossing along whichever boundary lies inside the other.

Only the cases where that walk is certainly right are taken: every crossing is a proper one (no vertex on,
or within a hair of, the other boundary; no collinear edges), and the result is one simple polygon (or
either polygon whole, when one holds the other). Everything else gets None and the caller asks GEOS, whose
overlay is robust to those cases. `tests/domain/test_polygon_clip.py` checks the cuts against GEOS.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from deconflict.domain import plane
from deconflict.domain.compiled import BoolArray, compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.plane import IntArray

#: A crossing this close (as a fraction of either edge) to an edge's end is a degenerate one: left to GEOS.
_END_GAP = 1e-9


def intersect_pairs(a: plane.Geometries, b: plane.Geometries) -> plane.Geometries:
    """`a[k] ∩ b[k]` for simple polygons without holes; None for each pair not decided here."""
    made = np.empty(len(a), dtype=object)  # all None
    if len(a) == 0:
        return made
    ids = (plane.simple_polygons(a) & plane.simple_polygons(b)).nonzero()[0]
    if len(ids) == 0:
        return made
    a_xy, a_start = plane.rings(a[ids])
    b_xy, b_start = plane.rings(b[ids])
    a_sizes, b_sizes = np.diff(a_start) - 1, np.diff(b_start) - 1
    # Room for the results: a result walks each node of both rings at most once (vertices, and crossings, of
    # which a simple result seldom has many); a pair whose walk would not fit is left to GEOS.
    out = np.empty((int((a_sizes + b_sizes).sum() * 2) + len(ids), 2))
    out_start = np.empty(len(ids) + 1, dtype=np.int64)
    done = np.zeros(len(ids), dtype=bool)
    empty = np.zeros(len(ids), dtype=bool)
    _intersect_kernel(a_xy, a_start, b_xy, b_start, out, out_start, done, empty)
    which = (done & ~empty).nonzero()[0]
    if len(which):
        offsets = np.append(out_start[which], out_start[-1])
        made[ids[which]] = plane.polygons(out[: offsets[-1]], offsets)
    nothing = (done & empty).nonzero()[0]
    if len(nothing):
        made[ids[nothing]] = shapely.Polygon()
    return made


@compiled
def _inside(x: float, y: float, ring: FloatArray) -> bool:
    """Whether (x, y) is inside the closed ring (even-odd rule; the point is known to be off its boundary)."""
    inside = False
    for i in range(len(ring) - 1):
        x0, y0, x1, y1 = ring[i, 0], ring[i, 1], ring[i + 1, 0], ring[i + 1, 1]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


@compiled
def _crossings(a: FloatArray, b: FloatArray) -> tuple[FloatArray, bool]:
    """Rows (edge of a, t along it, edge of b, t along it, x, y) for every proper crossing; False if degenerate."""
    found = np.empty((16, 6))
    count = 0
    for i in range(len(a) - 1):
        ax, ay = a[i, 0], a[i, 1]
        dax, day = a[i + 1, 0] - ax, a[i + 1, 1] - ay
        a_lo_x, a_hi_x = min(ax, ax + dax), max(ax, ax + dax)
        a_lo_y, a_hi_y = min(ay, ay + day), max(ay, ay + day)
        for j in range(len(b) - 1):
            bx, by = b[j, 0], b[j, 1]
            dbx, dby = b[j + 1, 0] - bx, b[j + 1, 1] - by
            if max(bx, bx + dbx) < a_lo_x or min(bx, bx + dbx) > a_hi_x:
                continue
            if max(by, by + dby) < a_lo_y or min(by, by + dby) > a_hi_y:
                continue
            denom = dax * dby - day * dbx
            ex, ey = bx - ax, by - ay
            scale = math.sqrt((dax * dax + day * day) * (dbx * dbx + dby * dby))
            if abs(denom) <= 1e-12 * scale:
                # Parallel edges whose boxes meet: collinear overlap or a near miss; either way not decided here.
                if abs(ex * day - ey * dax) <= 1e-9 * scale:
                    return found[:0], False
                continue
            ta = (ex * dby - ey * dbx) / denom
            tb = (ex * day - ey * dax) / denom
            if ta < -_END_GAP or ta > 1 + _END_GAP or tb < -_END_GAP or tb > 1 + _END_GAP:
                continue
            if ta < _END_GAP or ta > 1 - _END_GAP or tb < _END_GAP or tb > 1 - _END_GAP:
                return found[:0], False  # a vertex on (or a hair from) the other boundary
            if count == len(found):
                grown = np.empty((2 * len(found), 6))
                grown[:count] = found
                found = grown
            found[count, 0], found[count, 1], found[count, 2] = i, ta, j
            found[count, 3], found[count, 4], found[count, 5] = tb, ax + ta * dax, ay + ta * day
            count += 1
    return found[:count], True


@compiled
def _node_lists(ring: FloatArray, edge: FloatArray, t: FloatArray) -> tuple[FloatArray, IntArray]:
    """The ring's vertices with the crossings inserted in order along each edge.

    Returns each node's (x, y) and, per node, the crossing's row in the crossing table, or -1 for a vertex.
    """
    n = len(ring) - 1
    order = np.argsort(edge + t * 0.5)  # by edge, then along it (t in (0, 1))
    xy = np.empty((n + len(edge), 2))
    row = np.empty(n + len(edge), dtype=np.int64)
    at = 0
    k = 0
    for i in range(n):
        xy[at, 0], xy[at, 1] = ring[i, 0], ring[i, 1]
        row[at] = -1
        at += 1
        while k < len(order) and edge[order[k]] == i:
            row[at] = order[k]
            at += 1
            k += 1
    return xy, row


@compiled
def _marks(row: IntArray, crossings: int, starts_inside: bool) -> tuple[IntArray, BoolArray]:
    """Where each crossing sits in a ring's node list, and whether walking forward there enters the other
    polygon (crossings alternate, from whether the ring's first vertex is inside it)."""
    at = np.empty(crossings, dtype=np.int64)
    enters = np.empty(crossings, dtype=np.bool_)
    inside = starts_inside
    for p in range(len(row)):
        if row[p] >= 0:
            at[row[p]] = p
            enters[row[p]] = not inside
            inside = not inside
    return at, enters


@compiled
def _intersect_kernel(
    a_xy: FloatArray,
    a_start: IntArray,
    b_xy: FloatArray,
    b_start: IntArray,
    out: FloatArray,
    out_start: IntArray,
    done: BoolArray,
    empty: BoolArray,
) -> None:
    at = 0
    for k in range(len(a_start) - 1):
        out_start[k] = at
        a = a_xy[a_start[k] : a_start[k + 1]]
        b = b_xy[b_start[k] : b_start[k + 1]]
        if len(a) < 4 or len(b) < 4:
            continue
        cross, proper = _crossings(a, b)
        if not proper or len(cross) % 2 == 1:
            continue
        if len(cross) == 0:
            # No crossing: one holds the other (its first vertex is inside), or they are apart.
            if _inside(a[0, 0], a[0, 1], b):
                held = a
            elif _inside(b[0, 0], b[0, 1], a):
                held = b
            else:
                done[k] = True
                empty[k] = True
                continue
            for v in range(len(held)):
                out[at, 0], out[at, 1] = held[v, 0], held[v, 1]
                at += 1
            done[k] = True
            continue
        a_nodes, a_row = _node_lists(a, cross[:, 0], cross[:, 1])
        b_nodes, b_row = _node_lists(b, cross[:, 2], cross[:, 3])
        m = len(cross)
        if at + len(a_row) + len(b_row) + 1 > len(out):
            continue
        # Where each crossing sits in either list, and whether walking forward there enters the other polygon.
        a_at, a_enters = _marks(a_row, m, _inside(a[0, 0], a[0, 1], b))
        b_at, b_enters = _marks(b_row, m, _inside(b[0, 0], b[0, 1], a))
        # Walk from the first crossing: forward along a boundary where it enters the other polygon, backward
        # where it leaves it, switching boundaries at each crossing, until back at the start.
        visited = np.zeros(m, dtype=np.bool_)
        start_row = 0
        first = at
        row = start_row
        on_a = True
        steps = 0
        simple = True
        out[at, 0], out[at, 1] = cross[row, 4], cross[row, 5]
        at += 1
        while True:
            visited[row] = True
            nodes, rows = (a_nodes, a_row) if on_a else (b_nodes, b_row)
            p = a_at[row] if on_a else b_at[row]
            forward = a_enters[row] if on_a else b_enters[row]
            size = len(rows)
            while True:
                p = (p + 1) % size if forward else (p - 1) % size
                steps += 1
                if rows[p] >= 0:
                    break
                out[at, 0], out[at, 1] = nodes[p, 0], nodes[p, 1]
                at += 1
            row = rows[p]
            on_a = not on_a
            if row == start_row:
                break
            if visited[row] or steps > 2 * (len(a_row) + len(b_row)):
                simple = False
                break
            out[at, 0], out[at, 1] = cross[row, 4], cross[row, 5]
            at += 1
        # One ring must use every crossing; more rings (a result in several parts) are left to GEOS.
        if not simple or not visited.all() or at - first < 3:
            at = first
            continue
        out[at, 0], out[at, 1] = out[first, 0], out[first, 1]
        at += 1
        done[k] = True
    out_start[len(a_start) - 1] = at
