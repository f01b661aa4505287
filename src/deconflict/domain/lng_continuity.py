"""GeoJSON in longitude and latitude that a map draws as meant, near the antimeridian and the poles.

A shape across the antimeridian, written with longitudes wrapped to [-180, 180), is drawn the long way
round the world; written with continuous longitudes (179.9 then 180.1) it is drawn where it is. A ring
around a pole cannot be both continuous and closed: its longitudes run through a whole turn. It is cut
at a meridian it crosses once, laid out over that one turn, and closed along the pole, so that the
polygon in longitude and latitude is the region between the ring and the pole. Cut anywhere else (where
the ring doubles back in longitude, as rings drawn around a nearby pole do) it would cross itself. Near a
pole a short edge can sweep tens of degrees of longitude; drawn straight in longitude and latitude it would
cut across the shape, so such edges are drawn through points along their geodesics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deconflict.domain import geodesy
from deconflict.domain.geodesy import FloatArray

#: Longitudes (deg) of one turn.
_TURN_DEG = 360.0
#: An edge that sweeps more longitude than this (deg) is drawn through points along its geodesic, about this far apart.
_MAX_SWEEP_DEG = 2.0


def continuous(value: Any) -> Any:
    """A GeoJSON geometry (or its coordinates) with longitudes continuous along each line and ring."""
    if isinstance(value, dict):
        return {k: continuous(v) if k in ("coordinates", "geometries") else v for k, v in value.items()}
    if not value or isinstance(value[0], dict):
        return [continuous(v) for v in value]
    if not isinstance(value[0], list):
        return list(value)  # a single position
    if isinstance(value[0][0], list):
        return [continuous(v) for v in value]
    lng_lat = np.asarray(value, dtype=np.float64)
    lng, lat = _swept_densified(_unwrapped(lng_lat[:, 0]), lng_lat[:, 1])
    if len(value) > 3 and value[0] == value[-1] and abs(lng[-1] - lng[0]) > _TURN_DEG / 2:
        lng, lat = _closed_through_pole(lng, lat)
    return np.column_stack([lng, lat]).tolist()


def _unwrapped(lng: FloatArray) -> FloatArray:
    """Longitudes moved by whole turns so that no step between neighbours is over half a turn.

    Each is its own value plus a whole number of turns, added once (`np.unwrap` sums its corrections, and the
    float noise of the sum would leave a closed ring open by a hair)."""
    turns = np.round((np.unwrap(lng, period=_TURN_DEG) - lng) / _TURN_DEG)
    moved: FloatArray = lng + turns * _TURN_DEG
    return moved


def _swept_densified(lng: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Points along each edge's geodesic wherever it sweeps more than `_MAX_SWEEP_DEG` of longitude (near a
    pole, a short edge can sweep tens of degrees: drawn straight in longitude and latitude it cuts across
    the shape). Ends, and edges that sweep less, are kept as they are."""
    pieces = np.ceil(np.abs(np.diff(lng)) / _MAX_SWEEP_DEG).astype(np.int64)
    if not (pieces > 1).any():
        return lng, lat
    out_lng, out_lat = [lng[:1]], [lat[:1]]
    for i, n in enumerate(pieces.tolist()):
        if n > 1:
            inner = np.asarray(geodesy.GEOD.npts(lng[i], lat[i], lng[i + 1], lat[i + 1], n - 1), dtype=np.float64)
            # npts wraps longitudes to [-180, 180]: move each by whole turns to within half a turn of the edge's start.
            out_lng.append(inner[:, 0] + np.round((lng[i] - inner[:, 0]) / _TURN_DEG) * _TURN_DEG)
            out_lat.append(inner[:, 1])
        out_lng.append(lng[i + 1 : i + 2])
        out_lat.append(lat[i + 1 : i + 2])
    return np.concatenate(out_lng), np.concatenate(out_lat)


def _closed_through_pole(lng: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A closed ring of continuous longitudes that winds once around a pole (its last longitude is its first
    one turn on), started where it crosses a meridian once, then closed along the pole."""
    turn = lng[-1] - lng[0]
    seam = _crossed_once(lng)
    if seam is not None:
        lng, lat = _started_at(lng, lat, *seam, turn)
    pole = math.copysign(90.0, float(np.mean(lat)))
    return np.concatenate([lng, [lng[-1], lng[0], lng[0]]]), np.concatenate([lat, [pole, pole, lat[0]]])


def _crossed_once(lng: FloatArray) -> tuple[int, float] | None:
    """An edge i and a longitude in its middle that no other edge reaches, by any number of turns."""
    lo, hi = np.minimum(lng[:-1], lng[1:]), np.maximum(lng[:-1], lng[1:])
    edges = np.flatnonzero(hi > lo)
    middle = (lo[edges] + hi[edges]) / 2
    turns = np.arange(-2, 3) * _TURN_DEG
    at = middle[:, None, None] + turns[None, :, None]  # each middle, moved by whole turns, against each edge
    crossings = ((at >= lo[None, None, :]) & (at < hi[None, None, :])).sum(axis=(1, 2))
    once = np.flatnonzero(crossings == 1)
    if len(once) == 0:
        return None
    return int(edges[once[0]]), float(middle[once[0]])


def _started_at(lng: FloatArray, lat: FloatArray, edge: int, seam: float, turn: float) -> tuple[FloatArray, FloatArray]:
    """The ring started at longitude `seam` on `edge` (and ended there, one turn on)."""
    t = (seam - lng[edge]) / (lng[edge + 1] - lng[edge])
    seam_lat = lat[edge] + t * (lat[edge + 1] - lat[edge])
    # Vertex 0 is the last one less a turn: after the last come vertices 1..edge, moved by a turn.
    new_lng = np.concatenate([[seam], lng[edge + 1 :], lng[1 : edge + 1] + turn, [seam + turn]])
    new_lat = np.concatenate([[seam_lat], lat[edge + 1 :], lat[1 : edge + 1], [seam_lat]])
    return new_lng, new_lat
