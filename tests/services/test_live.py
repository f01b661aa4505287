"""The live cycle end to end on both real stores: conditions become alerts, on the stream and in the record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deconflict.domain.agreements import HotlineRules
from deconflict.domain.clock import ManualClock
from deconflict.domain.operations import OperationState, PrivateDetails
from deconflict.domain.parties import Principal
from deconflict.domain.tactical import NM_M
from deconflict.domain.track_input import ReportLimits
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline
from deconflict.domain.zones import ZoneKind
from deconflict.services import operations, tracks, zones
from deconflict.services.core import Core
from deconflict.services.live import LiveMonitor
from deconflict.services.operations import OperationDraft
from deconflict.storage import journal
from deconflict.storage.tables import AuditEntryRow
from tests.services.helpers import setup_parties
from tests.services.live_helpers import ORIGIN, at, head_on, report

LIMITS = ReportLimits()


def events(core: Core, who: Principal, kind: str = "alert") -> list[dict[str, Any]]:
    with core.read() as repo:
        rows = journal.events_after(repo.session, who.party_id or "", 0, 10_000)
        return [r.data for r in rows if r.kind == kind]


def fly(core: Core, clock: ManualClock, who: Principal, *reports: dict[str, Any]) -> None:
    checked = tracks.ingest(core, who, list(reports), LIMITS)
    assert checked.rejected == [], checked.rejected


@pytest.fixture
def blue_red(core: Core) -> dict[str, Principal]:
    return setup_parties(core, "Blue", "Red", hotline=HotlineRules(require_ack=False))


def test_a_predicted_loss_of_separation_is_raised_to_both_parties_and_recorded(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    a, b = head_on(clock.now(), gap_nm=40.0)
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    result = LiveMonitor(core).cycle()
    assert [t.change.value for t in result.transitions] == ["raised"]
    (blue_view,) = events(core, blue_red["Blue"])
    (red_view,) = events(core, blue_red["Red"])
    assert blue_view["kind"] == red_view["kind"] == "loss_of_separation"
    # 40 NM closing at 900 kt: the 5 NM circle is reached after 35 NM, i.e. 140 s -> advisory
    assert blue_view["detail"]["time_to_loss_s"] == pytest.approx(140.0, abs=0.5)
    assert blue_view["level"] == "advisory"
    # each side names its own aircraft; the other's is an alias
    blue_tracks = {t["party_id"]: t for t in blue_view["tracks"]}
    assert blue_tracks[blue_red["Blue"].party_id]["aircraft_id"] == "aaa001"
    assert blue_tracks[blue_red["Red"].party_id]["aircraft_id"] is None
    with core.read() as repo:
        entry = repo.session.execute(select(AuditEntryRow).where(AuditEntryRow.action == "alert.raised")).scalar_one()
        assert all(t["aircraft_id"] is None for t in entry.payload["tracks"])


def test_the_level_rises_at_once_and_the_alert_clears_only_after_the_hold(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    monitor = LiveMonitor(core)
    a, b = head_on(clock.now(), gap_nm=40.0)
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    monitor.cycle()
    clock.advance(90)  # 22.5 NM closer: 50 s to loss now -> warning
    fly(core, clock, blue_red["Blue"], head_on(clock.now(), gap_nm=17.5)[0])
    fly(core, clock, blue_red["Red"], head_on(clock.now(), gap_nm=17.5)[1])
    assert [t.change.value for t in monitor.cycle().transitions] == ["updated"]
    assert events(core, blue_red["Red"])[-1]["level"] == "warning"
    # Red turns away and climbs: the condition ends
    clock.advance(1)
    away = report("bbb002", clock.now(), at(0, 8.75 * NM_M - 230), track_deg=0.0, altitude_ft=39_000.0)
    fly(core, clock, blue_red["Red"], away)
    assert monitor.cycle().transitions == []  # not yet: hysteresis
    clock.advance(6)
    assert [t.change.value for t in monitor.cycle().transitions] == ["cleared"]
    assert events(core, blue_red["Blue"])[-1]["open"] is False


@pytest.mark.parametrize(
    ("change", "alerts"),
    [
        ({"altitude_ft": 36_000.0}, 0),  # adjacent flight level, exactly 1,000 ft: separated
        ({"altitude_ft": 35_999.0}, 1),
    ],
)
def test_exactly_the_vertical_minimum_is_separated(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal], change: dict[str, Any], alerts: int
) -> None:
    a, _ = head_on(clock.now())
    _, b = head_on(clock.now(), **change)
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    assert len(LiveMonitor(core).cycle().transitions) == alerts


def test_the_same_aircraft_seen_by_both_parties_is_not_a_conflict(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    one = report("abc123", clock.now(), ORIGIN)
    fly(core, clock, blue_red["Blue"], one)
    fly(core, clock, blue_red["Red"], one)
    assert LiveMonitor(core).cycle().transitions == []


def test_parties_without_an_agreement_get_no_alerts(core: Core, clock: ManualClock) -> None:
    from deconflict.services import parties

    p = {}
    for name in ("Blue", "Red"):
        party, _ = parties.create_party(core, name)
        p[name] = Principal("t", party.id, name, blue_red_role())
    a, b = head_on(clock.now())
    fly(core, clock, p["Blue"], a)
    fly(core, clock, p["Red"], b)
    assert LiveMonitor(core).cycle().transitions == []


def blue_red_role() -> Any:
    from deconflict.domain.parties import Role

    return Role.OPERATOR


def _zone_volume(clock: ManualClock, radius_m: float = 5_000.0) -> Volume4D:
    return Volume4D(
        circle_outline(LatLng(*ORIGIN), radius_m, Limits()),
        AltitudeBand(0.0, 15_000.0),
        TimeWindow(None, None),
    )


def test_a_track_heading_into_a_counterpart_no_fly_zone_and_then_inside(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    zones.create_zone(core, blue_red["Blue"], "range", ZoneKind.NO_FLY, _zone_volume(clock))
    # Red 20 km south at 450 kt (231.5 m/s) heading for the centre: entry in ~65 s -> caution
    fly(core, clock, blue_red["Red"], report("red001", clock.now(), at(180.0, 20_000.0), track_deg=0.0))
    monitor = LiveMonitor(core)
    assert len(monitor.cycle().transitions) == 1
    (red_view,) = events(core, blue_red["Red"])
    (blue_view,) = events(core, blue_red["Blue"])
    assert red_view["kind"] == blue_view["kind"] == "intrusion"
    assert red_view["zone"]["kind"] == "no-fly"
    assert red_view["detail"]["time_to_entry_s"] == pytest.approx(15_000 / (450 * NM_M / 3600), abs=2.0)
    assert red_view["level"] == "caution"
    clock.advance(70)
    fly(core, clock, blue_red["Red"], report("red001", clock.now(), at(180.0, 4_000.0), track_deg=0.0))
    monitor.cycle()
    assert events(core, blue_red["Blue"])[-1]["detail"]["inside"] is True
    assert events(core, blue_red["Blue"])[-1]["level"] == "warning"


def test_own_zones_and_notify_zones(core: Core, clock: ManualClock, blue_red: dict[str, Principal]) -> None:
    zones.create_zone(core, blue_red["Red"], "own range", ZoneKind.NO_FLY, _zone_volume(clock))
    zones.create_zone(core, blue_red["Blue"], "notify area", ZoneKind.NOTIFY, _zone_volume(clock))
    fly(core, clock, blue_red["Red"], report("red001", clock.now(), ORIGIN))
    LiveMonitor(core).cycle()
    (alert,) = events(core, blue_red["Red"])
    assert alert["zone"]["name"] == "notify area"  # not Red's own zone
    assert alert["level"] == "advisory"  # inside a notify zone: never above advisory


def _activated(core: Core, clock: ManualClock, who: Principal, aircraft: str) -> str:
    volume = Volume4D(
        circle_outline(LatLng(*ORIGIN), 10_000.0, Limits()),
        AltitudeBand(0.0, 3_000.0),
        TimeWindow(clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=3)),
    )
    draft = OperationDraft((volume,), PrivateDetails((), 1, "survey", (aircraft,)), OperationState.ACCEPTED)
    op = operations.file_operation(core, who, draft).operation
    clock.advance(3600)
    operations.act(core, who, op.id, "activate")
    return op.id


def test_a_declared_aircraft_outside_its_volumes_makes_the_operation_nonconforming_and_back(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    op_id = _activated(core, clock, blue_red["Blue"], "b10001")
    monitor = LiveMonitor(core)
    inside = report("b10001", clock.now(), at(90.0, 5_000.0), altitude_ft=5_000.0, ground_speed_kt=0.0)
    fly(core, clock, blue_red["Blue"], inside)
    assert monitor.cycle().transitions == []
    clock.advance(25)
    # 150 m beyond the boundary (the tolerance is 100 m)
    out = report("b10001", clock.now(), at(90.0, 10_150.0), altitude_ft=5_000.0, ground_speed_kt=0.0)
    fly(core, clock, blue_red["Blue"], out)
    assert len(monitor.cycle().transitions) == 1
    red_alert = events(core, blue_red["Red"])[-1]
    assert red_alert["kind"] == "nonconformance"
    assert red_alert["operation_id"] == op_id
    assert red_alert["tracks"][0]["aircraft_id"] is None  # the counterpart is told, without the identity
    assert red_alert["detail"]["lateral_excess_m"] == pytest.approx(150.0, abs=1.0)
    assert operations.get_operation(core, blue_red["Red"], op_id).state is OperationState.NONCONFORMING
    assert events(core, blue_red["Red"], "operation.nonconforming")
    clock.advance(1)
    back = report("b10001", clock.now(), at(90.0, 9_900.0), altitude_ft=5_000.0, ground_speed_kt=0.0)
    fly(core, clock, blue_red["Blue"], back)
    assert monitor.cycle().transitions == []  # back in, but the alert holds a little
    clock.advance(6)
    fly(core, clock, blue_red["Blue"], back | {"time": clock.now().isoformat()})
    assert [t.change.value for t in monitor.cycle().transitions] == ["cleared"]
    assert operations.get_operation(core, blue_red["Blue"], op_id).state is OperationState.ACTIVATED


def test_one_replica_runs_the_cycle_and_a_successor_resumes_the_open_alerts(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    first, second = LiveMonitor(core), LiveMonitor(core)
    a, b = head_on(clock.now())
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    assert first.cycle().ran
    assert not second.cycle().ran
    clock.advance(10)  # the first stops renewing; its lease lapses
    climbed = report("bbb002", clock.now(), at(0, 20 * NM_M - 2_315), track_deg=180.0, altitude_ft=39_000.0)
    fly(core, clock, blue_red["Red"], climbed)
    result = second.cycle()
    assert result.ran
    # resumed from the store, last seen 10 s ago, gone now: cleared
    assert [t.change.value for t in result.transitions] == ["cleared"]
    assert len(events(core, blue_red["Blue"])) == 2


def test_an_alert_shows_a_counterpart_track_only_where_the_viewer_may_see_it(core: Core, clock: ManualClock) -> None:
    """The agreement's area holds Blue's aircraft only: the alert is raised (either track counts), but
    Blue learns nothing of where Red's aircraft is, as in its live picture."""
    from deconflict.domain.agreements import Buffers, LatePolicy
    from deconflict.services import agreements, alerts, parties
    from tests.services.helpers import ADMIN

    ids = {n: parties.create_party(core, n)[0].id for n in ("Blue", "Red")}
    a, b = head_on(clock.now(), gap_nm=40.0)
    area = circle_outline(LatLng(a["lat_deg"], a["lng_deg"]), 10_000, Limits())
    draft = agreements.AgreementDraft("south", ("Blue", "Red"), area, 0.0, Buffers(0, 0, 0), LatePolicy.FLAG)
    agreements.create_agreement(core, ADMIN, draft)
    blue = Principal("b", ids["Blue"], "Blue", blue_red_role())
    red = Principal("r", ids["Red"], "Red", blue_red_role())
    fly(core, clock, blue, a)
    fly(core, clock, red, b)
    assert LiveMonitor(core).cycle().transitions
    (alert,) = alerts.list_alerts(core, blue, 3600, False)
    theirs = next(t for t in alert["tracks"] if t["party_id"] == ids["Red"])
    assert theirs["lat_deg"] is None
    assert theirs["altitude_ft"] is None
    (event,) = events(core, blue)
    assert next(t for t in event["tracks"] if t["party_id"] == ids["Red"])["lng_deg"] is None
    (red_alert,) = alerts.list_alerts(core, red, 3600, False)  # Red sees Blue's aircraft: inside the area
    assert next(t for t in red_alert["tracks"] if t["party_id"] == ids["Blue"])["lat_deg"] is not None
    with core.read() as repo:
        entry = repo.session.execute(select(AuditEntryRow).where(AuditEntryRow.action == "alert.raised")).scalar_one()
        located = {t["party_id"]: t["lat_deg"] is not None for t in entry.payload["tracks"]}
    assert located == {ids["Blue"]: True, ids["Red"]: False}  # the record holds what both may see


