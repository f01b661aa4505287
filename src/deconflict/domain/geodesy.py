"""Geodesic primitives on the WGS84 ellipsoid (Karney's algorithms via pyproj.Geod).

Everything horizontal in deconflict reduces to three tools defined here:

* exact geodesic distance and direct/inverse problems (`GEOD`);
* an ellipsoidal azimuthal equidistant (AEQD) projection about any point,
  built from the inverse/direct geodesic problems, so distances and azimuths
  from the centre are exact and a projection can be centred wherever a
  measurement needs to be exact (including across the antimeridian and at
  the poles); lines up to 1,000 km are solved by the compiled `short_lines`
  (micrometres from pyproj, under half its cost), the rest by pyproj;
* densification of geodesic edges, so that an edge drawn as a chord in a
  local projection follows the true shortest path to well under a metre.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pyproj import Geod

from deconflict.domain import short_lines

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GEOD = Geod(ellps="WGS84")
EARTH_MEAN_RADIUS_M = 6_371_008.8

#: Longest geodesic edge kept as a single chord in local projections.
DENSIFY_MAX_SEGMENT_M = 10_000.0


def unit_vector(lat_deg: FloatArray, lng_deg: FloatArray) -> FloatArray:
    """Unit vectors (n, 3) on the sphere for latitude/longitude arrays (degrees)."""
    lat = np.radians(lat_deg)
    lng = np.radians(lng_deg)
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lng), cos_lat * np.sin(lng), np.sin(lat)], axis=-1)


def lat_lng_of(vector: FloatArray) -> tuple[float, float]:
    """Latitude/longitude (degrees) of a 3-vector (need not be normalised)."""
    x, y, z = (float(v) for v in vector)
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def centroid_direction(lat_deg: FloatArray, lng_deg: FloatArray) -> tuple[float, float] | None:
    """Mean direction of points on the sphere, or None if they cancel out (spread over a hemisphere)."""
    return centroid_directions(lat_deg, lng_deg, np.array([len(lat_deg)]))[0]


def centroid_directions(lat_deg: FloatArray, lng_deg: FloatArray, sizes: IntArray) -> list[tuple[float, float] | None]:
    """`centroid_direction` of each group of points, the groups (of these sizes) one after another."""
    start = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=start[1:])
    means = np.add.reduceat(unit_vector(lat_deg, lng_deg), start, axis=0) / np.asarray(sizes)[:, None]
    apart = np.linalg.norm(means, axis=1) >= 1e-6
    return [lat_lng_of(m) if ok else None for m, ok in zip(means, apart.tolist(), strict=True)]


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Geodesic distance on WGS84 in metres."""
    _, _, dist = GEOD.inv(lng1, lat1, lng2, lat2)
    return float(dist)


def distances_from_m(lat0: float, lng0: float, lat_deg: FloatArray, lng_deg: FloatArray) -> FloatArray:
    """Geodesic distances (m) from one point to many."""
    n = len(lat_deg)
    _, _, dist = GEOD.inv(np.full(n, lng0), np.full(n, lat0), lng_deg, lat_deg)
    return np.asarray(dist, dtype=np.float64)


