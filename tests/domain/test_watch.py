"""Which conditions one look at the live picture finds: agreements decide who is compared, with what minima."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyproj import Geod

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, LatePolicy, LiveRules
from deconflict.domain.rules import AgreementBook
from deconflict.domain.tactical import FT_M, KT_MPS, NM_M
from deconflict.domain.tracks import TrackState
from deconflict.domain.volumes import LatLng, Limits, Outline, polygon_outline
from deconflict.domain.watch import LOSS, WatchRules, watch

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
WGS84 = Geod(ellps="WGS84")


def agreement(aid: str, parties: set[str], area: Outline | None = None, **live: float | bool) -> Agreement:
    return Agreement(
        aid,
        aid,
        frozenset(parties),
        area,
        0.0,
        Buffers(0, 0, 0),
        LatePolicy.FLAG,
        AgreementState.ACTIVE,
        live=LiveRules(**live),  # type: ignore[arg-type]
    )


def passing(offset_nm: float, party_b: str = "B", aircraft_b: str = "b1") -> list[TrackState]:
    """Two aircraft on parallel opposite tracks `offset_nm` apart laterally, 20 NM apart along track."""
    lng_a, lat_a, _ = WGS84.fwd(2.0, 48.0, 180.0, 10 * NM_M)
    lng_b, lat_b, _ = WGS84.fwd(2.0, 48.0, 0.0, 10 * NM_M)
    lng_b, lat_b, _ = WGS84.fwd(lng_b, lat_b, 90.0, offset_nm * NM_M)
    speed = 450 * KT_MPS
    return [
        TrackState("A", "a1", None, T0, float(lat_a), float(lng_a), 35_000 * FT_M, speed, 0.0, 0.0),
        TrackState(party_b, aircraft_b, None, T0, float(lat_b), float(lng_b), 35_000 * FT_M, speed, 180.0, 0.0),
    ]


def losses(states: list[TrackState], *agreements: Agreement, rules: WatchRules = WatchRules()) -> list[str]:
    found = watch(states, T0, AgreementBook(agreements), [], [], rules)
    return [k for k, c in found.items() if c.kind == LOSS]


def test_minima_come_from_the_agreement() -> None:
    states = passing(7.0)  # 7 NM at the closest point
    assert losses(states, agreement("x", {"A", "B"})) == []  # default 5 NM
    assert len(losses(states, agreement("x", {"A", "B"}, lateral_m=10 * NM_M))) == 1


def test_the_strictest_of_several_agreements_applies() -> None:
    states = passing(7.0)
    both = (agreement("x", {"A", "B"}), agreement("y", {"A", "B", "C"}, lateral_m=8 * NM_M))
    assert len(losses(states, *both)) == 1


def test_no_shared_agreement_or_area_means_no_comparison() -> None:
    states = passing(0.0)
    assert losses(states, agreement("x", {"A", "C"}), agreement("y", {"B", "C"})) == []
    far = polygon_outline([LatLng(10, 10), LatLng(10, 11), LatLng(11, 11), LatLng(11, 10)], Limits(1e12, 100))
    assert losses(states, agreement("x", {"A", "B"}, far)) == []
    near = polygon_outline(
        [LatLng(47.5, 1.5), LatLng(47.5, 2.5), LatLng(47.9, 2.5), LatLng(47.9, 1.5)], Limits(1e12, 100)
    )
    assert len(losses(states, agreement("x", {"A", "B"}, near))) == 1  # holds one of the two tracks


@pytest.mark.parametrize(("same_party", "expected"), [(False, 0), (True, 1)])
def test_same_party_pairs_only_when_configured(same_party: bool, expected: int) -> None:
    states = passing(0.0, party_b="A")
    found = losses(states, agreement("x", {"A", "B"}), rules=WatchRules(same_party=same_party))
    assert len(found) == expected


def test_one_aircraft_reported_by_two_parties_is_not_a_conflict() -> None:
    a, b = passing(0.0)
    twin = TrackState("B", "a1", None, T0, a.lat_deg, a.lng_deg, a.alt_m, a.ground_speed_mps, a.track_deg, 0.0)
    assert losses([a, twin], agreement("x", {"A", "B"})) == []
    assert len(losses([a, b], agreement("x", {"A", "B"}))) == 1
