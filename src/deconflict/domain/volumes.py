"""4D volumes: a horizontal outline (polygon or circle), an altitude band and a time window.

Inputs arrive already parsed into SI units (metres, UTC datetimes); the checks here
are the ones that need geodesy: vertex ranges, self-intersection, area, size.
An `Outline` is immutable and carries a prepared, densified footprint for the
conflict engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely

from deconflict.domain import geodesy, plane
from deconflict.domain.errors import InvalidInput
from deconflict.domain.geodesy import FloatArray

#: Hard limit on the distance from an outline's centre to its edge, whatever the configured
#: maximum area: beyond it a local projection is no longer a faithful model of the outline.
MAX_CAP_RADIUS_M = 2_500_000.0
#: Altitude range accepted by ASTM F3548-21 (metres, WGS84).
ALTITUDE_MIN_M = -8_000.0
ALTITUDE_MAX_M = 100_000.0
#: Points on a circle's ring (display and the coarse index).
CIRCLE_RING_SEGMENTS = 72


@dataclass(frozen=True)
class LatLng:
    lat: float
    lng: float


@dataclass(frozen=True)
class Limits:
    """Configurable size limits on outlines."""

    max_area_m2: float = 10_000.0 * 1e6
    max_vertices: int = 1_000


@dataclass(frozen=True, eq=False)
class Outline:
    """A horizontal outline prepared for geodesic computation.

    `kind` is ``"polygon"`` (edges are geodesics between `vertices`) or ``"circle"``
    (all points within `radius_m` of `center`, along the ellipsoid).
    """

    kind: str
    vertices: tuple[LatLng, ...]
    center: LatLng
    radius_m: float
    #: For polygons, the max geodesic distance from `center` to the outline; for circles, the radius.
    cap_radius_m: float
    dense_lat: FloatArray = field(repr=False)
    dense_lng: FloatArray = field(repr=False)
    area_m2: float = 0.0

    @property
    def is_circle(self) -> bool:
        return self.kind == "circle"


@dataclass(frozen=True)
class AltitudeBand:
    lower_m: float
    upper_m: float


@dataclass(frozen=True)
class TimeWindow:
    """A time window; `None` bounds are open (zones may be open-ended)."""

    start: datetime | None
    end: datetime | None

    def start_s(self) -> float:
        return -math.inf if self.start is None else self.start.timestamp()

    def end_s(self) -> float:
        return math.inf if self.end is None else self.end.timestamp()


@dataclass(frozen=True)
class Volume4D:
    outline: Outline
    altitude: AltitudeBand
    time: TimeWindow


def _check_point(lat: float, lng: float, field_name: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise InvalidInput("coordinates must be finite numbers", field=field_name)
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(f"latitude {lat} is outside [-90, 90]", field=f"{field_name}.lat")
    if not -180.0 <= lng <= 180.0:
        raise InvalidInput(f"longitude {lng} is outside [-180, 180]", field=f"{field_name}.lng")


def polygon_outline(points: list[LatLng], limits: Limits, field_name: str = "outline_polygon") -> Outline:
    """Validate and prepare a polygon whose edges are geodesics (ASTM F3548-21 `Polygon`)."""
    return polygon_outlines([points], limits, field_name)[0]


def polygon_outlines(
    polygons: Sequence[Sequence[LatLng]], limits: Limits, field_name: str = "outline_polygon"
) -> list[Outline]:
    """`polygon_outline` for many polygons at once (loading a store prepares every stored outline again):
    each geodesic and shapely step is one call for all of them. Every step works vertex by vertex or
    polygon by polygon, so a polygon comes out the same alone or in a batch. The first polygon that
    fails a check, in the order of the checks, is the one reported."""
    vertices_field = f"{field_name}.vertices"
    rings: list[Sequence[LatLng]] = []
    for points in polygons:
        for i, p in enumerate(points):
            _check_point(p.lat, p.lng, f"{vertices_field}[{i}]")
        if len(points) >= 2 and points[0] == points[-1]:
            points = points[:-1]  # a closing vertex repeating the first is tolerated and dropped
        if len(points) < 3:
            raise InvalidInput("a polygon needs at least 3 distinct vertices", field=vertices_field)
        if len(points) > limits.max_vertices:
            raise InvalidInput(
                f"polygon has {len(points)} vertices; the maximum is {limits.max_vertices}", field=vertices_field
            )
        rings.append(points)
    if not rings:
        return []
    sizes = np.array([len(r) for r in rings], dtype=np.int64)
    start = np.zeros(len(rings), dtype=np.int64)
    np.cumsum(sizes[:-1], out=start[1:])
    lat = np.array([p.lat for r in rings for p in r], dtype=np.float64)
    lng = np.array([p.lng for r in rings for p in r], dtype=np.float64)
    edge_m = geodesy.rings_edges_m(lat, lng, sizes)
    repeating = plane.true_at(np.minimum.reduceat(edge_m, start) < 0.01)
    if len(repeating):
        k = int(repeating[0])
        i = int(np.argmin(edge_m[start[k] : start[k] + sizes[k]]))
        raise InvalidInput(f"vertices {i} and {(i + 1) % sizes[k]} are duplicates", field=vertices_field)
    found = geodesy.centroid_directions(lat, lng, sizes)
    centres = [c for c in found if c is not None]
    if len(centres) < len(found):
        raise InvalidInput("polygon spans too much of the globe", field=vertices_field)
    dense = [_densified(lat, lng, edge_m, a, n) for a, n in zip(start.tolist(), sizes.tolist(), strict=True)]
    dense_sizes = np.array([len(d[0]) for d in dense], dtype=np.int64)
    dense_lat = np.concatenate([d[0] for d in dense])
    dense_lng = np.concatenate([d[1] for d in dense])
    # The azimuthal equidistant plane keeps distances from its centre: an outline's reach is its farthest
    # projected vertex (no second geodesic computation of the same distances).
    centre_lat, centre_lng = (np.repeat(np.array([c[j] for c in centres]), dense_sizes) for j in (0, 1))
    x, y = geodesy.aeqd_forward_each(centre_lat, centre_lng, dense_lat, dense_lng)
    dense_start = np.zeros(len(rings), dtype=np.int64)
    np.cumsum(dense_sizes[:-1], out=dense_start[1:])
    caps = np.maximum.reduceat(np.hypot(x, y), dense_start)
    too_far_m = caps[caps > MAX_CAP_RADIUS_M]
    if len(too_far_m):
        limit_km = MAX_CAP_RADIUS_M / 1000
        raise InvalidInput(
            f"polygon reaches {too_far_m[0] / 1000:.0f} km from its centre; the limit is {limit_km:.0f} km",
            field=vertices_field,
        )
    if not shapely.is_valid(plane.closed_polygons(np.column_stack([x, y]), dense_sizes)).all():
        raise InvalidInput("polygon edges cross each other (self-intersecting outline)", field=vertices_field)
    outlines = []
    for k, (a, n) in enumerate(zip(start.tolist(), sizes.tolist(), strict=True)):
        area_m2 = geodesy.geodesic_area_m2(lat[a : a + n], lng[a : a + n])
        if area_m2 < 1.0:
            raise InvalidInput("polygon has zero area (collinear vertices)", field=vertices_field)
        _check_area(area_m2, limits, vertices_field)
        outlines.append(
            Outline(
                kind="polygon",
                vertices=tuple(rings[k]),
                center=LatLng(*centres[k]),
                radius_m=0.0,
                cap_radius_m=float(caps[k]),
                dense_lat=dense[k][0],
                dense_lng=dense[k][1],
                area_m2=area_m2,
            )
        )
    return outlines


def _densified(lat: FloatArray, lng: FloatArray, edge_m: FloatArray, a: int, n: int) -> tuple[FloatArray, FloatArray]:
    """Ring `lat[a:a + n]`, `lng[a:a + n]` with points along its edges longer than the densification step
    (copies: the outline keeps them, not the batch's arrays)."""
    ring_lat, ring_lng, ring_edge_m = lat[a : a + n], lng[a : a + n], edge_m[a : a + n]
    if ring_edge_m.max() <= geodesy.DENSIFY_MAX_SEGMENT_M:
        return ring_lat.copy(), ring_lng.copy()
    return geodesy.densify_ring(ring_lat, ring_lng, edge_m=ring_edge_m)


def circle_outline(center: LatLng, radius_m: float, limits: Limits, field_name: str = "outline_circle") -> Outline:
    """Validate and prepare a geodesic circle (ASTM F3548-21 `Circle`)."""
    return circle_outlines([(center, radius_m)], limits, field_name)[0]


def circle_outlines(
    circles: Sequence[tuple[LatLng, float]], limits: Limits, field_name: str = "outline_circle"
) -> list[Outline]:
    """`circle_outline` for many (centre, radius) at once: every circle's ring in one geodesic call."""
    areas = []
    for center, radius_m in circles:
        _check_point(center.lat, center.lng, f"{field_name}.center")
        if not math.isfinite(radius_m) or radius_m <= 0:
            raise InvalidInput("radius must be a finite number greater than 0", field=f"{field_name}.radius.value")
        if radius_m > MAX_CAP_RADIUS_M:
            raise InvalidInput(
                f"radius {radius_m:.0f} m exceeds the limit of {MAX_CAP_RADIUS_M:.0f} m",
                field=f"{field_name}.radius.value",
            )
        # Area of a geodesic circle on the ellipsoid is within 0.5 % of the spherical cap area for these sizes.
        r = geodesy.EARTH_MEAN_RADIUS_M
        area_m2 = 2 * math.pi * r**2 * (1 - math.cos(radius_m / r))
        _check_area(area_m2, limits, f"{field_name}.radius.value")
        areas.append(area_m2)
    if not circles:
        return []
    ring_lat, ring_lng = circle_rings([c for c, _ in circles], np.array([r for _, r in circles], dtype=np.float64))
    return [
        Outline(
            kind="circle",
            vertices=(),
            center=center,
            radius_m=radius_m,
            cap_radius_m=radius_m,
            # Copies, not views: a view would keep the whole batch's rings alive while any one outline lives.
            dense_lat=ring_lat[k].copy(),
            dense_lng=ring_lng[k].copy(),
            area_m2=areas[k],
        )
        for k, (center, radius_m) in enumerate(circles)
    ]


def circle_ring(center: LatLng, radius_m: float, segments: int = CIRCLE_RING_SEGMENTS) -> tuple[FloatArray, FloatArray]:
    """Points on a geodesic circle, for display and for the coarse index (not for exact tests)."""
    lat, lng = circle_rings([center], np.array([radius_m]), segments)
    return lat[0].copy(), lng[0].copy()


def circle_rings(
    centers: Sequence[LatLng], radius_m: FloatArray, segments: int = CIRCLE_RING_SEGMENTS
) -> tuple[FloatArray, FloatArray]:
    """`circle_ring` of many circles in one geodesic call: (circles, segments) latitudes and longitudes."""
    n = len(centers)
    az = np.tile(np.linspace(0.0, 360.0, segments, endpoint=False), n)
    lng0 = np.repeat(np.array([c.lng for c in centers], dtype=np.float64), segments)
    lat0 = np.repeat(np.array([c.lat for c in centers], dtype=np.float64), segments)
    lng, lat, _ = geodesy.GEOD.fwd(lng0, lat0, az, np.repeat(radius_m, segments))
    shape = (n, segments)
    return np.asarray(lat, dtype=np.float64).reshape(shape), np.asarray(lng, dtype=np.float64).reshape(shape)


def _check_area(area_m2: float, limits: Limits, field_name: str) -> None:
    if area_m2 > limits.max_area_m2:
        raise InvalidInput(
            f"outline covers {area_m2 / 1e6:,.0f} km²; the maximum is {limits.max_area_m2 / 1e6:,.0f} km²",
            field=field_name,
        )


def altitude_band(lower_m: float, upper_m: float, field_name: str = "volume") -> AltitudeBand:
    for name, value in (("altitude_lower", lower_m), ("altitude_upper", upper_m)):
        if not math.isfinite(value):
            raise InvalidInput("altitude must be a finite number", field=f"{field_name}.{name}.value")
        if not ALTITUDE_MIN_M <= value <= ALTITUDE_MAX_M:
            raise InvalidInput(
                f"altitude {value} m is outside [{ALTITUDE_MIN_M:.0f}, {ALTITUDE_MAX_M:.0f}] m",
                field=f"{field_name}.{name}.value",
            )
    if lower_m > upper_m:
        raise InvalidInput(
            f"altitude_lower ({lower_m} m) is above altitude_upper ({upper_m} m)", field=f"{field_name}.altitude_lower"
        )
    return AltitudeBand(lower_m, upper_m)


def time_window(
    start: datetime | None,
    end: datetime | None,
    now: datetime | None,
    *,
    open_ended: bool = False,
    field_name: str = "",
) -> TimeWindow:
    """Validate a time window against server time `now` (None: not yet, see `not_over`); operations need
    both bounds, zones may omit them."""
    prefix = f"{field_name}." if field_name else ""
    if not open_ended:
        if start is None:
            raise InvalidInput("time_start is required", field=f"{prefix}time_start")
        if end is None:
            raise InvalidInput("time_end is required", field=f"{prefix}time_end")
    for name, value in (("time_start", start), ("time_end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("time must carry a UTC offset (e.g. 'Z')", field=f"{prefix}{name}")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("time_end must be after time_start", field=f"{prefix}time_end")
    window = TimeWindow(start, end)
    if now is not None:
        not_over(window, now, field_name)
    return window


def not_over(window: TimeWindow, now: datetime, field_name: str = "") -> None:
    """Refuse a window that ends at or before server time `now`."""
    end = window.end
    if end is not None and end <= now:
        prefix = f"{field_name}." if field_name else ""
        raise InvalidInput(
            f"time_end {end.isoformat()} is in the past (server time {now.isoformat()})", field=f"{prefix}time_end"
        )
