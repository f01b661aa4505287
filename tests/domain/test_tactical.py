"""Tactical prediction against an independent computation: each aircraft flown along its geodesic
with `Geod.fwd`, climbing linearly, sampled every 0.25 s, distances measured with `Geod.inv`."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from deconflict.domain.tactical import FT_M, KT_MPS, NM_M, Level, Minima, Thresholds, Tracks, predict

WGS84 = Geod(ellps="WGS84")
STEP_S = 0.25


def _brute_force(
    start: tuple[float, ...], other: tuple[float, ...], minima: Minima
) -> tuple[float, np.ndarray, np.ndarray]:
    """(first time of loss or NaN, sample times, horizontal distances) by sampling."""
    times = np.arange(0.0, minima.lookahead_s + STEP_S / 2, STEP_S)
    paths = []
    for lat, lng, alt, gs, trk, vr in (start, other):
        lngs, lats, _ = WGS84.fwd(
            np.full(times.size, lng), np.full(times.size, lat), np.full(times.size, trk), gs * times
        )
        paths.append((np.asarray(lats), np.asarray(lngs), alt + vr * times))
    (la, ga, za), (lb, gb, zb) = paths
    _, _, h = WGS84.inv(ga, la, gb, lb)
    h = np.asarray(h)
    lost = (h < minima.lateral_m) & (np.abs(zb - za) < minima.vertical_m - 0.01)
    return (float(times[np.argmax(lost)]) if lost.any() else float("nan")), times, h


def _tracks(*states: tuple[float, ...]) -> Tracks:
    lat, lng, alt, gs, trk, vr = (np.array(col, dtype=np.float64) for col in zip(*states, strict=True))
    return Tracks.from_reports(lat, lng, alt, gs, trk, vr)


def test_random_encounters_agree_with_geodesic_flight() -> None:
    rng = np.random.default_rng(11)
    minima = Minima()
    checked_losses = 0
    for _ in range(300):
        lat, lng = rng.uniform(-70, 70), rng.uniform(-180, 180)
        a = (lat, lng, rng.uniform(0, 12_000), rng.uniform(50, 260), rng.uniform(0, 360), rng.uniform(-20, 20))
        bearing, dist = rng.uniform(0, 360), rng.uniform(0, 50_000)
        lng_b, lat_b, _ = WGS84.fwd(lng, lat, bearing, dist)
        b = (
            lat_b,
            lng_b,
            a[2] + rng.uniform(-700, 700),
            rng.uniform(50, 260),
            rng.uniform(0, 360),
            rng.uniform(-20, 20),
        )
        got = predict(_tracks(a, b), np.array([0]), np.array([1]), minima)
        t_loss, times, h = _brute_force(a, b, minima)
        h_min = float(h.min())
        assert got.horizontal_at_cpa_m[0] == pytest.approx(h_min, rel=0.003, abs=25.0)
        # The predicted time of CPA is where the sampled flight is (nearly) closest too; on near-parallel
        # tracks the minimum is flat, so compare distances there rather than times.
        at_predicted = float(np.interp(got.time_to_cpa_s[0], times, h))
        assert at_predicted == pytest.approx(h_min, rel=0.003, abs=25.0)
        if np.isnan(t_loss):
            # Either no loss at all, or one so brief and close to the boundary that sampling missed it.
            assert np.isnan(got.time_to_loss_s[0]) or got.horizontal_at_cpa_m[0] > minima.lateral_m - 100
        else:
            checked_losses += 1
            assert got.time_to_loss_s[0] == pytest.approx(t_loss, abs=1.0)
    assert checked_losses >= 30  # the sample did contain losses of separation


def test_adjacent_flight_levels_exactly_1000_ft_apart_are_separated() -> None:
    """Head-on at FL100 and FL110: no alert, whatever the rounding of feet into metres."""
    for lower_fl in range(10, 450, 10):
        a = (48.0, 2.0, lower_fl * 100 * FT_M, 250 * KT_MPS, 90.0, 0.0)
        b = (48.0, 2.2, (lower_fl + 10) * 100 * FT_M, 250 * KT_MPS, 270.0, 0.0)
        got = predict(_tracks(a, b), np.array([0]), np.array([1]))
        assert np.isnan(got.time_to_loss_s[0]), lower_fl
        assert got.level[0] == Level.NONE
        assert got.horizontal_at_cpa_m[0] < 100  # they do pass right over each other
    closer = (48.0, 2.2, 10_999 * FT_M, 250 * KT_MPS, 270.0, 0.0)  # 999 ft apart: a loss
    got = predict(_tracks((48.0, 2.0, 10_000 * FT_M, 250 * KT_MPS, 90.0, 0.0), closer), np.array([0]), np.array([1]))
    assert got.level[0] != Level.NONE


def test_levels_follow_the_time_to_loss() -> None:
    """Head-on at the same level, closing at 2 x 240 kt from 5 NM + d: loss when the gap is 5 NM."""
    closing_mps = 2 * 240 * KT_MPS
    for time_to_loss, level in ((30.0, Level.WARNING), (90.0, Level.CAUTION), (200.0, Level.ADVISORY)):
        gap_m = 5 * NM_M + closing_mps * time_to_loss
        lng_b, lat_b, _ = WGS84.fwd(2.0, 48.0, 90.0, gap_m)
        a = (48.0, 2.0, 3000.0, 240 * KT_MPS, 90.0, 0.0)
        b = (lat_b, lng_b, 3000.0, 240 * KT_MPS, 270.0, 0.0)
        got = predict(_tracks(a, b), np.array([0]), np.array([1]), Minima(), Thresholds())
        assert got.time_to_loss_s[0] == pytest.approx(time_to_loss, abs=0.5)
        assert got.level[0] == level


def test_diverging_and_already_lost() -> None:
    a = (48.0, 2.0, 3000.0, 200.0, 270.0, 0.0)
    b = (48.0, 2.3, 3000.0, 200.0, 90.0, 0.0)  # 22 km apart, flying away from each other
    c = (48.0, 2.01, 3050.0, 200.0, 270.0, 0.0)  # 750 m from a, same track: lost now
    got = predict(_tracks(a, b, c), np.array([0, 0]), np.array([1, 2]))
    assert np.isnan(got.time_to_loss_s[0])
    assert got.time_to_cpa_s[0] == 0.0
    assert got.time_to_loss_s[1] == 0.0
    assert got.level[1] == Level.WARNING
    assert got.vertical_at_cpa_m[1] == pytest.approx(50.0)
