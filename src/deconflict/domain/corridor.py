"""Corridor convenience: a polyline with a half-width becomes a polygon outline."""

from __future__ import annotations

import numpy as np
import shapely

from deconflict.domain import geodesy
from deconflict.domain.errors import InvalidInput
from deconflict.domain.volumes import LatLng

#: Vertices per quarter circle on the rounded ends and bends of a corridor.
_QUAD_SEGMENTS = 4


def corridor_vertices(path: list[LatLng], half_width_m: float, field_name: str = "outline_corridor") -> list[LatLng]:
    """Vertices of the polygon covering every point within `half_width_m` of the path.

    The path is laid out in an azimuthal equidistant plane centred on it and widened there;
    for corridors up to a few hundred kilometres long the result is within metres of the
    exact geodesic buffer (the error grows with the square of the length).
    """
    if len(path) < 2:
        raise InvalidInput("a corridor needs at least 2 points", field=f"{field_name}.path")
    if not (np.isfinite(half_width_m) and half_width_m > 0):
        raise InvalidInput("half-width must be a finite number greater than 0", field=f"{field_name}.half_width.value")
    lat = np.array([p.lat for p in path], dtype=np.float64)
    lng = np.array([p.lng for p in path], dtype=np.float64)
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lng))):
        raise InvalidInput("coordinates must be finite numbers", field=f"{field_name}.path")
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lng) > 180):
        raise InvalidInput("coordinates out of range", field=f"{field_name}.path")
    centre = geodesy.centroid_direction(lat, lng)
    if centre is None:
        raise InvalidInput("corridor spans too much of the globe", field=f"{field_name}.path")
    dense_lat, dense_lng = geodesy.densify_polyline(lat, lng)
    x, y = geodesy.aeqd_forward(centre[0], centre[1], dense_lat, dense_lng)
    line = shapely.LineString(np.column_stack([x, y]))
    shape = line.buffer(half_width_m, quad_segs=_QUAD_SEGMENTS)
    if not isinstance(shape, shapely.Polygon) or shape.is_empty:
        raise InvalidInput("corridor does not form a single area", field=f"{field_name}.path")
    ring = np.asarray(shape.exterior.coords)[:-1]
    out_lat, out_lng = geodesy.aeqd_inverse(centre[0], centre[1], ring[:, 0], ring[:, 1])
    return [LatLng(float(a), float(b)) for a, b in zip(out_lat, out_lng, strict=True)]
