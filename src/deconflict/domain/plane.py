"""Plane shapes built in numpy and handed to shapely in one call: projected rings, discs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.domain.compiled import compiled
from deconflict.domain.geodesy import FloatArray

IntArray = npt.NDArray[np.int64]
Geometries = npt.NDArray[np.object_]

#: Vertices of a disc drawn for a circle (as `shapely.buffer(point, r, quad_segs=8)` draws it).
DISC_SEGMENTS = 32
#: Vertices of a circle widened for the lens of a near miss.
LENS_SEGMENTS = 64
#: Vertices of a circle drawn again where its disc's chords leave a sure overlap too thin to draw (inset by
#: 5e-6 of the radius: 12 cm at 25 km).
FINE_SEGMENTS = 1024
#: Grid (m) of an overlay redone because GEOS found no overlap where the predicates see one.
_REDO_GRID_M = 1e-3
#: `shapely.GeometryType.POLYGON` as a plain int: numpy compares an array with it much faster than with the enum.
_POLYGON_TYPE_ID = int(shapely.GeometryType.POLYGON)


def true_at(mask: npt.NDArray[np.bool_] | npt.NDArray[np.int8]) -> IntArray:
    """The positions of a 1-D mask's True (non-zero) entries: `np.flatnonzero` without its `ravel` and
    wrappers, which cost three times the search itself on the short masks of a check (a dozen a check)."""
    found: IntArray = mask.nonzero()[0]
    return found


def _unit_ring(segments: int) -> FloatArray:
    """Closed ring of unit-circle vertices from +x, clockwise (where `shapely.buffer` puts a point's disc)."""
    angle = -2 * np.pi * np.arange(segments + 1) / segments
    ring = np.column_stack([np.cos(angle), np.sin(angle)])
    ring[-1] = ring[0]
    return ring


_UNIT_RINGS = {segments: _unit_ring(segments) for segments in (DISC_SEGMENTS, LENS_SEGMENTS, FINE_SEGMENTS)}


def polygons(closed_xy: FloatArray, ring_offsets: IntArray) -> Geometries:
    """Simple polygons from closed rings concatenated in `closed_xy`, ring i at [offsets[i], offsets[i + 1])."""
    polygon_offsets = np.arange(len(ring_offsets))
    made = shapely.from_ragged_array(shapely.GeometryType.POLYGON, closed_xy, (ring_offsets, polygon_offsets))
    return np.asarray(made, dtype=object)


def closed_polygons(open_xy: FloatArray, ring_sizes: IntArray) -> Geometries:
    """Simple polygons from open rings (no closing vertex) of the given sizes, concatenated in `open_xy`."""
    if len(ring_sizes) == 0:
        return np.empty(0, dtype=object)
    closed_xy = np.empty((len(open_xy) + len(ring_sizes), 2))
    closed_offsets = np.empty(len(ring_sizes) + 1, dtype=np.int64)
    _close_rings(np.ascontiguousarray(open_xy), ring_sizes.astype(np.int64), closed_xy, closed_offsets)
    return polygons(closed_xy, closed_offsets)


@compiled
def _close_rings(open_xy: FloatArray, ring_sizes: IntArray, closed_xy: FloatArray, closed_offsets: IntArray) -> None:
    """Copy each open ring, then its first vertex again; `closed_offsets` gets where each closed ring starts."""
    read = write = 0
    for r in range(len(ring_sizes)):
        closed_offsets[r] = write
        for v in range(ring_sizes[r]):
            closed_xy[write + v] = open_xy[read + v]
        closed_xy[write + ring_sizes[r]] = open_xy[read]
        read += ring_sizes[r]
        write += ring_sizes[r] + 1
    closed_offsets[len(ring_sizes)] = write


def discs(centre_xy: FloatArray, radius_m: FloatArray, segments: int = DISC_SEGMENTS) -> Geometries:
    """Regular polygons inscribed in the given circles (DISC_SEGMENTS, LENS_SEGMENTS or FINE_SEGMENTS vertices)."""
    if len(centre_xy) == 0:
        return np.empty(0, dtype=object)
    ring = _UNIT_RINGS[segments]
    coords = (centre_xy[:, None, :] + radius_m[:, None, None] * ring[None, :, :]).reshape(-1, 2)
    return polygons(coords, np.arange(len(centre_xy) + 1) * len(ring))


def simple_polygons(shapes: Geometries) -> npt.NDArray[np.bool_]:
    """Which shapes are polygons without holes (their coordinates are their exterior rings, closed)."""
    result: npt.NDArray[np.bool_] = (shapely.get_type_id(shapes) == _POLYGON_TYPE_ID) & (
        shapely.get_num_interior_rings(shapes) == 0
    )
    return result


def rings(shapes: Geometries) -> tuple[FloatArray, IntArray]:
    """Polygons' exterior rings (closed), coordinates one after another, and where each starts (and the last
    ends); for polygons without holes only."""
    xy, ring_of = shapely.get_coordinates(shapes, return_index=True)
    start = np.zeros(len(shapes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(ring_of, minlength=len(shapes)), out=start[1:])
    return xy, start


def intersections(a: Geometries, b: Geometries) -> Geometries:
    """`shapely.intersection` pair by pair, redoing the empty answers that GEOS gets wrong.

    GEOS 3.14 can return an empty intersection for two valid polygons whose interiors do meet, when an
    edge of one nearly lies along an edge of the other (`tests/domain/test_plane.py` holds such a pair).
    Its predicates are robust: where the result has no area but the interiors meet, the overlay is
    done again on a millimetre grid.
    """
    made: Geometries = shapely.intersection(a, b)
    flat = true_at(shapely.area(made) == 0.0)
    if len(flat):
        meet = shapely.intersects(a[flat], b[flat]) & ~shapely.touches(a[flat], b[flat])
        redo = flat[meet]
        if len(redo):
            made[redo] = shapely.intersection(a[redo], b[redo], grid_size=_REDO_GRID_M)
    return made
