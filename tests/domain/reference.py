"""Geodesic reference for the domain tests, computed independently of the engine's method.

The engine projects densified outlines into a local azimuthal plane and measures there
with shapely. This reference never does. It walks every polygon edge as a true geodesic
(`Geod.fwd` from the edge's start along its azimuth) and minimises geodesic distances
(`Geod.inv`) along edges with vectorised golden-section searches:

* point to edge: the distance from a point to the points of a geodesic edge is unimodal
  along the edge (for edges well short of half a great circle, as in these tests), so one
  search finds it;
* edge to edge: the distance from a point of one edge to the other edge is again unimodal
  along the first, so a search whose every step is a point-to-edge search finds it
  (0 where the edges cross);
* circles are exact by definition: every point within the radius of the centre.

Containment (one region nested inside the other) is decided with a numpy even-odd test
on rings sampled every few hundred metres in PROJ's azimuthal equidistant projection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Geod, Transformer

from deconflict.domain.volumes import Outline

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Geodesic edges as (start lat, start lng, azimuth, length) arrays, one row per edge.
Edges = tuple[FloatArray, FloatArray, FloatArray, FloatArray]

GEOD = Geod(ellps="WGS84")

_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
#: 0.618**64 * 5,000 km < 0.1 mm: enough steps to pin any edge of these tests far below a millimetre.
_GOLDEN_STEPS = 64
_RING_SAMPLES = 8000


@dataclass(frozen=True)
class Polygon:
    """A ring of geodesic edges between (lat, lng) vertices, given without the closing vertex."""

    lat: FloatArray
    lng: FloatArray

    def edges(self) -> Edges:
        """(start lat, start lng, azimuth, length) of every edge."""
        nxt = np.roll(np.arange(len(self.lat)), -1)
        az, _, length = GEOD.inv(self.lng, self.lat, self.lng[nxt], self.lat[nxt])
        return self.lat, self.lng, np.asarray(az, dtype=np.float64), np.asarray(length, dtype=np.float64)

    def ring(self, samples: int = _RING_SAMPLES) -> tuple[FloatArray, FloatArray]:
        """About `samples` points along the boundary, every edge walked as a geodesic."""
        lat0, lng0, az, length = self.edges()
        per_edge = np.maximum(1, np.round(samples * length / length.sum()).astype(int))
        edge = np.repeat(np.arange(len(length)), per_edge)
        frac = np.concatenate([np.arange(n) / n for n in per_edge])
        lng, lat, _ = GEOD.fwd(lng0[edge], lat0[edge], az[edge], frac * length[edge])
        return np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)

    def contains(self, lat: FloatArray, lng: FloatArray) -> BoolArray:
        centre_lat, centre_lng = mean_direction(self.lat, self.lng)
        to_plane = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={centre_lat} +lon_0={centre_lng} +ellps=WGS84 +units=m", always_xy=True
        )
        ring_lat, ring_lng = self.ring()
        rx, ry = to_plane.transform(ring_lng, ring_lat)
        px, py = to_plane.transform(np.atleast_1d(lng), np.atleast_1d(lat))
        return _even_odd(*(np.asarray(v, dtype=np.float64) for v in (rx, ry, px, py)))


@dataclass(frozen=True)
class Circle:
    """Every point within `radius_m` (geodesic) of the centre."""

    lat: float
    lng: float
    radius_m: float

    def contains(self, lat: FloatArray, lng: FloatArray) -> BoolArray:
        n = len(lat)
        _, _, dist = GEOD.inv(np.full(n, self.lng), np.full(n, self.lat), lng, lat)
        return np.asarray(dist, dtype=np.float64) <= self.radius_m


Shape = Polygon | Circle


def polygon(vertices: list[tuple[float, float]]) -> Polygon:
    """A reference polygon from (lat, lng) vertices."""
    return Polygon(
        np.array([v[0] for v in vertices], dtype=np.float64), np.array([v[1] for v in vertices], dtype=np.float64)
    )


def of_outline(outline: Outline) -> Shape:
    """The reference shape of an engine outline, rebuilt from its raw inputs (vertices, or centre and radius)."""
    if outline.is_circle:
        return Circle(outline.center.lat, outline.center.lng, outline.radius_m)
    return polygon([(v.lat, v.lng) for v in outline.vertices])


def mean_direction(lat: FloatArray, lng: FloatArray) -> tuple[float, float]:
    """Latitude/longitude of the mean of the points' unit vectors."""
    la, ln = np.radians(lat), np.radians(lng)
    x, y, z = np.mean(np.cos(la) * np.cos(ln)), np.mean(np.cos(la) * np.sin(ln)), np.mean(np.sin(la))
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def offset(lat: float, lng: float, azimuth_deg: float, distance_m: float) -> tuple[float, float]:
    """The point `distance_m` along the geodesic leaving (lat, lng) at `azimuth_deg`."""
    lng2, lat2, _ = GEOD.fwd(lng, lat, azimuth_deg, distance_m)
    return float(lat2), float(lng2)


