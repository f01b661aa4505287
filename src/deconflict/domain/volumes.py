"""4D volumes: a horizontal outline (polygon or circle), an altitude band and a time window.

Inputs arrive already parsed into SI units (metres, UTC datetimes); the checks here
are the ones that need geodesy: vertex ranges, self-intersection, area, size.
An `Outline` is immutable and carries a prepared, densified footprint for the
conflict engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely

from deconflict.domain import geodesy
from deconflict.domain.errors import InvalidInput
from deconflict.domain.geodesy import FloatArray

#: Hard limit on the distance from an outline's centre to its edge, whatever the configured
#: maximum area: beyond it a local projection is no longer a faithful model of the outline.
MAX_CAP_RADIUS_M = 2_500_000.0
#: Altitude range accepted by ASTM F3548-21 (metres, WGS84).
ALTITUDE_MIN_M = -8_000.0
ALTITUDE_MAX_M = 100_000.0


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
    vertices_field = f"{field_name}.vertices"
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
    lat = np.array([p.lat for p in points], dtype=np.float64)
    lng = np.array([p.lng for p in points], dtype=np.float64)
    edge_m = geodesy.ring_edges_m(lat, lng)
    if np.any(edge_m < 0.01):
        i = int(np.argmin(edge_m))
        raise InvalidInput(f"vertices {i} and {(i + 1) % len(points)} are duplicates", field=vertices_field)
    centre = geodesy.centroid_direction(lat, lng)
    if centre is None:
        raise InvalidInput("polygon spans too much of the globe", field=vertices_field)
    dense_lat, dense_lng = geodesy.densify_ring(lat, lng, edge_m=edge_m)
    # The azimuthal equidistant plane keeps distances from its centre: the outline's reach is its
    # farthest projected vertex (no second geodesic computation of the same distances).
    x, y = geodesy.aeqd_forward(centre[0], centre[1], dense_lat, dense_lng)
    cap_m = float(np.max(np.hypot(x, y)))
    if cap_m > MAX_CAP_RADIUS_M:
        raise InvalidInput(
            f"polygon reaches {cap_m / 1000:.0f} km from its centre; the limit is {MAX_CAP_RADIUS_M / 1000:.0f} km",
            field=vertices_field,
        )
    ring = shapely.Polygon(np.column_stack([x, y]))
    if not ring.is_valid:
        raise InvalidInput("polygon edges cross each other (self-intersecting outline)", field=vertices_field)
    area_m2 = geodesy.geodesic_area_m2(lat, lng)
    if area_m2 < 1.0:
        raise InvalidInput("polygon has zero area (collinear vertices)", field=vertices_field)
    _check_area(area_m2, limits, vertices_field)
    return Outline(
        kind="polygon",
        vertices=tuple(points),
        center=LatLng(*centre),
        radius_m=0.0,
        cap_radius_m=cap_m,
        dense_lat=dense_lat,
        dense_lng=dense_lng,
        area_m2=area_m2,
    )


def circle_outline(center: LatLng, radius_m: float, limits: Limits, field_name: str = "outline_circle") -> Outline:
    """Validate and prepare a geodesic circle (ASTM F3548-21 `Circle`)."""
    _check_point(center.lat, center.lng, f"{field_name}.center")
    if not math.isfinite(radius_m) or radius_m <= 0:
        raise InvalidInput("radius must be a finite number greater than 0", field=f"{field_name}.radius.value")
    if radius_m > MAX_CAP_RADIUS_M:
        raise InvalidInput(
            f"radius {radius_m:.0f} m exceeds the limit of {MAX_CAP_RADIUS_M:.0f} m", field=f"{field_name}.radius.value"
        )
    # Area of a geodesic circle on the ellipsoid is within 0.5 % of the spherical cap area for these sizes.
    area_m2 = 2 * math.pi * geodesy.EARTH_MEAN_RADIUS_M**2 * (1 - math.cos(radius_m / geodesy.EARTH_MEAN_RADIUS_M))
    _check_area(area_m2, limits, f"{field_name}.radius.value")
    dense_lat, dense_lng = circle_ring(center, radius_m)
    return Outline(
        kind="circle",
        vertices=(),
        center=center,
        radius_m=radius_m,
        cap_radius_m=radius_m,
        dense_lat=dense_lat,
        dense_lng=dense_lng,
        area_m2=area_m2,
    )


def circle_ring(center: LatLng, radius_m: float, segments: int = 72) -> tuple[FloatArray, FloatArray]:
    """Points on a geodesic circle, for display and for the coarse index (not for exact tests)."""
    az = np.linspace(0.0, 360.0, segments, endpoint=False)
    lng, lat, _ = geodesy.GEOD.fwd(
        np.full(segments, center.lng), np.full(segments, center.lat), az, np.full(segments, radius_m)
    )
    return np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)


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
