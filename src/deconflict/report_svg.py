"""The report's map: the volumes involved as inline SVG (no tiles, no network).

Equirectangular projection about the middle latitude (x scaled by its cosine), which is faithful
enough for the few hundred kilometres a report usually covers. Circles are drawn as the geodesic
ring `domain.volumes.circle_ring` gives; polygon edges as straight lines between the vertices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from deconflict.domain.volumes import LatLng, circle_ring

WIDTH, HEIGHT, MARGIN = 880, 520, 24
#: Conflict overlaps are drawn in this colour; party colours avoid it.
CONFLICT_COLOUR = "#d62728"
PALETTE = ("#1f6fb4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f", "#bcbd22")
_KM_PER_DEG = 111.32

Ring = list[tuple[float, float]]  # (lat, lng)


def party_colours(party_names: Iterable[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(party_names)}


def outline_ring(volume: Mapping[str, Any]) -> Ring:
    """The (lat, lng) ring of an ASTM `Volume4D`'s `volume` (outline_circle or outline_polygon)."""
    if "outline_circle" in volume:
        c = volume["outline_circle"]
        lat, lng = circle_ring(LatLng(c["center"]["lat"], c["center"]["lng"]), float(c["radius"]["value"]))
        return list(zip(lat.tolist(), lng.tolist(), strict=True))
    return [(float(p["lat"]), float(p["lng"])) for p in volume["outline_polygon"]["vertices"]]


def geojson_rings(geometry: Mapping[str, Any] | None) -> list[Ring]:
    """The outer rings of a GeoJSON Polygon / MultiPolygon / GeometryCollection (others draw nothing)."""
    if not geometry:
        return []
    kind = geometry.get("type")
    if kind == "Polygon":
        return [[(lat, lng) for lng, lat, *_ in geometry["coordinates"][0]]]
    if kind == "MultiPolygon":
        return [[(lat, lng) for lng, lat, *_ in poly[0]] for poly in geometry["coordinates"]]
    if kind == "GeometryCollection":
        return [r for g in geometry.get("geometries", []) for r in geojson_rings(g)]
    return []


class _Projection:
    def __init__(self, rings: Sequence[Ring]) -> None:
        lats = [p[0] for r in rings for p in r]
        lngs = [p[1] for r in rings for p in r]
        self.lat0 = (min(lats) + max(lats)) / 2
        self.k = math.cos(math.radians(self.lat0))
        xs, ys = [g * self.k for g in lngs], lats
        span_x, span_y = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
        self.scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
        self.x0 = min(xs) - ((WIDTH - 2 * MARGIN) / self.scale - span_x) / 2
        self.y1 = max(ys) + ((HEIGHT - 2 * MARGIN) / self.scale - span_y) / 2

    def points(self, ring: Ring) -> str:
        return " ".join(
            f"{MARGIN + (lng * self.k - self.x0) * self.scale:.1f},{MARGIN + (self.y1 - lat) * self.scale:.1f}"
            for lat, lng in ring
        )

    def km_per_px(self) -> float:
        return _KM_PER_DEG / self.scale


def _unwrap(ring: Ring, ref_lng: float) -> Ring:
    """Longitudes continuous along the ring and near `ref_lng` (rings crossing ±180 stay whole)."""
    out: Ring = []
    prev = ref_lng
    for lat, lng in ring:
        lng += 360.0 * round((prev - lng) / 360.0)
        out.append((lat, lng))
        prev = lng
    return out


def _shape(proj: _Projection, ring: Ring, colour: str, title: str, css: str) -> str:
    return (
        f'<polygon class="{css}" points="{proj.points(ring)}" fill="{colour}" stroke="{colour}">'
        f"<title>{escape(title)}</title></polygon>"
    )


def map_svg(report: Mapping[str, Any], colours: Mapping[str, str]) -> str:
    """The map of the report's operations, zones and conflict overlaps; a note when there is none."""
    shapes: list[tuple[Ring, str, str, str]] = []
    for op in report.get("operations", []):
        for i, ext in enumerate(op.get("extents", [])):
            title = f"{op['party']} operation {op['id'][:8]} extent {i} ({op['state']}): {_band(ext)}, {_window(ext)}"
            shapes.append((outline_ring(ext["volume"]), colours.get(op["party"], "#555"), title, "op"))
    for z in report.get("zones", []):
        title = f"{z['party']} zone {z['name']} ({z['kind']}): {_band(z['volume'])}"
        shapes.append((outline_ring(z["volume"]["volume"]), colours.get(z["party"], "#555"), title, "zone"))
    for c in report.get("conflicts", []):
        title = f"conflict {c['id']}: {c['mine']['party']} against {c['theirs']['party']}"
        for ring in geojson_rings(c.get("overlap")):
            shapes.append((ring, CONFLICT_COLOUR, title, "overlap"))
    shapes = [s for s in shapes if s[0]]
    if not shapes:
        return '<p class="muted">No volumes in this window.</p>'
    ref = shapes[0][0][0][1]
    shapes = [(_unwrap(ring, ref), colour, title, css) for ring, colour, title, css in shapes]
    proj = _Projection([s[0] for s in shapes])
    body = "".join(_shape(proj, *s) for s in shapes)
    return (
        f'<svg class="map" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="map of the volumes involved"><rect width="{WIDTH}" height="{HEIGHT}" class="sea"/>'
        f"{body}{_scale_bar(proj)}{_corner_labels(proj)}</svg>"
    )


def _scale_bar(proj: _Projection) -> str:
    km_per_px = proj.km_per_px()
    target = km_per_px * WIDTH / 5
    unit = 10 ** math.floor(math.log10(target))
    bar_km = max(unit * f for f in (1, 2, 5) if unit * f <= target)
    px = bar_km / km_per_px
    y = HEIGHT - 10
    label = f"{bar_km:g} km"
    return (
        f'<line x1="{MARGIN}" y1="{y}" x2="{MARGIN + px:.1f}" y2="{y}" class="scale"/>'
        f'<text x="{MARGIN}" y="{y - 4}" class="label">{escape(label)}</text>'
    )


def _corner_labels(proj: _Projection) -> str:
    top, left = proj.y1, proj.x0 / proj.k
    return f'<text x="{MARGIN}" y="14" class="label">frame top left {top:.3f}°, {left:.3f}°</text>'


def _band(ext: Mapping[str, Any]) -> str:
    v = ext.get("volume", ext)
    return f"{v['altitude_lower']['value']:.0f}–{v['altitude_upper']['value']:.0f} m W84"


def _window(ext: Mapping[str, Any]) -> str:
    start, end = ext.get("time_start"), ext.get("time_end")
    return f"{start['value'] if start else '…'} → {end['value'] if end else '…'}"