def _even_odd(rx: FloatArray, ry: FloatArray, px: FloatArray, py: FloatArray) -> BoolArray:
    x1, y1 = rx[None, :], ry[None, :]
    x2, y2 = np.roll(rx, -1)[None, :], np.roll(ry, -1)[None, :]
    qx, qy = px[:, None], py[:, None]
    straddles = (y1 > qy) != (y2 > qy)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (qy - y1) * (x2 - x1) / (y2 - y1)
    return np.asarray(np.sum(straddles & (qx < x_cross), axis=1) % 2 == 1)


def _golden_min(f: Callable[[FloatArray], FloatArray], hi: FloatArray) -> FloatArray:
    """Row-wise minimum of unimodal `f` over [0, hi] (vectorised golden-section search, ends included)."""
    a, b = np.zeros_like(hi), hi.copy()
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_GOLDEN_STEPS):
        left = fc < fd  # the minimum lies in [a, d]: drop (d, b]; otherwise drop [a, c)
        a, b = np.where(left, a, c), np.where(left, d, b)
        probe = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        fp = f(probe)
        c, fc, d, fd = (
            np.where(left, probe, d),
            np.where(left, fp, fd),
            np.where(left, c, probe),
            np.where(left, fc, fp),
        )
    return np.asarray(np.minimum.reduce([fc, fd, f(np.zeros_like(hi)), f(hi)]), dtype=np.float64)


def _along(lat0: FloatArray, lng0: FloatArray, az: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    lng, lat, _ = GEOD.fwd(lng0, lat0, az, s)
    return np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)


def _inv(lat1: FloatArray, lng1: FloatArray, lat2: FloatArray, lng2: FloatArray) -> FloatArray:
    _, _, dist = GEOD.inv(lng1, lat1, lng2, lat2)
    return np.asarray(dist, dtype=np.float64)


def _points_to_edges_m(lat: FloatArray, lng: FloatArray, edges: Edges) -> FloatArray:
    """Row-wise distance from point i to edge i."""
    e_lat, e_lng, e_az, e_len = edges
    return _golden_min(lambda s: _inv(lat, lng, *_along(e_lat, e_lng, e_az, s)), e_len)


def _polygon_to_point_m(poly: Polygon, lat: float, lng: float) -> float:
    """Distance from a point to the polygon's boundary."""
    edges = poly.edges()
    n = len(edges[0])
    return float(np.min(_points_to_edges_m(np.full(n, lat), np.full(n, lng), edges)))


def _boundaries_m(a: Polygon, b: Polygon) -> float:
    """Distance between two polygon boundaries: every edge of `a` against every edge of `b`."""
    ea, eb = a.edges(), b.edges()
    ia, ib = (g.ravel() for g in np.meshgrid(np.arange(len(ea[0])), np.arange(len(eb[0])), indexing="ij"))
    a_rows: Edges = (ea[0][ia], ea[1][ia], ea[2][ia], ea[3][ia])
    b_rows: Edges = (eb[0][ib], eb[1][ib], eb[2][ib], eb[3][ib])

    def to_b_edge(s: FloatArray) -> FloatArray:
        lat, lng = _along(a_rows[0], a_rows[1], a_rows[2], s)
        return _points_to_edges_m(lat, lng, b_rows)

    return float(np.min(_golden_min(to_b_edge, a_rows[3])))


def _vertex(shape: Shape) -> tuple[FloatArray, FloatArray]:
    if isinstance(shape, Circle):
        return np.array([shape.lat]), np.array([shape.lng])
    return shape.lat[:1], shape.lng[:1]


def separation_m(a: Shape, b: Shape) -> float:
    """Minimum geodesic distance between the two closed regions (0 when they meet or nest)."""
    if isinstance(a, Circle) and isinstance(b, Circle):
        return max(0.0, float(_inv(*_vertex(a), *_vertex(b))[0]) - a.radius_m - b.radius_m)
    if bool(a.contains(*_vertex(b))[0]) or bool(b.contains(*_vertex(a))[0]):
        return 0.0
    if isinstance(a, Circle) or isinstance(b, Circle):
        circle, poly = (a, b) if isinstance(a, Circle) else (b, a)
        assert isinstance(circle, Circle)
        assert isinstance(poly, Polygon)
        return max(0.0, _polygon_to_point_m(poly, circle.lat, circle.lng) - circle.radius_m)
    assert isinstance(a, Polygon)
    assert isinstance(b, Polygon)
    return _boundaries_m(a, b)


def distance_to_m(lat: float, lng: float, shape: Shape) -> float:
    """Geodesic distance from a point to a region (0 inside)."""
    return separation_m(Circle(lat, lng, 0.0), shape)


def dense_sample_separation_m(a: Polygon, b: Polygon, samples: int) -> float:
    """Plain brute force: min distance over all pairs of `samples` points on each boundary (an upper bound)."""
    lat_a, lng_a = a.ring(samples)
    lat_b, lng_b = b.ring(samples)
    ga, gb = np.meshgrid(np.arange(len(lat_a)), np.arange(len(lat_b)), indexing="ij")
    return float(np.min(_inv(lat_a[ga.ravel()], lng_a[ga.ravel()], lat_b[gb.ravel()], lng_b[gb.ravel()])))
