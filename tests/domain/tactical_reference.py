"""Brute-force reference for tactical detection, computed without the engine's closed form.

Every aircraft is flown along its own geodesic with `Geod.fwd` (climbing at its vertical rate) and
sampled every `step_s`; the lateral distance between two aircraft is the geodesic distance
(`Geod.inv`) between their sampled positions. Nothing is projected and no CPA is solved.

Between samples the lateral distance changes no faster than the sum of the two ground speeds, and
the vertical distance is linear, so each interval either certainly keeps separation or is refined
(`REFINE` sub-steps) until it does or it cannot be decided. A pair gets one of three verdicts,
with a lateral tolerance δ_h and a vertical tolerance δ_v:

* **loss**: some sample is inside the minima shrunk by the tolerances (L - δ_h, V - δ_v);
* **separated**: at no time can the pair be inside the minima grown by the tolerances;
* **boundary**: neither, i.e. within the tolerances of a minimum (or of the lookahead's end).

δ_h covers the engine's model (each pair solved in its first track's azimuthal equidistant plane,
where the second track moves on a straight line, not exactly on its own geodesic): 5 m plus a tenth
of the proven bound κ²((ρ + s)³ + s³)/6 on that difference (ρ the initial distance, s the longer path
over the lookahead, κ = 1/6,335 km); the largest difference measured over random pairs up to Mach 2
is a twentieth of the bound. δ_v (1 mm) only absorbs rounding: vertical motion is linear in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
KAPPA = 1.0 / (WGS84.a * (1.0 - WGS84.es))
VERTICAL_TOLERANCE_M = 1e-3
REFINE = 32

Pair = tuple[int, int]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Flights:
    """Reports as sent: position, geodesic track and speeds; `age_s` how old each report is at time 0."""

    lat_deg: FloatArray
    lng_deg: FloatArray
    alt_m: FloatArray
    ground_speed_mps: FloatArray
    track_deg: FloatArray
    vertical_rate_mps: FloatArray
    age_s: FloatArray | None = None

    def at(self, idx: npt.NDArray[np.int64], t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(lat, lng, alt) of aircraft idx[k] at time t_s[k] (arrays of the same shape)."""
        age = np.zeros(len(self.lat_deg)) if self.age_s is None else np.maximum(self.age_s, 0.0)
        flown_s = age[idx] + t_s
        lng, lat, _ = WGS84.fwd(
            self.lng_deg[idx].ravel(),
            self.lat_deg[idx].ravel(),
            self.track_deg[idx].ravel(),
            (self.ground_speed_mps[idx] * flown_s).ravel(),
        )
        alt = self.alt_m[idx] + self.vertical_rate_mps[idx] * flown_s
        return np.asarray(lat).reshape(idx.shape), np.asarray(lng).reshape(idx.shape), alt


@dataclass
class Verdicts:
    loss: dict[Pair, float] = field(default_factory=dict)  # pair -> first sampled time inside the shrunk minima
    first_possible_s: dict[Pair, float] = field(default_factory=dict)  # earliest time a loss cannot be excluded
    boundary: dict[Pair, str] = field(default_factory=dict)  # pair -> why it is within tolerance
    pairs_sampled: int = 0
    _nearest: dict[Pair, tuple[float, float, float, float]] = field(default_factory=dict)

    def _possible(
        self, pair: Pair, from_s: float, t_s: float, lateral_off_m: float, vertical_off_m: float, tol_m: float
    ) -> None:
        """A loss within tolerance cannot be excluded after from_s; at t_s the pair is lateral_off_m from the
        lateral minimum (negative: inside) and vertical_off_m from the vertical one. Keeps the nearest to a loss."""
        self.first_possible_s[pair] = min(self.first_possible_s.get(pair, np.inf), from_s)
        depth = min(-lateral_off_m / tol_m, -vertical_off_m / VERTICAL_TOLERANCE_M)
        best = self._nearest.get(pair)
        if best is None or depth > min(-best[1] / tol_m, -best[2] / VERTICAL_TOLERANCE_M):
            self._nearest[pair] = (t_s, lateral_off_m, vertical_off_m, tol_m)

    def _reason(self, pair: Pair) -> str:
        t, lateral, vertical, tol = self._nearest[pair]
        return (
            f"at t = {t:.2f} s: {lateral:+.2f} m from the lateral minimum (tolerance {tol:.1f} m), "
            f"{vertical:+.4f} m from the vertical one (tolerance {VERTICAL_TOLERANCE_M} m)"
        )


def lateral_tolerance_m(distance_m: FloatArray, path_m: FloatArray) -> FloatArray:
    """δ_h: 5 m plus a tenth of the bound on the engine's model difference (see the module docstring)."""
    return 5.0 + KAPPA**2 * ((distance_m + path_m) ** 3 + path_m**3) / 60.0


