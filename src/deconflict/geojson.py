"""Reading volumes from GeoJSON files (for `deconflict check`): one Feature per extent.

Geometry: Polygon (outer ring only), Point with `radius_m`, or LineString with `half_width_m`.
Properties: `altitude_lower_m`/`altitude_upper_m` (or `_ft`), `time_start`, `time_end` (RFC 3339).
"""

from __future__ import annotations

from typing import Any


class GeoJSONError(ValueError):
    pass


def _altitude(props: dict[str, Any], which: str, i: int) -> dict[str, Any]:
    for unit, suffix in (("M", "_m"), ("FT", "_ft")):
        key = f"altitude_{which}{suffix}"
        if key in props:
            return {"value": props[key], "reference": "W84", "units": unit}
    raise GeoJSONError(f"feature {i}: property altitude_{which}_m (or _ft) is required")


def _points(coords: list[Any]) -> list[dict[str, float]]:
    return [{"lat": c[1], "lng": c[0]} for c in coords]


def extents_from_geojson(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """ASTM-style Volume4D request bodies for each feature."""
    if doc.get("type") == "Feature":
        features = [doc]
    elif doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
    else:
        raise GeoJSONError("expected a GeoJSON Feature or FeatureCollection")
    if not features:
        raise GeoJSONError("no features")
    out = []
    for i, f in enumerate(features):
        geometry = f.get("geometry") or {}
        props = f.get("properties") or {}
        kind = geometry.get("type")
        coords: Any = geometry.get("coordinates")
        try:
            if kind == "Polygon":
                shape: dict[str, Any] = {"outline_polygon": {"vertices": _points(coords[0])}}
            elif kind == "Point":
                radius = {"value": props["radius_m"], "units": "M"}
                shape = {"outline_circle": {"center": {"lat": coords[1], "lng": coords[0]}, "radius": radius}}
            elif kind == "LineString":
                width = {"value": props["half_width_m"], "units": "M"}
                shape = {"outline_corridor": {"path": _points(coords), "half_width": width}}
            else:
                raise GeoJSONError(f"feature {i}: geometry must be Polygon, Point or LineString, not {kind}")
        except (KeyError, IndexError, TypeError) as exc:
            raise GeoJSONError(f"feature {i}: malformed {kind} ({exc})") from None
        for key in ("time_start", "time_end"):
            if key not in props:
                raise GeoJSONError(f"feature {i}: property {key} is required")
        shape["altitude_lower"] = _altitude(props, "lower", i)
        shape["altitude_upper"] = _altitude(props, "upper", i)
        out.append(
            {
                "volume": shape,
                "time_start": {"value": props["time_start"], "format": "RFC3339"},
                "time_end": {"value": props["time_end"], "format": "RFC3339"},
            }
        )
    return out
