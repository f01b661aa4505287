"""Track ingest and the live picture per party, on both real stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deconflict.domain.agreements import Buffers, LatePolicy, LiveRules
from deconflict.domain.clock import ManualClock, ReplayClock
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal, Role
from deconflict.domain.track_input import ReportLimits
from deconflict.domain.tracks import Ageing
from deconflict.domain.volumes import LatLng, Limits, polygon_outline
from deconflict.services import agreements, parties, tracks
from deconflict.services.core import Core
from deconflict.settings import Settings
from deconflict.storage.tables import TrackReportRow
from tests.services.helpers import ADMIN, setup_parties
from tests.services.live_helpers import at, report

LIMITS = ReportLimits()
AGEING = Ageing()


def test_good_reports_are_kept_bad_ones_rejected_and_both_are_counted(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    now = clock.now()
    batch = [
        report("aaa001", now, at(0, 0)),
        {"aircraft_id": "bad", "lat_deg": float("nan")},
        report("aaa002", now, at(90, 10_000)),
    ]
    checked = tracks.ingest(core, p["Blue"], batch, LIMITS)
    assert len(checked.accepted) == 2
    assert [r.index for r in checked.rejected] == [1]
    with core.read() as repo:
        assert repo.session.scalar(select(func.count()).select_from(TrackReportRow)) == 2
    assert set(core.tracks.of_party(p["Blue"].party_id or "")) == {"aaa001", "aaa002"}


def test_a_batch_with_nothing_good_writes_nothing(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    checked = tracks.ingest(core, p["Blue"], [{"aircraft_id": "x"}], LIMITS)
    assert checked.accepted == []
    with core.read() as repo:
        assert repo.session.scalar(select(func.count()).select_from(TrackReportRow)) == 0


def test_out_of_order_is_judged_against_the_store_after_a_restart(database_url: str, clock: ManualClock) -> None:
    from deconflict.api.app import build_core

    core = build_core(Settings(database_url=database_url), clock)
    p = setup_parties(core, "Blue", "Red")
    now = clock.now()
    tracks.ingest(core, p["Blue"], [report("aaa001", now, at(0, 0))], LIMITS)
    restarted = build_core(Settings(database_url=database_url), clock, migrate=False)
    try:
        checked = tracks.ingest(restarted, p["Blue"], [report("aaa001", now - timedelta(seconds=1), at(0, 0))], LIMITS)
    finally:
        core.engine.dispose()
        restarted.engine.dispose()
    assert "older than the aircraft's latest report" in checked.rejected[0].reasons[0]


def test_only_party_operators_report(core: Core, clock: ManualClock) -> None:
    setup_parties(core, "Blue", "Red")
    observer = Principal("t-obs", "some-party", "Blue", Role.OBSERVER)
    with pytest.raises(Forbidden):
        tracks.ingest(core, observer, [], LIMITS)
    with pytest.raises(Forbidden):
        tracks.ingest(core, ADMIN, [], LIMITS)


def test_counterparts_see_tracks_by_alias_and_outsiders_see_nothing(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    grey, _ = parties.create_party(core, "Grey")
    grey_p = Principal("t-grey", grey.id, "Grey", Role.SUPERVISOR)
    tracks.ingest(core, p["Blue"], [report("aaa001", clock.now(), at(0, 0), callsign="VIPER01")], LIMITS)

    (own,) = tracks.live_picture(core, p["Blue"], AGEING)
    assert (own.identity.aircraft_id, own.identity.callsign) == ("aaa001", "VIPER01")
    (seen,) = tracks.live_picture(core, p["Red"], AGEING)
    assert (seen.identity.aircraft_id, seen.identity.callsign) == (None, None)
    assert seen.identity.alias == own.identity.alias
    assert "aaa001" not in seen.identity.alias
    assert tracks.live_picture(core, grey_p, AGEING) == []


def test_an_agreement_can_share_track_identities_and_limits_them_to_its_area(core: Core, clock: ManualClock) -> None:
    names = ("Blue", "Red")
    for name in names:
        parties.create_party(core, name)
    far_away = polygon_outline(
        [LatLng(10, 10), LatLng(10, 11), LatLng(11, 11), LatLng(11, 10)], Limits(max_area_m2=1e12)
    )
    draft = agreements.AgreementDraft(
        "shared", names, far_away, 0.0, Buffers(0, 0, 0), LatePolicy.FLAG, live=LiveRules(share_track_identity=True)
    )
    agreements.create_agreement(core, ADMIN, draft)
    with core.read() as repo:
        blue = repo.party_by_name("Blue")
        red = repo.party_by_name("Red")
    assert blue is not None
    assert red is not None
    blue_p = Principal("t-b", blue.id, "Blue", Role.OPERATOR)
    red_p = Principal("t-r", red.id, "Red", Role.OPERATOR)
    inside, outside = (10.5, 10.5), at(0, 0)
    tracks.ingest(core, blue_p, [report("in1", clock.now(), inside), report("out1", clock.now(), outside)], LIMITS)
    (seen,) = tracks.live_picture(core, red_p, AGEING)
    assert seen.identity.aircraft_id == "in1"


def test_tracks_go_stale_then_disappear(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    tracks.ingest(core, p["Blue"], [report("aaa001", clock.now(), at(0, 0))], LIMITS)
    clock.advance(31)
    (stale,) = tracks.live_picture(core, p["Blue"], AGEING)
    assert stale.freshness.value == "stale"
    clock.advance(300)
    assert tracks.live_picture(core, p["Blue"], AGEING) == []


def test_a_replay_clock_follows_the_reports(database_url: str, request: pytest.FixtureRequest) -> None:
    from deconflict.api.app import build_core

    clock = ReplayClock()
    core = build_core(Settings(database_url=database_url), clock)
    request.addfinalizer(core.engine.dispose)
    p = setup_parties(core, "Blue", "Red")
    then = clock.now() - timedelta(days=3000)  # a recording from years ago
    checked = tracks.ingest(core, p["Blue"], [report("aaa001", then, at(0, 0))], LIMITS)
    assert checked.rejected == []
    assert clock.now() == then
    tracks.ingest(core, p["Blue"], [report("aaa001", then + timedelta(seconds=5), at(0, 1000))], LIMITS)
    assert clock.now() == then + timedelta(seconds=5)
    tracks.ingest(core, p["Blue"], [report("aaa002", then, at(0, 0))], LIMITS)
    assert clock.now() == then + timedelta(seconds=5)  # never backwards


def test_identities_are_shared_only_inside_the_sharing_agreement_area(core: Core, clock: ManualClock) -> None:
    """Two agreements: one shares identities far away, the other covers everywhere without sharing."""
    for name in ("Blue", "Red"):
        parties.create_party(core, name)
    far = polygon_outline([LatLng(10, 10), LatLng(10, 11), LatLng(11, 11), LatLng(11, 10)], Limits(max_area_m2=1e12))
    for name, area, share in (("far", far, True), ("everywhere", None, False)):
        draft = agreements.AgreementDraft(
            name,
            ("Blue", "Red"),
            area,
            0.0,
            Buffers(0, 0, 0),
            LatePolicy.FLAG,
            live=LiveRules(share_track_identity=share),
        )
        agreements.create_agreement(core, ADMIN, draft)
    with core.read() as repo:
        ids = {p.name: p.id for p in repo.parties()}
    blue_p = Principal("t-b", ids["Blue"], "Blue", Role.OPERATOR)
    red_p = Principal("t-r", ids["Red"], "Red", Role.OPERATOR)
    batch = [report("home1", clock.now(), at(0, 0), callsign="HOME"), report("far1", clock.now(), (10.5, 10.5))]
    tracks.ingest(core, blue_p, batch, LIMITS)
    seen = {t.identity.aircraft_id for t in tracks.live_picture(core, red_p, AGEING)}
    assert seen == {"far1", None}  # both visible; only the one inside the sharing area by name


def test_one_rogue_time_does_not_drag_a_replay_clock_along(database_url: str, request: pytest.FixtureRequest) -> None:
    from deconflict.api.app import build_core

    clock = ReplayClock()
    core = build_core(Settings(database_url=database_url), clock)
    request.addfinalizer(core.engine.dispose)
    p = setup_parties(core, "Blue", "Red")
    then = clock.now() - timedelta(days=1000)
    tracks.ingest(core, p["Blue"], [report("aaa001", then, at(0, 0))], LIMITS)
    rogue = report("zzz999", then + timedelta(days=3000), at(0, 0))
    checked = tracks.ingest(core, p["Blue"], [report("aaa001", then + timedelta(seconds=1), at(0, 200)), rogue], LIMITS)
    assert [r.index for r in checked.rejected] == [1]
    assert "ahead of server time" in checked.rejected[0].reasons[0]
    assert clock.now() == then + timedelta(seconds=1)
    gap = then + timedelta(hours=2)  # the recording skips ahead: the whole batch is later
    assert tracks.ingest(core, p["Blue"], [report("aaa002", gap, at(0, 0))], LIMITS).rejected == []
    assert clock.now() == gap


def test_reports_past_their_retention_are_deleted_in_batches(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    tracks.ingest(core, p["Blue"], [report(f"old{k}", clock.now(), at(0, k * 100.0)) for k in range(5)], LIMITS)
    clock.advance(3_600)
    tracks.ingest(core, p["Blue"], [report("new1", clock.now(), at(0, 0))], LIMITS)
    assert tracks.prune_history(core, retention_s=7_200) == 0
    assert tracks.prune_history(core, retention_s=1_800, batch=3) == 3
    assert tracks.prune_history(core, retention_s=1_800, batch=3) == 2
    with core.read() as repo:
        assert repo.session.scalars(select(TrackReportRow.aircraft_id)).all() == ["new1"]