@dataclass(frozen=True)
class _Pairs:
    """The pairs worth sampling, and what each needs: vertical motion, lateral tolerance, closing speed bound."""

    i: npt.NDArray[np.int64]
    j: npt.NDArray[np.int64]
    dz0_m: FloatArray
    dvz_mps: FloatArray
    tol_m: FloatArray
    closing_mps: FloatArray
    lateral_m: float
    vertical_m: float

    def pair(self, row: int) -> Pair:
        return int(self.i[row]), int(self.j[row])


def classify(
    flights: Flights,
    lateral_m: float,
    vertical_m: float,
    lookahead_s: float,
    step_s: float = 1.0,
    separated_within_m: float = 0.01,
) -> Verdicts:
    """Verdicts for every pair i < j; pairs absent from all three maps are separated.

    A vertical distance within `separated_within_m` of `vertical_m` counts as separated (the rule that
    makes adjacent flight levels exactly 1,000 ft apart separated).
    """
    pairs = _near_pairs(flights, lateral_m, vertical_m - separated_within_m, lookahead_s)
    verdicts = Verdicts(pairs_sampled=pairs.i.size)
    if pairs.i.size == 0:
        return verdicts
    times = np.arange(0.0, lookahead_s + step_s / 2, step_s)
    times[-1] = min(times[-1], lookahead_s)
    # Every aircraft at every sample time, then the lateral distance wherever the vertical allows a loss.
    idx = np.arange(len(flights.lat_deg))[:, None].repeat(times.size, axis=1)
    lat, lng, _ = flights.at(idx, np.broadcast_to(times, idx.shape))
    dz = pairs.dz0_m[:, None] + pairs.dvz_mps[:, None] * times
    possible = _closest_vertical(dz[:, :-1], dz[:, 1:]) < pairs.vertical_m + VERTICAL_TOLERANCE_M
    needed = np.zeros(dz.shape, dtype=bool)
    needed[:, :-1] |= possible
    needed[:, 1:] |= possible
    h = np.full(dz.shape, np.inf)
    r, k = np.nonzero(needed)
    i, j = pairs.i[r], pairs.j[r]
    h[r, k] = WGS84.inv(lng[i, k], lat[i, k], lng[j, k], lat[j, k])[2]
    r, k = np.nonzero(possible)
    undecided = _examine(pairs, _Intervals(r, times[k], times[k + 1]), h[r, k], h[r, k + 1], verdicts)
    fine = undecided.split(REFINE)
    undecided = _examine(pairs, fine, _lateral_m(flights, pairs, fine.rows, fine.lo_s),
                         _lateral_m(flights, pairs, fine.rows, fine.hi_s), verdicts)  # fmt: skip
    # Intervals still undecided after refinement: a loss cannot be excluded there.
    for k, row in enumerate(undecided.rows.tolist()):
        verdicts._possible(pairs.pair(row), float(undecided.lo_s[k]), float(undecided.lo_s[k]),
                           float(undecided.lateral_off_m[k]),
                           float(undecided.vertical_off_m[k]), float(pairs.tol_m[row]))  # fmt: skip
    for pair in verdicts.first_possible_s:
        if pair not in verdicts.loss:
            verdicts.boundary[pair] = verdicts._reason(pair)
    return verdicts


def _near_pairs(flights: Flights, lateral_m: float, vertical_m: float, lookahead_s: float) -> _Pairs:
    """Pairs not separated for sure by the triangle inequality (laterally) or by linear climbs (vertically)."""
    n = len(flights.lat_deg)
    i, j = (a.astype(np.int64) for a in np.triu_indices(n, k=1))
    zeros = np.zeros(i.size)
    lat_i, lng_i, alt_i = flights.at(i, zeros)
    lat_j, lng_j, alt_j = flights.at(j, zeros)
    d0 = np.asarray(WGS84.inv(lng_i, lat_i, lng_j, lat_j)[2])
    speed = flights.ground_speed_mps
    closing = speed[i] + speed[j]
    tol = lateral_tolerance_m(d0, np.maximum(speed[i], speed[j]) * lookahead_s)
    dz0, dvz = alt_j - alt_i, flights.vertical_rate_mps[j] - flights.vertical_rate_mps[i]
    near = d0 < lateral_m + tol + closing * lookahead_s
    near &= _closest_vertical(dz0, dz0 + dvz * lookahead_s) < vertical_m + VERTICAL_TOLERANCE_M
    k = np.flatnonzero(near)
    return _Pairs(i[k], j[k], dz0[k], dvz[k], tol[k], closing[k], lateral_m, vertical_m)


