"""All-pairs tactical detection against brute force: `predict` over every pair, and an independent
geodesic flight of every aircraft (tactical_reference.py), anywhere on the globe."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from deconflict.domain.tactical import FT_M, NM_M, Minima, Tracks, predict
from deconflict.domain.tactical_pairs import (
    FAST_PATH_M,
    candidate_pairs,
    cpa_prefilter,
    detect,
    swept_pairs,
)
from tests.domain.tactical_reference import WGS84, Flights, classify, disagreements

Pair = tuple[int, int]
MACH2_MPS = 680.0
MINIMA = Minima()


@dataclass(frozen=True)
class Scene:
    """Where and how the traffic is drawn."""

    lat_deg: float
    lng_deg: float
    radius_m: float
    n: int
    max_speed_mps: float = 260.0
    levels: int = 4  # flight levels used, 1,000 ft apart: many pairs exactly 1,000 ft apart
    level_share: float = 0.6
    max_climb_fpm: float = 4000.0


SCENES = {
    "paris": Scene(48.8, 2.4, 150_000, 400),
    "antimeridian": Scene(-16.0, 180.0, 120_000, 300),
    "north pole": Scene(89.95, 0.0, 120_000, 300),
    "south pole": Scene(-89.99, 135.0, 120_000, 300),
    "equator, Mach 2": Scene(0.3, -60.0, 400_000, 300, max_speed_mps=MACH2_MPS, max_climb_fpm=10_000),
    "arctic, Mach 2": Scene(80.0, 179.5, 400_000, 300, max_speed_mps=MACH2_MPS, max_climb_fpm=10_000),
    "dense cluster": Scene(51.5, -0.4, 25_000, 300, levels=3),
    "one level pair": Scene(40.0, -100.0, 60_000, 200, levels=2, level_share=1.0),
}


def flights(scene: Scene, seed: int) -> Flights:
    rng = np.random.default_rng(seed)
    n = scene.n
    # Uniform over the disc, placed with the geodesic direct problem (fine across the antimeridian and poles).
    lng, lat, _ = WGS84.fwd(
        np.full(n, scene.lng_deg),
        np.full(n, scene.lat_deg),
        rng.uniform(0, 360, n),
        scene.radius_m * np.sqrt(rng.uniform(0, 1, n)),
    )
    level = rng.random(n) < scene.level_share
    flight_level = 300 + 10 * rng.integers(0, scene.levels, n)
    alt = np.where(level, flight_level * 100 * FT_M, rng.uniform(29_000, 31_000 + 1000 * scene.levels, n) * FT_M)
    climb = rng.choice([-1.0, 1.0], n) * rng.uniform(300, scene.max_climb_fpm, n) * FT_M / 60
    return Flights(
        np.asarray(lat),
        np.asarray(lng),
        alt,
        rng.uniform(0.15, 1.0, n) * scene.max_speed_mps,
        rng.uniform(0, 360, n),
        np.where(level, 0.0, climb),
    )


def tracks_of(f: Flights) -> Tracks:
    return Tracks.from_reports(f.lat_deg, f.lng_deg, f.alt_m, f.ground_speed_mps, f.track_deg, f.vertical_rate_mps)


def flagged(tracks: Tracks, minima: Minima = MINIMA) -> set[Pair]:
    """Brute force: `predict` over every pair."""
    i, j = np.triu_indices(tracks.lat_deg.size, k=1)
    got = predict(tracks, i, j, minima)
    lost = ~np.isnan(got.time_to_loss_s)
    return set(zip(i[lost].tolist(), j[lost].tolist(), strict=True))


def pairs(i: np.ndarray, j: np.ndarray) -> set[Pair]:
    return set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("name", list(SCENES))
def test_detect_finds_exactly_what_predict_over_all_pairs_finds(name: str) -> None:
    tracks = tracks_of(flights(SCENES[name], seed=len(name)))
    want = flagged(tracks)
    found = detect(tracks)
    assert pairs(found.i, found.j) == want
    assert len(want) >= 20, "the scene should contain losses of separation"
    assert np.all(found.i < found.j)
    assert not np.isnan(found.time_to_loss_s).any()


@given(
    lat=st.floats(-90, 90),
    lng=st.floats(-180, 180),
    radius_km=st.floats(1, 150),
    n=st.integers(2, 60),
    max_speed=st.floats(30, MACH2_MPS),
    levels=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=500, deadline=None)
def test_property_detect_equals_brute_force(
    lat: float, lng: float, radius_km: float, n: int, max_speed: float, levels: int, seed: int
) -> None:
    scene = Scene(lat, lng, radius_km * 1000, n, max_speed_mps=max_speed, levels=levels, max_climb_fpm=8000)
    tracks = tracks_of(flights(scene, seed))
    found = detect(tracks)
    want = flagged(tracks)
    event("losses", str(min(len(want), 10)) if len(want) < 10 else "10+")
    assert pairs(found.i, found.j) == want


def test_aircraft_exactly_at_the_poles() -> None:
    """Tracks on the poles themselves (their heading taken from their longitude, as pyproj does)."""
    rng = np.random.default_rng(5)
    n = 60
    lat = np.concatenate([np.full(n // 2, 90.0), np.full(n // 2, -90.0)])
    tracks = Tracks.from_reports(
        lat,
        rng.uniform(-180, 180, n),
        np.full(n, 10_000.0) + rng.integers(0, 3, n) * 1000 * FT_M,
        rng.uniform(50, MACH2_MPS, n),
        rng.uniform(0, 360, n),
        np.zeros(n),
    )
    want = flagged(tracks)
    assert len(want) > 100
    assert pairs(*candidate_pairs(tracks, MINIMA)) >= want
    found = detect(tracks)
    assert pairs(found.i, found.j) == want


def test_each_stage_is_conservative_and_prunes() -> None:
    """Test the stages alone: each keeps every pair predict flags, and each throws most of the rest away."""
    tracks = tracks_of(flights(Scene(50.0, 10.0, 300_000, 400), seed=3))
    want = flagged(tracks)
    n_all = 400 * 399 // 2
    si, sj = swept_pairs(tracks, MINIMA)
    assert pairs(si, sj) >= want
    assert np.all(si < sj)
    assert len(pairs(si, sj)) == si.size, "each pair once"
    assert si.size < 0.25 * n_all
    i, j = np.triu_indices(400, k=1)
    keep = cpa_prefilter(tracks, MINIMA, i, j)
    assert pairs(i[keep], j[keep]) >= want
    assert keep.sum() < 0.05 * n_all
    swept_keep = cpa_prefilter(tracks, MINIMA, si, sj)
    assert swept_keep.sum() < 0.5 * si.size, "the prefilter must reject pairs the boxes let through"
    ci, cj = candidate_pairs(tracks, MINIMA)
    assert pairs(ci, cj) == pairs(si[swept_keep], sj[swept_keep])


def test_adjacent_levels_1000_ft_apart_are_not_candidates() -> None:
    """Level aircraft at flight levels exactly 1,000 ft apart never share a box: they are separated."""
    n = 200
    rng = np.random.default_rng(9)
    lng, lat, _ = WGS84.fwd(np.full(n, 2.0), np.full(n, 48.0), rng.uniform(0, 360, n), rng.uniform(0, 20_000, n))
    fl = 100 + 10 * (np.arange(n) % 2) + 20 * rng.integers(0, 20, n)  # odd and even levels never coincide
    fl[::2] = 300
    fl[1::2] = 310
    tracks = Tracks.from_reports(
        np.asarray(lat), np.asarray(lng), fl * 100 * FT_M, np.full(n, 230.0), rng.uniform(0, 360, n), np.zeros(n)
    )
    si, sj = swept_pairs(tracks, MINIMA)
    assert np.all(fl[si] == fl[sj])
    found = detect(tracks)
    assert found.i.size > 1000
    assert np.all(fl[found.i] == fl[found.j])


def test_group_leaves_out_pairs_within_one_party() -> None:
    tracks = tracks_of(flights(SCENES["dense cluster"], seed=4))
    everyone = flagged(tracks)
    group = np.arange(tracks.lat_deg.size) % 3
    across = {(a, b) for a, b in everyone if group[a] != group[b]}
    found = detect(tracks, group=group)
    assert pairs(found.i, found.j) == across
    assert 0 < len(across) < len(everyone)
    within = detect(tracks, group=group, same_group=True)
    assert pairs(within.i, within.j) == everyone
    alone = detect(tracks, group=np.arange(tracks.lat_deg.size))
    assert pairs(alone.i, alone.j) == everyone


def test_edge_cases() -> None:
    empty = np.zeros(0)
    assert detect(Tracks(empty, empty, empty, empty, empty, empty)).i.size == 0
    one = Tracks.from_reports(*(np.array([v]) for v in (48.0, 2.0, 3000.0, 200.0, 90.0, 0.0)))
    assert detect(one).i.size == 0
    # A track with a missing value never conflicts; a very fast one is paired with everyone.
    f = flights(Scene(10.0, 20.0, 100_000, 80), seed=2)
    gs = f.ground_speed_mps.copy()
    gs[:3] = FAST_PATH_M / MINIMA.lookahead_s * np.array([1.5, 2.0, 3.0])
    lat = f.lat_deg.copy()
    lat[5] = np.nan
    tracks = Tracks.from_reports(lat, f.lng_deg, f.alt_m, gs, f.track_deg, f.vertical_rate_mps)
    want = flagged(tracks)
    assert any(a < 3 for a, _ in want)
    found = detect(tracks)
    assert pairs(found.i, found.j) == want
    assert 5 not in set(found.i.tolist()) | set(found.j.tolist())


@pytest.mark.parametrize("name", ["antimeridian", "north pole", "equator, Mach 2", "dense cluster", "one level pair"])
def test_detect_agrees_with_geodesic_flight(name: str) -> None:
    """Against the independent reference: every certain loss found, nothing found that certainly keeps
    separation; pairs within the stated tolerances of a minimum are listed and skipped."""
    f = flights(SCENES[name], seed=7)
    found = detect(tracks_of(f))
    got = {(int(a), int(b)): float(t) for a, b, t in zip(found.i, found.j, found.time_to_loss_s, strict=True)}
    ref = classify(f, MINIMA.lateral_m, MINIMA.vertical_m, MINIMA.lookahead_s)
    assert len(ref.loss) >= 10
    assert disagreements(got, ref) == []
    print(f"{name}: {len(ref.loss)} losses agree; {len(ref.boundary)} boundary pairs skipped: {ref.boundary}")
    assert len(ref.boundary) <= max(2, 0.05 * len(ref.loss))


def test_lateral_minimum_is_respected_at_other_values() -> None:
    """Minima other than the defaults: 3 NM / 500 ft / 120 s, and 10 NM / 2,000 ft / 600 s."""
    tracks = tracks_of(flights(SCENES["paris"], seed=12))
    for minima in (Minima(3 * NM_M, 500 * FT_M, 120.0), Minima(10 * NM_M, 2000 * FT_M, 600.0)):
        found = detect(tracks, minima)
        assert pairs(found.i, found.j) == flagged(tracks, minima)
