"""The coarse space-time index (`deconflict.domain.index`): conservative, and each stage prunes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deconflict.domain import columns
from deconflict.domain.agreements import Buffers
from deconflict.domain.conflicts import pair_conflict
from deconflict.domain.index import Candidates, Entry, SpaceTimeIndex, compile_kernels
from deconflict.domain.screening import outline_rows
from deconflict.domain.volumes import (
    AltitudeBand,
    LatLng,
    Limits,
    Outline,
    TimeWindow,
    Volume4D,
    circle_outline,
    polygon_outline,
)
from tests.domain import reference

T0 = datetime(2030, 6, 1, tzinfo=UTC)
BIG = Limits(max_area_m2=1e14)
NO_BUFFERS = Buffers(0.0, 0.0, 0.0)
DEFAULT_BUFFERS = Buffers(1_852.0, 152.4, 300.0)
WIDE_BUFFERS = Buffers(50_000.0, 1_000.0, 3_600.0)
#: Places where a lat/lng grid is awkward, plus two ordinary ones.
HOTSPOTS = [(0.0, 180.0), (89.9, 0.0), (-89.5, 60.0), (0.0, 0.0), (45.0, 10.0), (65.0, -179.5)]


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def volume(
    outline: Outline, lower_m: float = 0.0, upper_m: float = 100.0, window: tuple[float, float] = (0.0, 1.0)
) -> Volume4D:
    return Volume4D(outline, AltitudeBand(lower_m, upper_m), TimeWindow(at(window[0]), at(window[1])))


def entry(owner_id: str, vol: Volume4D, *, kind: str = "operation", party: str = "p", extent: int = 0) -> Entry:
    return Entry(kind, owner_id, party, extent, vol)


def index_of(entries: list[Entry]) -> SpaceTimeIndex:
    index = SpaceTimeIndex()
    for e in entries:
        index.add(e)
    return index


def random_outline(rng: np.random.Generator, lat: float, lng: float, size_m: float) -> Outline:
    if rng.random() < 0.5:
        return circle_outline(LatLng(lat, lng), size_m, BIG)
    n = int(rng.integers(3, 8))
    az = rng.uniform(0.0, 360.0) + (np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 360.0 / n
    reach = rng.uniform(0.5, 1.0, n) * size_m
    return polygon_outline([LatLng(*reference.offset(lat, lng, a, r)) for a, r in zip(az, reach, strict=True)], BIG)


def random_time_window(rng: np.random.Generator) -> TimeWindow:
    roll = rng.random()
    if roll < 0.05:
        return TimeWindow(None, None)
    start = at(rng.uniform(0.0, 24.0))
    if roll < 0.1:
        return TimeWindow(start, None)
    hours = rng.uniform(72.0, 96.0) if roll < 0.2 else rng.uniform(0.2, 8.0)
    return TimeWindow(start, start + timedelta(hours=hours))


def random_entries(rng: np.random.Generator, count: int) -> list[Entry]:
    """Extents clustered around the hotspots, from 100 m to 1,500 km across, with overlapping windows and bands."""
    entries = []
    for i in range(count):
        hot_lat, hot_lng = HOTSPOTS[int(rng.integers(len(HOTSPOTS)))]
        lat, lng = reference.offset(hot_lat, hot_lng, rng.uniform(0.0, 360.0), rng.uniform(0.0, 150_000.0))
        size_m = rng.uniform(500_000.0, 1_500_000.0) if rng.random() < 0.1 else 10.0 ** rng.uniform(2.0, 5.5)
        lower = rng.uniform(0.0, 3_000.0)
        window = random_time_window(rng)
        kind = "zone" if window.end is None else "operation"
        vol = Volume4D(
            random_outline(rng, lat, lng, size_m), AltitudeBand(lower, lower + rng.uniform(30.0, 1_500.0)), window
        )
        entries.append(entry(f"{kind}-{i}", vol, kind=kind, party=f"party-{i % 7}"))
    return entries


def true_conflicts(query: Volume4D, entries: list[Entry], buffers: Buffers) -> set[str]:
    """Owners of every entry the exact stage calls a conflict with `query`: brute force over all of them."""
    return {
        e.owner_id
        for e in entries
        if pair_conflict(query, 0, e, buffers.lateral_m, buffers.vertical_m, buffers.time_s, ()) is not None
    }


def candidate_ids(index: SpaceTimeIndex, query: Volume4D, buffers: Buffers) -> set[str]:
    found = index.candidates(query, lateral_m=buffers.lateral_m, vertical_m=buffers.vertical_m, time_s=buffers.time_s)
    return {e.owner_id for e in found}


# --- conservativeness ---------------------------------------------------------------------------------


@pytest.mark.parametrize("buffers", [NO_BUFFERS, DEFAULT_BUFFERS, WIDE_BUFFERS], ids=["none", "default", "wide"])
@pytest.mark.parametrize("seed", [1, 2])
def test_every_exact_conflict_is_a_candidate(seed: int, buffers: Buffers) -> None:
    entries = random_entries(np.random.default_rng(seed), 90)
    index = index_of(entries)
    conflicting_pairs = 0
    pruned = 0
    for query in entries:
        expected = true_conflicts(query.volume, entries, buffers)
        found = candidate_ids(index, query.volume, buffers)
        assert expected <= found, f"{query.owner_id}: index dropped {sorted(expected - found)}"
        conflicting_pairs += len(expected - {query.owner_id})
        pruned += len(entries) - len(found)
    # The check means something only if there are conflicts to find and non-conflicts to drop.
    assert conflicting_pairs > len(entries) / 2
    assert pruned > len(entries) ** 2 / 2


def _touching_north(lat: float, radius_m: float) -> tuple[Outline, Outline]:
    """Two circles of `radius_m`, the second due north of the first, exactly touching."""
    north = reference.offset(lat, 0.0, 0.0, 2 * radius_m)
    return circle_outline(LatLng(lat, 0.0), radius_m, BIG), circle_outline(LatLng(*north), radius_m, BIG)


def _boundary_pairs() -> dict[str, tuple[Volume4D, Volume4D, Buffers]]:
    square = polygon_outline([LatLng(10.0, 10.0), LatLng(10.0, 10.01), LatLng(10.01, 10.01), LatLng(10.01, 10.0)], BIG)
    pairs: dict[str, tuple[Volume4D, Volume4D, Buffers]] = {}
    # Near the equator a metre of north-south geodesic turns the surface normal furthest (smallest
    # radius of curvature), which an angular filter built on the mean Earth radius underestimates.
    for radius_m in (20_000.0, 100_000.0, 1_000_000.0, 2_000_000.0):
        a, b = _touching_north(-radius_m / 111_000.0, radius_m)
        pairs[f"equator-north-south-{radius_m / 1000:.0f}km"] = (volume(a), volume(b), NO_BUFFERS)
        far = reference.offset(b.center.lat, b.center.lng, 0.0, DEFAULT_BUFFERS.lateral_m - 0.5)
        pairs[f"equator-within-buffer-{radius_m / 1000:.0f}km"] = (
            volume(a),
            volume(circle_outline(LatLng(*far), radius_m, BIG)),
            DEFAULT_BUFFERS,
        )
    pairs["vertical-gap-at-buffer"] = (volume(square, 0.0, 100.0), volume(square, 252.4, 300.0), DEFAULT_BUFFERS)
    pairs["vertical-gap-within-tolerance"] = (volume(square, 0.0, 100.0), volume(square, 100.005, 300.0), NO_BUFFERS)
    later = Volume4D(square, AltitudeBand(0.0, 100.0), TimeWindow(at(1.0) + timedelta(seconds=300), at(2.0)))
    pairs["time-gap-at-buffer"] = (volume(square, window=(0.0, 1.0)), later, DEFAULT_BUFFERS)
    west = polygon_outline([LatLng(65.0, 179.9), LatLng(65.0, 180.0), LatLng(65.1, 180.0), LatLng(65.1, 179.9)], BIG)
    east = polygon_outline([LatLng(65.05, -180.0), LatLng(65.0, -179.9), LatLng(65.1, -179.9)], BIG)
    pairs["antimeridian-touching"] = (volume(west), volume(east), NO_BUFFERS)
    cap = polygon_outline([LatLng(89.5, lng) for lng in (0.0, 90.0, 180.0, -90.0)], BIG)
    across = circle_outline(LatLng(*reference.offset(89.9, 45.0, 0.0, 40_000.0)), 500.0, BIG)
    pairs["pole-enclosing"] = (volume(cap), volume(across), NO_BUFFERS)
    return pairs


BOUNDARY_PAIRS = _boundary_pairs()


@pytest.mark.parametrize("name", list(BOUNDARY_PAIRS))
def test_conflicts_at_the_edge_of_every_filter_are_candidates(name: str) -> None:
    query, other, buffers = BOUNDARY_PAIRS[name]
    e = entry("other", other)
    assert true_conflicts(query, [e], buffers) == {"other"}
    assert candidate_ids(index_of([e]), query, buffers) == {"other"}


def test_touching_circles_are_exactly_touching() -> None:
    a, b = _touching_north(-9.0, 1_000_000.0)
    assert reference.separation_m(reference.of_outline(a), reference.of_outline(b)) == pytest.approx(0.0, abs=1e-3)


# --- pruning ------------------------------------------------------------------------------------------

REGION_CENTRE = (49.0, 10.0)
REGION_RADIUS_M = 1_000_000.0
TOTAL = 5_000


@pytest.fixture(scope="module")
def crowded() -> tuple[SpaceTimeIndex, list[Entry], Volume4D]:
    """5,000 extents over a 2,000 km region and 7 days, and a query that some of them really conflict with."""
    rng = np.random.default_rng(7)
    entries = []
    distance = REGION_RADIUS_M * np.sqrt(rng.random(TOTAL))
    azimuth = rng.uniform(0.0, 360.0, TOTAL)
    for i in range(TOTAL):
        lat, lng = reference.offset(*REGION_CENTRE, azimuth[i], distance[i])
        outline = random_outline(rng, lat, lng, 10.0 ** rng.uniform(2.3, 4.3))
        start = rng.uniform(0.0, 7 * 24.0)
        lower = rng.uniform(0.0, 2_000.0)
        vol = volume(outline, lower, lower + rng.uniform(50.0, 600.0), (start, start + rng.uniform(0.25, 4.0)))
        entries.append(entry(f"op-{i}", vol, party=f"party-{i % 11}"))
    query = volume(circle_outline(LatLng(*REGION_CENTRE), 5_000.0, BIG), 100.0, 400.0, (80.0, 81.0))
    for i, (az, dist_m) in enumerate([(0.0, 3_000.0), (120.0, 6_000.0), (240.0, 6_500.0)]):
        near = circle_outline(LatLng(*reference.offset(*REGION_CENTRE, az, dist_m)), 1_000.0, BIG)
        entries.append(entry(f"near-{i}", volume(near, 300.0, 500.0, (80.5, 82.0))))
        # Same place and time slot, but a band or window too far away: only the box filter can drop these.
        entries.append(entry(f"above-{i}", volume(near, 1_000.0, 1_200.0, (80.5, 82.0))))
        entries.append(entry(f"later-{i}", volume(near, 300.0, 500.0, (82.0, 83.0))))
    return index_of(entries), entries, query


def test_each_stage_prunes_and_nothing_real_is_lost(crowded: tuple[SpaceTimeIndex, list[Entry], Volume4D]) -> None:
    index, entries, query = crowded
    found = candidate_ids(index, query, DEFAULT_BUFFERS)
    stats = index.last_stats
    assert stats.total_live == len(entries) == len(index)
    assert stats.gathered < stats.total_live / 100  # cells x time slots
    assert 0 < stats.after_box_filter < stats.gathered  # time, altitude and cap filter
    assert len(found) == stats.after_box_filter
    expected = true_conflicts(query, entries, DEFAULT_BUFFERS)
    assert {"near-0", "near-1", "near-2"} <= expected <= found
    assert not {"above-0", "later-0"} & found


def test_time_slots_prune_a_query_in_an_empty_week(crowded: tuple[SpaceTimeIndex, list[Entry], Volume4D]) -> None:
    index, _, query = crowded
    later = Volume4D(query.outline, query.altitude, TimeWindow(at(24.0 * 30), at(24.0 * 30 + 1)))
    assert candidate_ids(index, later, DEFAULT_BUFFERS) == set()
    assert index.last_stats.gathered == 0


def test_cells_prune_a_query_outside_the_region(crowded: tuple[SpaceTimeIndex, list[Entry], Volume4D]) -> None:
    index, _, query = crowded
    elsewhere = Volume4D(circle_outline(LatLng(-33.9, 151.2), 5_000.0, BIG), query.altitude, query.time)
    assert candidate_ids(index, elsewhere, WIDE_BUFFERS) == set()
    assert index.last_stats.gathered == 0


# --- maintenance --------------------------------------------------------------------------------------


def test_remove_owner_removes_all_its_extents() -> None:
    square = polygon_outline([LatLng(10.0, 10.0), LatLng(10.0, 10.01), LatLng(10.01, 10.01), LatLng(10.01, 10.0)], BIG)
    query = volume(square)
    kept = entry("kept", volume(square))
    gone = [entry("gone", volume(square, window=(0.5, 2.0)), extent=i) for i in range(3)]
    zone = entry("gone", volume(square), kind="zone")
    index = index_of([kept, *gone, zone])
    assert len(index) == 5
    assert index.entries_of("operation", "gone") == gone

    index.remove_owner("operation", "gone")

    assert len(index) == 2
    assert index.entries_of("operation", "gone") == []
    found = index.candidates(query, lateral_m=0.0, vertical_m=0.0, time_s=0.0)
    assert sorted((e.owner_kind, e.owner_id) for e in found) == [("operation", "kept"), ("zone", "gone")]
    index.remove_owner("operation", "gone")  # removing again, or an unknown owner, changes nothing
    index.remove_owner("operation", "never-added")
    assert len(index) == 2


def test_re_adding_an_owner_after_removal() -> None:
    a = volume(circle_outline(LatLng(0.0, 0.0), 1_000.0, BIG))
    index = index_of([entry("op", a)])
    index.remove_owner("operation", "op")
    moved = volume(circle_outline(LatLng(0.0, 1.0), 1_000.0, BIG))
    index.add(entry("op", moved))
    assert candidate_ids(index, a, NO_BUFFERS) == set()
    assert candidate_ids(index, moved, NO_BUFFERS) == {"op"}


def test_empty_index_has_no_candidates() -> None:
    index = SpaceTimeIndex()
    assert (
        index.candidates(volume(circle_outline(LatLng(0.0, 0.0), 1.0, BIG)), lateral_m=1e6, vertical_m=1e4, time_s=1e6)
        == []
    )
    assert index.last_stats.total_live == 0


def test_a_query_with_an_open_window_finds_every_slot_of_its_cells() -> None:
    square = polygon_outline([LatLng(10.0, 10.0), LatLng(10.0, 10.01), LatLng(10.01, 10.01), LatLng(10.01, 10.0)], BIG)
    far_apart = [entry(f"op{k}", volume(square, window=(24.0 * k, 24.0 * k + 1.0))) for k in (0, 3, 9)]
    open_zone = Entry("zone", "z", "p", 0, Volume4D(square, AltitudeBand(0.0, 100.0), TimeWindow(None, None)))
    elsewhere = entry("far", volume(circle_outline(LatLng(-30.0, 100.0), 1_000.0, BIG)))
    index = index_of([*far_apart, open_zone, elsewhere])
    query = Volume4D(square, AltitudeBand(0.0, 100.0), TimeWindow(at(30.0), None))
    found = index.candidates(query, lateral_m=0.0, vertical_m=0.0, time_s=0.0)
    assert {e.owner_id for e in found} == {"op3", "op9", "z"}  # op0 ends before the query starts
    assert index.last_stats.gathered == 4  # every slot of the square's cells, nothing from elsewhere


def wide_candidates(index: SpaceTimeIndex, query: Volume4D) -> Candidates:
    b = WIDE_BUFFERS
    return index.candidates_with_gaps(query, lateral_m=b.lateral_m, vertical_m=b.vertical_m, time_s=b.time_s)


def test_candidates_carry_their_ids_parties_and_outline_rows(
    crowded: tuple[SpaceTimeIndex, list[Entry], Volume4D],
) -> None:
    """The columns the engine reads instead of the entries agree with the entries themselves."""
    index, _, _ = crowded
    near = wide_candidates(
        index, volume(circle_outline(LatLng(*REGION_CENTRE), 200_000.0, BIG), 0.0, 3_000.0, (24.0, 72.0))
    )
    assert len(near.entries) > 50
    assert near.outline_rows.tolist() == outline_rows([e.volume.outline for e in near.entries]).tolist()
    codes = {e.party_id: index.party_code(e.party_id) for e in near.entries}
    assert near.party_code.tolist() == [codes[e.party_id] for e in near.entries]
    assert len(set(codes.values())) == len(codes)
    assert index.party_code("nobody") == -1
    windows = [(e.volume.time.start_s(), e.volume.time.end_s()) for e in near.entries]
    bands = [(e.volume.altitude.lower_m, e.volume.altitude.upper_m) for e in near.entries]
    assert near.bands.tolist() == [[*w, *b] for w, b in zip(windows, bands, strict=True)]
    assert [index.party_of(c) for c in near.party_code.tolist()] == [e.party_id for e in near.entries]
    assert [index.entry(i) for i in near.ids.tolist()] == near.entries
    for eid, e in zip(near.ids.tolist(), near.entries, strict=True):
        assert eid in index.ids_of(e.owner_kind, e.owner_id)


def test_candidates_come_once_each_in_id_order_with_their_gaps(
    crowded: tuple[SpaceTimeIndex, list[Entry], Volume4D],
) -> None:
    """An extent filed under several cells and slots is one candidate; its gaps are those of the two volumes."""
    index, _, _ = crowded
    query = volume(circle_outline(LatLng(*REGION_CENTRE), 300_000.0, BIG), 0.0, 1_000.0, (20.0, 90.0))
    near, b = wide_candidates(index, query), WIDE_BUFFERS
    ids = near.ids.tolist()
    assert len(ids) > 100
    assert ids == sorted(set(ids))
    assert index.last_stats.after_box_filter == len(ids) <= index.last_stats.gathered
    for e, time_gap, vertical_gap in zip(near.entries, near.time_gap_s, near.vertical_gap_m, strict=True):
        v = e.volume
        assert time_gap == max(v.time.start_s() - query.time.end_s(), query.time.start_s() - v.time.end_s(), 0.0)
        assert time_gap <= b.time_s
        assert vertical_gap == max(v.altitude.lower_m - 1_000.0, 0.0 - v.altitude.upper_m, 0.0)
        assert vertical_gap <= b.vertical_m
    # Each query marks the ids it meets; the next query meets them again.
    assert wide_candidates(index, query).ids.tolist() == ids


def test_removed_extents_are_never_candidates() -> None:
    square = polygon_outline([LatLng(0.0, 0.0), LatLng(0.0, 0.5), LatLng(0.5, 0.5), LatLng(0.5, 0.0)], BIG)
    # Long windows: each extent is filed under many time slots (and its bucket ids repeat in a query's gather).
    index = index_of([entry(f"op{i}", volume(square, window=(0.0, 72.0))) for i in range(5)])
    index.remove_owner("operation", "op2")
    found = index.candidates(volume(square, window=(0.0, 72.0)), lateral_m=0.0, vertical_m=0.0, time_s=0.0)
    assert sorted(e.owner_id for e in found) == ["op0", "op1", "op3", "op4"]
    assert index.last_stats.gathered == 5


def test_compile_kernels_reaches_both_of_the_columns_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the server runs at start-up, so that no filing waits for numba to compile."""
    reached: list[str] = []
    for name in ("_filter_kernel", "_gather_rings"):
        real = getattr(columns, name)
        monkeypatch.setattr(columns, name, lambda *a, real=real, name=name: reached.append(name) or real(*a))
    compile_kernels()
    assert sorted(reached) == ["_filter_kernel", "_gather_rings"]
