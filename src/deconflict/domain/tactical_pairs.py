"""All-pairs tactical detection: which pairs of live tracks can lose separation within the lookahead.

`tactical.predict` is exact for given pairs; this module chooses the pairs, coarse then exact:

1. **Swept boxes** (`swept_pairs`). Each track's path over the lookahead is boxed in Earth-centred,
   Earth-fixed (ECEF) coordinates, so there is no projection and no seam at the antimeridian or the
   poles; its altitude sweep gives a vertical interval. The boxes are hashed into a 4-D grid (x, y, z
   cells plus altitude cells of whole vertical minima); the pairs sharing a cell are listed, each once
   (numpy throughout: one pass per distinct number of entries in a cell, none per track or cell), and
   the boxes of each pair are then tested for overlap.
2. **CPA prefilter** (`cpa_prefilter`). The pair's relative motion in the tangent plane of its first
   track, from ECEF vectors only (no geodesic calls), against the lateral minimum plus a proven bound on
   the difference from `predict`'s plane; the vertical test is `predict`'s own.
3. **Exact**: `predict` on what is left (`detect`).

Both coarse stages are conservative: neither drops a pair that `predict` flags. The bounds, with
κ = 1/R_min the largest normal curvature of the WGS84 ellipsoid (R_min = a(1 - e²) = 6,335 km),
L the lateral minimum, T the lookahead, and s = speed x T a track's path over the lookahead.

Facts, for any curve on the (convex) ellipsoid, of length σ: (F1) the surface normal turns by at most
κσ; (F2) a geodesic's unit tangent, and any vector parallel-transported along the curve, change only
along the normal, by at most κσ per unit length. Projecting onto the tangent plane Π of a point i,
where (F1) makes the normal's in-plane part at most κσ:

* (P1) a geodesic of length ρ from i ends, in Π, within κ²ρ³/6 of ρ times its initial direction;
* (P2) a unit vector parallel-transported along it is, in Π, within κ²ρ²/2 of where it started.

`predict` puts j at r = ρ (sin az1, cos az1) in i's azimuthal equidistant plane and turns j's velocity
by az1 - az2, which is parallel transport along the geodesic. The prefilter uses r~ = Π(S_j - S_i)
and u~_j = Π(w_j) (S: the ellipsoid point under a track, w: its velocity in ECEF); i's velocity is
exact. So |r~ - r| <= κ²ρ³/6 (P1) and |u~_j - u_j| <= κ²ρ²|u_j|/2 (P2): a loss at a time t <= t_max
in `predict` means |r~ + v~ t| < L + κ²(ρ³/6 + |u_j| ρ² t_max/2). ρ <= 1.005 x chord for chords up to
1,000 km (P1 gives chord >= ρ - κ²ρ³/6); pairs with longer chords are not filtered.

The boxes: at a loss at time t, i is on its own geodesic G_i(t) (a straight line through the centre
of i's plane is a geodesic); by (P1, P2) along the geodesic i -> j and then along j's own, Π(G_j(t)) is
within κ²(ρ + s_j)³/6 of `predict`'s j, and Π(G_i(t)) within κ²s_i³/6 of `predict`'s i. Two surface
points within d of i whose projections are ℓ apart are at most ℓ/sqrt(1 - (κd)²) apart (F1: the
surface is a graph over Π of slope at most tan κd). With ρ < L + s_i + s_j at a loss, the two tracks
on their geodesics are then closer than F (L + e_i + e_j), e_k = κ²((L + 3 s_k)³ + s_k³)/6 and
F = 1/sqrt(1 - (1.001 κ (2L + 3 s_max))²). A geodesic arc of length s stays within κs²/2 of its
tangent segment (F2), so each track's box is that of its ECEF tangent segment S + w t, t in [0, T],
inflated by F (L/2 + e_k) + κ s_k²/2 (about 5.1 km for 5 NM at 250 m/s, 300 s). Tracks faster than
`FAST_PATH_M` per lookahead are not boxed but paired with every other track (they would make F large).
The altitude sweep of each track is inflated by (V - VERTICAL_TOLERANCE_M)/2, V the vertical minimum,
so two levels exactly V apart never overlap; altitude cells are `LEVELS_PER_CELL` x V tall with edges
half-way between flight levels, so a level aircraft at a flight level takes one cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.domain.geodesy import GEOD, FloatArray
from deconflict.domain.tactical import (
    VERTICAL_TOLERANCE_M,
    Encounters,
    Minima,
    Thresholds,
    Tracks,
    inside_band,
    predict,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: The smallest radius of curvature of the WGS84 ellipsoid (meridian at the equator): 1/κ.
MIN_CURVATURE_RADIUS_M = GEOD.a * (1.0 - GEOD.es)
_KAPPA = 1.0 / MIN_CURVATURE_RADIUS_M
#: A track whose path over the lookahead is longer than this is paired with every other track.
FAST_PATH_M = 500_000.0
#: Altitude cells are this many vertical minima tall (fewer cells for climbers, more pairs per cell).
LEVELS_PER_CELL = 2
#: Chords longer than this are let through the prefilter (its distance bound assumes shorter ones).
PREFILTER_MAX_CHORD_M = 1_000_000.0
#: Added to every bound for floating-point rounding (metres; distances here are up to ~10^7 m).
_ROUNDING_M = 0.5
#: Pairs go through the prefilter in chunks of this many, so memory stays bounded.
_CHUNK = 1 << 18


@dataclass(frozen=True)
class _Ecef:
    """Per track: the ellipsoid point under it, its east and north unit vectors, its velocity (ECEF, metres)."""

    point_m: tuple[FloatArray, FloatArray, FloatArray]  # x, y, z components
    east: tuple[FloatArray, FloatArray, FloatArray]
    north: tuple[FloatArray, FloatArray, FloatArray]
    velocity_mps: tuple[FloatArray, FloatArray, FloatArray]
    speed_mps: FloatArray  # horizontal

    @classmethod
    def of(cls, tracks: Tracks) -> _Ecef:
        lat, lng = np.radians(tracks.lat_deg), np.radians(tracks.lng_deg)
        sin_lat, cos_lat, sin_lng, cos_lng = np.sin(lat), np.cos(lat), np.sin(lng), np.cos(lng)
        prime_vertical_m = GEOD.a / np.sqrt(1.0 - GEOD.es * sin_lat * sin_lat)
        point = (
            prime_vertical_m * cos_lat * cos_lng,
            prime_vertical_m * cos_lat * sin_lng,
            prime_vertical_m * (1.0 - GEOD.es) * sin_lat,
        )
        east = (-sin_lng, cos_lng, np.zeros_like(lng))
        north = (-sin_lat * cos_lng, -sin_lat * sin_lng, cos_lat)
        ve, vn = tracks.east_mps, tracks.north_mps
        velocity = (ve * east[0] + vn * north[0], ve * east[1] + vn * north[1], vn * north[2])
        return cls(point, east, north, velocity, np.hypot(ve, vn))


def detect(
    tracks: Tracks,
    minima: Minima = Minima(),
    thresholds: Thresholds = Thresholds(),
    group: npt.NDArray[np.integer] | None = None,
    same_group: bool = False,
) -> Encounters:
    """Every pair (i < j) of `tracks` that loses separation within the lookahead, as `predict` computes it."""
    i, j = candidate_pairs(tracks, minima, group, same_group)
    found = predict(tracks, i, j, minima, thresholds)
    lost = ~np.isnan(found.time_to_loss_s)
    return Encounters(
        found.i[lost],
        found.j[lost],
        found.time_to_cpa_s[lost],
        found.horizontal_at_cpa_m[lost],
        found.vertical_at_cpa_m[lost],
        found.time_to_loss_s[lost],
        found.level[lost],
    )


def candidate_pairs(
    tracks: Tracks,
    minima: Minima,
    group: npt.NDArray[np.integer] | None = None,
    same_group: bool = False,
) -> tuple[IntArray, IntArray]:
    """Index pairs i < j that may lose separation within the lookahead (a superset of what `predict` flags).

    `group` gives each track's party: pairs within one party are left out unless `same_group`.
    """
    ecef = _Ecef.of(tracks)
    i, j = _swept_pairs(tracks, ecef, minima)
    if group is not None and not same_group:
        other = np.asarray(group)[i] != np.asarray(group)[j]
        i, j = i[other], j[other]
    keep = _cpa_prefilter(tracks, ecef, minima, i, j)
    return i[keep], j[keep]


def swept_pairs(tracks: Tracks, minima: Minima, cell_m: float | None = None) -> tuple[IntArray, IntArray]:
    """The coarse stage alone: pairs i < j whose swept boxes share a grid cell."""
    return _swept_pairs(tracks, _Ecef.of(tracks), minima, cell_m)


def cpa_prefilter(tracks: Tracks, minima: Minima, i: IntArray, j: IntArray) -> BoolArray:
    """The prefilter alone: False for pairs (i[k] < j[k]) that certainly keep separation."""
    return _cpa_prefilter(tracks, _Ecef.of(tracks), minima, i, j)


def _finite(tracks: Tracks) -> BoolArray:
    ok = np.ones(tracks.lat_deg.shape, dtype=bool)
    for a in (tracks.lat_deg, tracks.lng_deg, tracks.alt_m, tracks.east_mps, tracks.north_mps, tracks.up_mps):
        ok &= np.isfinite(a)
    return ok


def _swept_pairs(
    tracks: Tracks, ecef: _Ecef, minima: Minima, cell_m: float | None = None, levels_per_cell: int = LEVELS_PER_CELL
) -> tuple[IntArray, IntArray]:
    lookahead = minima.lookahead_s
    usable = _finite(tracks)
    path_m = np.where(usable, ecef.speed_mps * lookahead, 0.0)
    fast = usable & (path_m > FAST_PATH_M)
    boxed = np.flatnonzero(usable & ~fast)
    path = path_m[boxed]
    s_max = float(path.max()) if path.size else 0.0
    lateral = minima.lateral_m
    slope = 1.001 * _KAPPA * (2 * lateral + 3 * s_max)
    if slope >= 0.9:
        raise ValueError(f"lateral minimum {lateral} m is too large for the swept-box bounds")
    stretch = 1.0 / math.sqrt(1.0 - slope**2)
    third_order = _KAPPA**2 * ((lateral + 3 * path) ** 3 + path**3) / 6.0
    half_m = stretch * (lateral / 2 + third_order) + _KAPPA * path**2 / 2 + _ROUNDING_M

    lo, hi = [], []
    for point, velocity in zip(ecef.point_m, ecef.velocity_mps, strict=True):
        start = point[boxed]
        end = start + velocity[boxed] * lookahead
        lo.append(np.minimum(start, end) - half_m)
        hi.append(np.maximum(start, end) + half_m)
    half_v = (minima.vertical_m - VERTICAL_TOLERANCE_M) / 2 + 1e-6
    alt0 = tracks.alt_m[boxed]
    alt1 = alt0 + tracks.up_mps[boxed] * lookahead
    lo.append(np.minimum(alt0, alt1) - half_v)
    hi.append(np.maximum(alt0, alt1) + half_v)

    if cell_m is None:
        cell_m = _default_cell_m(np.max([h - low for h, low in zip(hi[:3], lo[:3], strict=True)], axis=0))
    # Altitude cells are whole vertical minima tall, edges half-way between flight levels. Clipping
    # altitudes to +-10,000 km keeps cell numbers in 64 bits and keeps overlapping intervals overlapping.
    vertical = minima.vertical_m
    altitude_cell_m = levels_per_cell * vertical
    cell_lo = np.column_stack(
        [
            *(np.floor(c / cell_m) for c in lo[:3]),
            np.floor((np.clip(lo[3], -1e7, 1e7) + vertical / 2) / altitude_cell_m),
        ]
    )
    cell_hi = np.column_stack(
        [
            *(np.floor(c / cell_m) for c in hi[:3]),
            np.floor((np.clip(hi[3], -1e7, 1e7) + vertical / 2) / altitude_cell_m),
        ]
    )

    a, b = _pairs_sharing_a_cell(cell_lo.astype(np.int64), cell_hi.astype(np.int64))
    # Sharing a cell is coarser than overlapping: test the boxes themselves, one axis at a time on the
    # pairs still left (altitudes as open intervals).
    for axis in range(4):
        if axis < 3:
            overlap = (lo[axis][a] <= hi[axis][b]) & (lo[axis][b] <= hi[axis][a])
        else:
            overlap = (lo[axis][a] < hi[axis][b]) & (lo[axis][b] < hi[axis][a])
        left = np.flatnonzero(overlap)
        a, b = a[left], b[left]
    ti, tj = boxed[a], boxed[b]
    i, j = np.minimum(ti, tj), np.maximum(ti, tj)
    if fast.any():
        fi, fj = _pairs_with(np.flatnonzero(fast), np.flatnonzero(usable))
        i, j = np.concatenate([i, fi]), np.concatenate([j, fj])
    return i, j


def _default_cell_m(extent_m: FloatArray) -> float:
    """A cell about as wide as a typical box: most boxes then take 1-2 cells per axis."""
    if extent_m.size == 0:
        return 100_000.0
    return float(np.clip(np.median(extent_m), 20_000.0, 2_000_000.0))


def _pairs_with(fast: IntArray, usable: IntArray) -> tuple[IntArray, IntArray]:
    """Every pair with at least one fast track, each once, as i < j."""
    a = np.repeat(fast, usable.size)
    b = np.tile(usable, fast.size)
    is_fast = np.zeros(int(max(fast.max(), usable.max())) + 1, dtype=bool)
    is_fast[fast] = True
    # A pair of two fast tracks comes up twice: keep it once, from its smaller end.
    keep = (a != b) & (~is_fast[b] | (a < b))
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def _pairs_sharing_a_cell(cell_lo: IntArray, cell_hi: IntArray) -> tuple[IntArray, IntArray]:
    """Pairs of boxes (given as inclusive cell ranges per axis) that share a cell, each pair once.

    A pair is reported in the first cell they share: the one whose index on every axis is the larger
    of the two boxes' lowest, i.e. equal to one of them. So each entry carries a bit per axis, set where
    its cell is its box's lowest on that axis, and a pair of entries counts when their bits cover all axes.
    """
    n_box, n_axes = cell_lo.shape
    if n_box < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    origin = cell_lo.min(axis=0)
    ranges = cell_hi.max(axis=0) - origin + 1
    if math.prod(int(r) for r in ranges) >= 2**62:
        raise ValueError("too many grid cells to number in 64 bits")
    strides = np.ones(n_axes, dtype=np.int64)
    for axis in range(n_axes - 2, -1, -1):
        strides[axis] = strides[axis + 1] * ranges[axis + 1]
    span = cell_hi - cell_lo + 1
    per_box = np.prod(span, axis=1)
    box = np.repeat(np.arange(n_box, dtype=np.int64), per_box)
    key = np.repeat((cell_lo - origin) @ strides, per_box)
    rank = np.arange(box.size, dtype=np.int64) - np.repeat(np.cumsum(per_box) - per_box, per_box)
    lowest = np.zeros(box.size, dtype=np.uint8)
    for axis in range(n_axes - 1, -1, -1):
        step = np.repeat(span[:, axis], per_box)
        offset = rank % step
        rank //= step
        key += offset * strides[axis]
        lowest |= (offset == 0).astype(np.uint8) << axis
    order = np.argsort(key)
    key, box, lowest = key[order], box[order], lowest[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    sizes = np.diff(np.append(starts, key.size))
    # Cells of one size at a time: their entries form a (cells, size) matrix, their pairs its upper triangle.
    every_axis = (1 << n_axes) - 1
    out_a, out_b = [], []
    for size in np.unique(sizes[sizes > 1]).tolist():
        first = starts[sizes == size]
        ti, tj = np.triu_indices(size, k=1)
        bits = lowest[first[:, None] + np.arange(size)]
        cell, k = np.nonzero((bits[:, ti] | bits[:, tj]) == every_axis)
        out_a.append(box[first[cell] + ti[k]])
        out_b.append(box[first[cell] + tj[k]])
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(out_a), np.concatenate(out_b)


def _cpa_prefilter(tracks: Tracks, ecef: _Ecef, minima: Minima, i: IntArray, j: IntArray) -> BoolArray:
    keep = np.zeros(i.size, dtype=bool)
    for k in range(0, i.size, _CHUNK):
        keep[k : k + _CHUNK] = _prefilter_chunk(tracks, ecef, minima, i[k : k + _CHUNK], j[k : k + _CHUNK])
    return keep


def _prefilter_chunk(tracks: Tracks, ecef: _Ecef, minima: Minima, i: IntArray, j: IntArray) -> BoolArray:
    lookahead = minima.lookahead_s
    # Vertical: predict's own interval, from the same numbers, so the same floating-point answer.
    v_lo, v_hi = inside_band(
        tracks.alt_m[j] - tracks.alt_m[i], tracks.up_mps[j] - tracks.up_mps[i], minima.vertical_m - VERTICAL_TOLERANCE_M
    )
    t_from, t_to = np.maximum(v_lo, 0.0), np.minimum(v_hi, lookahead)
    keep = t_from <= t_to
    idx = np.flatnonzero(keep)
    i, j, t_from, t_to = i[idx], j[idx], t_from[idx], t_to[idx]

    px, py, pz = (c[j] - c[i] for c in ecef.point_m)
    ex, ey = ecef.east[0][i], ecef.east[1][i]  # east has no z component
    nx, ny, nz = (c[i] for c in ecef.north)
    wx, wy, wz = (c[j] for c in ecef.velocity_mps)
    rx, ry = px * ex + py * ey, px * nx + py * ny + pz * nz
    vx = wx * ex + wy * ey - tracks.east_mps[i]
    vy = wx * nx + wy * ny + wz * nz - tracks.north_mps[i]
    vv = vx * vx + vy * vy
    moving = vv > 1e-12
    t_cpa = np.clip(np.where(moving, -(rx * vx + ry * vy) / np.where(moving, vv, 1.0), 0.0), t_from, t_to)
    closest_m = np.hypot(rx + vx * t_cpa, ry + vy * t_cpa)

    chord_m = np.sqrt(px * px + py * py + pz * pz)
    rho = 1.005 * chord_m
    bound_m = _KAPPA**2 * rho**2 * (rho / 6 + ecef.speed_mps[j] * t_to / 2) + _ROUNDING_M
    keep[idx] = (closest_m < minima.lateral_m + bound_m) | (chord_m > PREFILTER_MAX_CHORD_M)
    return keep