def test_a_cycle_that_fails_after_writing_resumes_from_the_store(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deconflict.services import alerts

    monitor = LiveMonitor(core)
    a, b = head_on(clock.now())
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    real = alerts.refresh_details

    def fails_once(*args: Any) -> None:
        monkeypatch.setattr(alerts, "refresh_details", real)
        raise RuntimeError("database is locked")

    monkeypatch.setattr(alerts, "refresh_details", fails_once)
    with pytest.raises(RuntimeError):
        monitor.cycle()  # the alert was raised and committed before the failure
    assert monitor.cycle().transitions == []  # resumed from the store: not raised twice
    assert len(events(core, blue_red["Blue"])) == 1


def test_transitions_are_not_written_by_a_replica_that_lost_the_lease(
    core: Core, clock: ManualClock, blue_red: dict[str, Principal]
) -> None:
    from sqlalchemy import update

    from deconflict.domain.alerts import Change, OpenAlert, Transition
    from deconflict.services import alerts
    from deconflict.services.live import LEASE
    from deconflict.storage.tables import LeaseRow

    monitor = LiveMonitor(core)
    a, b = head_on(clock.now())
    fly(core, clock, blue_red["Blue"], a)
    fly(core, clock, blue_red["Red"], b)
    assert monitor.cycle().ran  # holds the lease; raises the alert
    with core.engine.begin() as conn:  # another replica takes over while this one stalls
        conn.execute(update(LeaseRow).where(LeaseRow.name == LEASE).values(holder="someone-else"))
    clock.advance(10)
    key = next(iter(monitor._latest))
    cleared = Transition(Change.CLEARED, OpenAlert(key, 1, clock.now(), clock.now(), clock.now()), 1)
    alerts.record(core, [cleared], monitor._latest, (LEASE, monitor.replica))
    assert [e["change"] for e in events(core, blue_red["Blue"])] == ["raised"]  # nothing written