def aeqd_forward(lat0: float, lng0: float, lat_deg: FloatArray, lng_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Project to the ellipsoidal azimuthal equidistant plane centred on (lat0, lng0); metres east/north."""
    n = len(lat_deg)
    return aeqd_forward_each(np.full(n, lat0), np.full(n, lng0), lat_deg, lng_deg)


def aeqd_forward_each(
    lat0: FloatArray, lng0: FloatArray, lat_deg: FloatArray, lng_deg: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`aeqd_forward` with a centre per point: many projections in one call.

    Short lines are projected by `short_lines` (compiled Vincenty, micrometres from pyproj), the rest by pyproj.
    """
    lat0, lng0, lat_deg, lng_deg = (np.asarray(a, dtype=np.float64) for a in (lat0, lng0, lat_deg, lng_deg))
    x, y, answered = short_lines.forward(lat0, lng0, lat_deg, lng_deg)
    if not answered.all():
        left = ~answered
        az, _, dist = GEOD.inv(lng0[left], lat0[left], lng_deg[left], lat_deg[left])
        az_rad = np.radians(np.asarray(az, dtype=np.float64))
        dist_m = np.asarray(dist, dtype=np.float64)
        x[left], y[left] = dist_m * np.sin(az_rad), dist_m * np.cos(az_rad)
    return x, y


def aeqd_inverse_each(
    lat0: FloatArray, lng0: FloatArray, x_m: FloatArray, y_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`aeqd_inverse` with a centre per point (short lines by `short_lines`, the rest by pyproj)."""
    lat0, lng0, x_m, y_m = (np.asarray(a, dtype=np.float64) for a in (lat0, lng0, x_m, y_m))
    lat, lng, answered = short_lines.inverse(lat0, lng0, x_m, y_m)
    if not answered.all():
        left = ~answered
        az = np.degrees(np.arctan2(x_m[left], y_m[left]))
        dist = np.hypot(x_m[left], y_m[left])
        far_lng, far_lat, _ = GEOD.fwd(lng0[left], lat0[left], az, dist)
        lat[left], lng[left] = far_lat, far_lng
    return lat, lng


def distances_between_m(lat1: FloatArray, lng1: FloatArray, lat2: FloatArray, lng2: FloatArray) -> FloatArray:
    """Geodesic distances (m) between pairs of points, in one call."""
    _, _, dist = GEOD.inv(lng1, lat1, lng2, lat2)
    return np.asarray(dist, dtype=np.float64)


def aeqd_inverse(lat0: float, lng0: float, x_m: FloatArray, y_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of `aeqd_forward`: (lat, lng) degrees of plane points."""
    n = len(x_m)
    return aeqd_inverse_each(np.full(n, lat0), np.full(n, lng0), x_m, y_m)


def ring_edges_m(lat_deg: FloatArray, lng_deg: FloatArray) -> FloatArray:
    """The length (m) of each geodesic edge of a closed ring given without its closing vertex: edge i
    runs from vertex i to the next."""
    return rings_edges_m(lat_deg, lng_deg, np.array([len(lat_deg)]))


def rings_edges_m(lat_deg: FloatArray, lng_deg: FloatArray, sizes: IntArray) -> FloatArray:
    """`ring_edges_m` of rings (of these sizes) one after another, in one geodesic call."""
    following = np.arange(1, len(lat_deg) + 1)
    ends = np.cumsum(sizes)
    following[ends - 1] = ends - sizes
    _, _, length = GEOD.inv(lng_deg, lat_deg, lng_deg[following], lat_deg[following])
    return np.asarray(length, dtype=np.float64)


def densify_ring(
    lat_deg: FloatArray,
    lng_deg: FloatArray,
    max_segment_m: float = DENSIFY_MAX_SEGMENT_M,
    edge_m: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Insert points along each geodesic edge of a closed ring so no edge is longer than `max_segment_m`.

    The ring is given without the closing vertex and returned the same way. `edge_m`: the edges'
    lengths (`ring_edges_m`), when the caller has them already.
    """
    n = len(lat_deg)
    out_lat: list[float] = []
    out_lng: list[float] = []
    nxt = (np.arange(n) + 1) % n
    edge_len = ring_edges_m(lat_deg, lng_deg) if edge_m is None else edge_m
    for i in range(n):
        out_lat.append(float(lat_deg[i]))
        out_lng.append(float(lng_deg[i]))
        pieces = math.ceil(float(edge_len[i]) / max_segment_m)
        if pieces > 1:
            j = nxt[i]
            inner = GEOD.npts(lng_deg[i], lat_deg[i], lng_deg[j], lat_deg[j], pieces - 1)
            for lng, lat in inner:
                out_lat.append(lat)
                out_lng.append(lng)
    return np.asarray(out_lat, dtype=np.float64), np.asarray(out_lng, dtype=np.float64)


def densify_polyline(
    lat_deg: FloatArray, lng_deg: FloatArray, max_segment_m: float = DENSIFY_MAX_SEGMENT_M
) -> tuple[FloatArray, FloatArray]:
    """Insert points along each geodesic segment of an open polyline (ends kept)."""
    out_lat: list[float] = [float(lat_deg[0])]
    out_lng: list[float] = [float(lng_deg[0])]
    for i in range(1, len(lat_deg)):
        _, _, length = GEOD.inv(lng_deg[i - 1], lat_deg[i - 1], lng_deg[i], lat_deg[i])
        pieces = math.ceil(float(length) / max_segment_m)
        if pieces > 1:
            for lng, lat in GEOD.npts(lng_deg[i - 1], lat_deg[i - 1], lng_deg[i], lat_deg[i], pieces - 1):
                out_lat.append(lat)
                out_lng.append(lng)
        out_lat.append(float(lat_deg[i]))
        out_lng.append(float(lng_deg[i]))
    return np.asarray(out_lat, dtype=np.float64), np.asarray(out_lng, dtype=np.float64)


def geodesic_area_m2(lat_deg: FloatArray, lng_deg: FloatArray) -> float:
    """Area enclosed by a ring of geodesic edges, taking the smaller of the two regions (ASTM F3548)."""
    area, _ = GEOD.polygon_area_perimeter(lng_deg, lat_deg)
    return abs(float(area))