def _closest_vertical(dz_from: FloatArray, dz_to: FloatArray) -> FloatArray:
    """Smallest |dz| over an interval where dz moves linearly between the two ends."""
    return np.where(dz_from * dz_to <= 0, 0.0, np.minimum(np.abs(dz_from), np.abs(dz_to)))


@dataclass(frozen=True)
class _Intervals:
    rows: npt.NDArray[np.int64]  # index into the sampled pairs
    lo_s: FloatArray
    hi_s: FloatArray
    lateral_off_m: FloatArray | None = None  # how near the minima they may come (undecided intervals)
    vertical_off_m: FloatArray | None = None

    def split(self, parts: int) -> _Intervals:
        frac = np.arange(parts + 1) / parts
        edges = self.lo_s[:, None] + (self.hi_s - self.lo_s)[:, None] * frac
        return _Intervals(np.repeat(self.rows, parts), edges[:, :-1].ravel(), edges[:, 1:].ravel())


def _examine(pairs: _Pairs, iv: _Intervals, h_lo: FloatArray, h_hi: FloatArray, verdicts: Verdicts) -> _Intervals:
    """Decide what the samples at both ends of each interval allow; return the intervals left undecided."""
    r = iv.rows
    dz_lo, dz_hi = pairs.dz0_m[r] + pairs.dvz_mps[r] * iv.lo_s, pairs.dz0_m[r] + pairs.dvz_mps[r] * iv.hi_s
    closest_v = _closest_vertical(dz_lo, dz_hi)
    tol = pairs.tol_m[r]
    lateral, inner_v, outer_v = (
        pairs.lateral_m,
        pairs.vertical_m - VERTICAL_TOLERANCE_M,
        pairs.vertical_m + VERTICAL_TOLERANCE_M,
    )
    for h, dz, t in ((h_lo, dz_lo, iv.lo_s), (h_hi, dz_hi, iv.hi_s)):
        for k in np.flatnonzero((h < lateral - tol) & (np.abs(dz) < inner_v)).tolist():
            pair = pairs.pair(r[k])
            verdicts.loss[pair] = min(verdicts.loss.get(pair, np.inf), float(t[k]))
    ends = ((h_lo, dz_lo, iv.lo_s), (h_hi, dz_hi, iv.hi_s))
    for h, dz, t in ends:
        for k in np.flatnonzero((h < lateral + tol) & (np.abs(dz) < outer_v)).tolist():
            verdicts._possible(pairs.pair(r[k]), float(iv.lo_s[k]), float(t[k]), float(h[k] - lateral),
                               float(abs(dz[k]) - pairs.vertical_m), float(tol[k]))  # fmt: skip
    at_end = ((h_lo < lateral + tol) & (np.abs(dz_lo) < outer_v)) | ((h_hi < lateral + tol) & (np.abs(dz_hi) < outer_v))
    # Within the interval the lateral distance dips below the ends by at most closing speed x half its length.
    dip = (h_lo + h_hi - pairs.closing_mps[r] * (iv.hi_s - iv.lo_s)) / 2
    k = np.flatnonzero(~at_end & (closest_v < outer_v) & (dip < lateral + tol))
    return _Intervals(r[k], iv.lo_s[k], iv.hi_s[k], dip[k] - lateral, closest_v[k] - pairs.vertical_m)


def _lateral_m(flights: Flights, pairs: _Pairs, rows: npt.NDArray[np.int64], t_s: FloatArray) -> FloatArray:
    lat_i, lng_i, _ = flights.at(pairs.i[rows], t_s)
    lat_j, lng_j, _ = flights.at(pairs.j[rows], t_s)
    return np.asarray(WGS84.inv(lng_i, lat_i, lng_j, lat_j)[2], dtype=np.float64)


def disagreements(found: dict[Pair, float], verdicts: Verdicts) -> list[str]:
    """Where an engine's answer (pair -> time to loss) contradicts the verdicts; boundary pairs never do.

    A certain loss must be found, no later than its first sampled time and no earlier than the first
    time a loss could not be excluded; a pair that certainly keeps separation must not be found.
    """
    wrong = [f"{pair}: missed, certain loss at {t:.2f} s" for pair, t in verdicts.loss.items() if pair not in found]
    wrong += [
        f"{pair}: found (loss at {t:.2f} s) but certainly separated"
        for pair, t in found.items()
        if pair not in verdicts.loss and pair not in verdicts.boundary
    ]
    for pair, t_ref in verdicts.loss.items():
        t = found.get(pair)
        if t is not None and not verdicts.first_possible_s[pair] - 1e-9 <= t <= t_ref + 1e-9:
            earliest = verdicts.first_possible_s[pair]
            wrong.append(f"{pair}: loss at {t:.2f} s, outside [{earliest:.2f}, {t_ref:.2f}] s")
    return wrong
