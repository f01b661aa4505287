"""The azimuthal equidistant projection (AEQD) for short lines, compiled: under half of pyproj's cost a point.

`geodesy` projects every point of every check. pyproj solves each geodesic with Karney's algorithms at
0.3-0.6 µs a point; a check with dozens of conflicts projects over a thousand points, forward and back.
Here the same projections are Vincenty's formulas (1975) on the auxiliary sphere, compiled by numba into
one loop over the points, at 0.11-0.16 µs a point and no call overhead to speak of. Each iterates to a fixed
point; Aitken's extrapolation of the third iterate saves two of the five evaluations a point usually took.

For lines up to `MAX_LINE_M` they agree with pyproj to micrometres (`tests/domain/test_short_lines.py`
measures it over the globe, poles and antimeridian included). Each function says which points it
answered; the rest (longer lines, centres at a pole, iterations that did not settle) are left to
pyproj by the caller, so the answer is pyproj's wherever these formulas are not proven here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from deconflict.domain.compiled import BoolArray, compiled

FloatArray = npt.NDArray[np.float64]
_Solved = tuple[FloatArray, FloatArray, BoolArray]

_A_M = 6_378_137.0
_F = 1 / 298.257223563
_B_M = _A_M * (1 - _F)
_EP2 = (_A_M * _A_M - _B_M * _B_M) / (_B_M * _B_M)
_RAD = math.pi / 180.0
#: Lines longer than this (m) are left to pyproj.
MAX_LINE_M = 1_000_000.0
_MAX_ARC_RAD = MAX_LINE_M / _B_M * 1.01
#: Centres closer to a pole than this (deg) are left to pyproj: the azimuth there is a convention.
_POLE_GAP_DEG = 1e-3
#: Fixed-point iterations at most; each gains a factor of about f (forward) or u²/4 (inverse), both below 1/290,
#: and the third is extrapolated (Aitken), which usually leaves one more to confirm it.
_MAX_ITERATIONS = 6
#: An iteration's last change (rad) must be below this for its point to be answered (6 µm on the Earth).
_SETTLED_RAD = 1e-12
#: Steps smaller than this (rad) are not extrapolated: the next iteration settles them anyway.
_EXTRAPOLATED_RAD = 1e-10


@compiled
def _vincenty_a_b(cos2_alpha: float) -> tuple[float, float]:
    u2 = cos2_alpha * _EP2
    a = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    b = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    return a, b


@compiled
def _arc_correction(b: float, sin_s: float, cos_s: float, cos_2sm: float) -> float:
    """Δσ: the arc on the auxiliary sphere less the length over b·A."""
    c2 = cos_2sm * cos_2sm
    inner = cos_s * (2 * c2 - 1) - b / 6 * cos_2sm * (4 * sin_s * sin_s - 3) * (4 * c2 - 3)
    return b * sin_s * (cos_2sm + b / 4 * inner)


@compiled
def _longitude_gap(
    sin_alpha: float, cos2_alpha: float, sigma: float, sin_s: float, cos_s: float, cos_2sm: float
) -> float:
    """λ - L: the longitude difference on the auxiliary sphere less the one on the ellipsoid (rad)."""
    c = _F / 16 * cos2_alpha * (4 + _F * (4 - 3 * cos2_alpha))
    return (1 - c) * _F * sin_alpha * (sigma + c * sin_s * (cos_2sm + c * cos_s * (2 * cos_2sm * cos_2sm - 1)))


@compiled
def _wrapped_deg(angle_deg: float) -> float:
    """The angle in [-180, 180) degrees (a branch for the usual case, where it already is: cheaper than %)."""
    if -180.0 <= angle_deg < 180.0:
        return angle_deg
    return (angle_deg + 180.0) % 360.0 - 180.0


@compiled
def _reduced(lat_deg: float) -> tuple[float, float]:
    """Sine and cosine of the reduced latitude (tan u = (1 - f) tan φ)."""
    t = (1 - _F) * math.tan(lat_deg * _RAD)
    c = 1 / math.sqrt(1 + t * t)
    return t * c, c


@compiled
def _accelerated(before: float, last: float, new: float) -> float:
    """Aitken's extrapolation of a fixed-point iteration from three iterates (the third `new`): where the
    iteration contracts steadily (here by a factor below 1/290), its limit to about the square of the last
    step. Steps already near rounding noise (their difference would be noise) are taken as they are."""
    step, last_step = new - last, last - before
    if not abs(last_step) > _EXTRAPOLATED_RAD:
        return new
    ratio = step / (step - last_step)  # -q / (1 - q) for a contraction by q
    if not abs(ratio) < 0.5:
        return new
    return new - step * ratio


@compiled
def _auxiliary(
    lam: float, c2: float, c1c2: float, s1s2: float, c1s2: float, s1c2: float
) -> tuple[float, float, float, float, float, float, float, float]:
    """At longitude λ on the auxiliary sphere: east and north (unit sphere), sin σ, cos σ, σ, sin α, cos² α and
    cos 2σm."""
    sin_lam, cos_lam = math.sin(lam), math.cos(lam)
    east = c2 * sin_lam
    north = c1s2 - s1c2 * cos_lam
    sin_s = math.sqrt(east * east + north * north)
    cos_s = s1s2 + c1c2 * cos_lam
    sigma = math.atan2(sin_s, cos_s)
    sin_alpha = c1c2 * sin_lam / sin_s if sin_s > 0 else 0.0
    cos2_alpha = 1 - sin_alpha * sin_alpha
    # On the equator cos²α is 0 and so is the term it divides.
    cos_2sm = cos_s - 2 * s1s2 / cos2_alpha if cos2_alpha > 0 else 0.0
    return east, north, sin_s, cos_s, sigma, sin_alpha, cos2_alpha, cos_2sm


@compiled
def _forward_kernel(
    lat0: FloatArray, lng0: FloatArray, lat: FloatArray, lng: FloatArray, x: FloatArray, y: FloatArray, ok: BoolArray
) -> None:
    last_lat0 = math.nan
    s1 = c1 = 0.0
    for i in range(lat.shape[0]):
        if lat0[i] != last_lat0:  # points come grouped by centre: its reduced latitude once per group
            last_lat0 = lat0[i]
            s1, c1 = _reduced(last_lat0)
        s2, c2 = _reduced(lat[i])
        longitude = _wrapped_deg(lng[i] - lng0[i]) * _RAD
        c1c2, s1s2, c1s2, s1c2 = c1 * c2, s1 * s2, c1 * s2, s1 * c2
        # λ = L + (λ - L)(λ): a fixed point, each iteration gaining a factor of about f; the third iterate is
        # extrapolated (Aitken), so the next is usually settled.
        lam = before = longitude
        east, north, sin_s, cos_s, sigma, sin_alpha, cos2_alpha, cos_2sm = _auxiliary(lam, c2, c1c2, s1s2, c1s2, s1c2)
        change = math.inf
        for iteration in range(_MAX_ITERATIONS):
            new_lam = longitude + _longitude_gap(sin_alpha, cos2_alpha, sigma, sin_s, cos_s, cos_2sm)
            change = abs(new_lam - lam)
            if change < _SETTLED_RAD / 8 or iteration == _MAX_ITERATIONS - 1:
                break
            if iteration == 1:
                new_lam = _accelerated(before, lam, new_lam)
            before, lam = lam, new_lam
            east, north, sin_s, cos_s, sigma, sin_alpha, cos2_alpha, cos_2sm = _auxiliary(
                lam, c2, c1c2, s1s2, c1s2, s1c2
            )
        a, b = _vincenty_a_b(cos2_alpha)
        scale = _B_M * a * (sigma - _arc_correction(b, sin_s, cos_s, cos_2sm)) / sin_s if sin_s > 0 else 0.0
        x[i] = east * scale
        y[i] = north * scale
        ok[i] = change < _SETTLED_RAD and sigma < _MAX_ARC_RAD and abs(lat0[i]) < 90.0 - _POLE_GAP_DEG


@compiled
def _inverse_kernel(
    lat0: FloatArray, lng0: FloatArray, x: FloatArray, y: FloatArray, lat: FloatArray, lng: FloatArray, ok: BoolArray
) -> None:
    last_lat0 = math.nan
    t1 = su1 = cu1 = 0.0
    for i in range(x.shape[0]):
        if lat0[i] != last_lat0:
            last_lat0 = lat0[i]
            t1 = (1 - _F) * math.tan(last_lat0 * _RAD)
            cu1 = 1 / math.sqrt(1 + t1 * t1)
            su1 = t1 * cu1
        length_m = math.sqrt(x[i] * x[i] + y[i] * y[i])
        ok[i] = length_m <= MAX_LINE_M and abs(last_lat0) < 90.0 - _POLE_GAP_DEG
        if length_m == 0.0:
            lat[i], lng[i] = lat0[i], lng0[i]
            continue
        sin_az, cos_az = x[i] / length_m, y[i] / length_m
        # σ1, the arc from the equator crossing to the centre: tan σ1 = tan u1 / cos α1; cos 2σm = cos(2σ1 + σ).
        # Due east or west from a centre on the equator the line is the equator itself: σ1 is 0 (as atan2(0, 0)).
        norm = math.sqrt(t1 * t1 + cos_az * cos_az)
        sin_s1, cos_s1 = (t1 / norm, cos_az / norm) if norm > 0.0 else (0.0, 1.0)
        cos_2s1, sin_2s1 = cos_s1 * cos_s1 - sin_s1 * sin_s1, 2 * sin_s1 * cos_s1
        sin_alpha = cu1 * sin_az
        cos2_alpha = 1 - sin_alpha * sin_alpha
        a, b = _vincenty_a_b(cos2_alpha)
        sigma0 = length_m / (_B_M * a)
        # σ = σ0 + Δσ(σ): a fixed point like λ's in the forward kernel, extrapolated at its third iterate.
        sigma = before = sigma0
        sin_s, cos_s = math.sin(sigma), math.cos(sigma)
        cos_2sm = cos_2s1 * cos_s - sin_2s1 * sin_s
        change = math.inf
        for iteration in range(_MAX_ITERATIONS):
            new_sigma = sigma0 + _arc_correction(b, sin_s, cos_s, cos_2sm)
            change = abs(new_sigma - sigma)
            if change < _SETTLED_RAD / 8 or iteration == _MAX_ITERATIONS - 1:
                break
            if iteration == 1:
                new_sigma = _accelerated(before, sigma, new_sigma)
            before, sigma = sigma, new_sigma
            sin_s, cos_s = math.sin(sigma), math.cos(sigma)
            cos_2sm = cos_2s1 * cos_s - sin_2s1 * sin_s
        across = su1 * sin_s - cu1 * cos_s * cos_az
        horizontal = (1 - _F) * math.sqrt(sin_alpha * sin_alpha + across * across)
        phi = math.atan2(su1 * cos_s + cu1 * sin_s * cos_az, horizontal)
        lam = math.atan2(sin_s * sin_az, cu1 * cos_s - su1 * sin_s * cos_az)
        lng_diff = (lam - _longitude_gap(sin_alpha, cos2_alpha, sigma, sin_s, cos_s, cos_2sm)) / _RAD
        lat[i] = phi / _RAD
        lng[i] = _wrapped_deg(lng0[i] + lng_diff)
        ok[i] = ok[i] and change < _SETTLED_RAD


def _solve(kernel: Any, centre_lat: FloatArray, centre_lng: FloatArray, u: FloatArray, v: FloatArray) -> _Solved:
    """Run a kernel over contiguous float64 copies of its inputs into two new float arrays and the answered flags."""
    n = len(u)
    first, second, answered = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    inputs = (np.ascontiguousarray(a, dtype=np.float64) for a in (centre_lat, centre_lng, u, v))
    kernel(*inputs, first, second, answered)
    return first, second, answered


def forward(lat0_deg: FloatArray, lng0_deg: FloatArray, lat_deg: FloatArray, lng_deg: FloatArray) -> _Solved:
    """AEQD (x east, y north, m) of each point about its own centre, and which points were answered."""
    return _solve(_forward_kernel, lat0_deg, lng0_deg, lat_deg, lng_deg)


def inverse(lat0_deg: FloatArray, lng0_deg: FloatArray, x_m: FloatArray, y_m: FloatArray) -> _Solved:
    """(lat, lng) in degrees of AEQD points, each about its own centre, and which points were answered."""
    return _solve(_inverse_kernel, lat0_deg, lng0_deg, x_m, y_m)
