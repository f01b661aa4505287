"""Storage contract: the same tests against SQLite and PostgreSQL (see the `database_url` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from deconflict.domain.clock import ManualClock
from deconflict.domain.operations import LateNotice, Operation, OperationState, PrivateDetails
from deconflict.domain.parties import Party, Role
from deconflict.domain.volumes import (
    AltitudeBand,
    LatLng,
    Limits,
    TimeWindow,
    Volume4D,
    circle_outline,
    polygon_outline,
)
from deconflict.domain.zones import Zone, ZoneKind
from deconflict.services.core import SYSTEM, Core
from deconflict.storage.repository import live_token
from deconflict.storage.tables import TokenRow
from tests.conftest import T0


def _volume(lat: float = 10.0, lng: float = 179.99) -> Volume4D:
    shape = polygon_outline([LatLng(lat, lng), LatLng(lat + 0.1, lng), LatLng(lat + 0.1, -179.9)], Limits())
    return Volume4D(shape, AltitudeBand(0, 500), TimeWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=2)))


def test_revision_counter_is_monotonic_across_transactions(core: Core) -> None:
    seen = []
    for _ in range(3):
        with core.write(SYSTEM) as tx:
            seen.append(tx.revision)
    assert seen == sorted(seen)
    assert len(set(seen)) == 3


def _write_then_fail(core: Core) -> None:
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "Half-written", T0))
        raise RuntimeError("boom")


def test_failed_transaction_writes_nothing(core: Core) -> None:
    with pytest.raises(RuntimeError):
        _write_then_fail(core)
    with core.read() as repo:
        assert repo.party_by_name("Half-written") is None
        assert repo.current_revision() == 0


@pytest.mark.parametrize("new", [False, True], ids=["looked-up", "new"])
def test_operation_round_trip_keeps_geometry_time_and_private_details(
    core: Core, clock: ManualClock, new: bool
) -> None:
    """Both ways of saving a first version: looking the id up first, and the plain insert of a new one."""
    circle = Volume4D(
        circle_outline(LatLng(-33.9, 151.2), 2500.0, Limits()),
        AltitudeBand(-10.5, 120.25),
        TimeWindow(T0 + timedelta(minutes=45), T0 + timedelta(hours=3, microseconds=500)),
    )
    op = Operation(
        id="op-1",
        party_id="p1",
        state=OperationState.ACCEPTED,
        extents=(_volume(), circle),
        version="v1",
        private=PrivateDetails(("ALPHA1", "ALPHA2"), 2, "exercise"),
        created_at=clock.now(),
        updated_at=clock.now(),
        late_notice=(LateNotice("ag-1", 1800.0, 600.5),),
    )
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", clock.now()))
        tx.repo.save_operation(op, tx.revision, new=new)
    with core.read() as repo:
        loaded = repo.operation("op-1")
    assert loaded is not None
    assert loaded.private == op.private
    assert loaded.late_notice == op.late_notice
    assert loaded.created_at == op.created_at
    assert loaded.created_at.tzinfo is not None
    assert [e.time for e in loaded.extents] == [e.time for e in op.extents]
    assert [e.altitude for e in loaded.extents] == [e.altitude for e in op.extents]
    assert loaded.extents[0].outline.vertices == op.extents[0].outline.vertices
    assert loaded.extents[1].outline.radius_m == 2500.0


def test_saving_again_replaces_extents_and_bumps_revision(core: Core, clock: ManualClock) -> None:
    op = Operation("op-2", "p1", OperationState.PROPOSED, (_volume(), _volume(20.0)), "v1", PrivateDetails(), T0, T0)
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
        tx.repo.save_operation(op, tx.revision, new=True)
        first = tx.revision
    changed = Operation("op-2", "p1", OperationState.ACCEPTED, (_volume(30.0),), "v2", PrivateDetails(), T0, T0)
    with core.write(SYSTEM) as tx:
        tx.repo.save_operation(changed, tx.revision)
    with core.read() as repo:
        loaded = repo.operation("op-2")
        assert loaded is not None
        assert len(loaded.extents) == 1
        assert loaded.version == "v2"
        assert [o.id for o in repo.operations(changed_after_revision=first)] == ["op-2"]
        assert repo.operations(states=[OperationState.PROPOSED]) == []


def test_operations_filter_by_time_window(core: Core) -> None:
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
        for i in range(3):
            v = _volume()
            shifted = Volume4D(
                v.outline, v.altitude, TimeWindow(T0 + timedelta(hours=10 * i), T0 + timedelta(hours=10 * i + 1))
            )
            tx.repo.save_operation(
                Operation(f"op-{i}", "p1", OperationState.ACCEPTED, (shifted,), "v", PrivateDetails(), T0, T0),
                tx.revision,
            )
    with core.read() as repo:
        found = repo.operations(time_start=T0 + timedelta(hours=9), time_end=T0 + timedelta(hours=12))
    assert [o.id for o in found] == ["op-1"]


def test_tokens_are_stored_hashed_and_found_by_hash(core: Core) -> None:
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
        tx.repo.add_token("t1", "p1", Role.OPERATOR, "ab" * 32, "desk", T0)
        tx.repo.add_token("t2", None, Role.ADMIN, "ef" * 32, "admin desk", T0)
    with Session(core.engine) as session:
        assert live_token(session.connection(), "ab" * 32) == ("t1", "p1", "operator", "One")
        assert live_token(session.connection(), "ef" * 32) == ("t2", None, "admin", None)  # no party
        assert live_token(session.connection(), "cd" * 32) is None
        session.get(TokenRow, "t1").revoked_at = T0  # type: ignore[union-attr]
        session.flush()
        assert live_token(session.connection(), "ab" * 32) is None


def test_party_names_are_unique(core: Core) -> None:
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p2", "One", T0))


def test_zone_round_trip_with_open_time(core: Core) -> None:
    v = _volume()
    zone = Zone("z1", "p1", "Range", ZoneKind.NO_FLY, Volume4D(v.outline, v.altitude, TimeWindow(None, None)), "v1", T0)
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
        tx.repo.save_zone(zone, tx.revision)
    with core.read() as repo:
        found = repo.zone("z1")
    assert found is not None
    loaded, active = found
    assert active
    assert loaded.volume.time == TimeWindow(None, None)
    assert loaded.kind is ZoneKind.NO_FLY


def test_loading_many_operations_is_chunked(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extents are fetched in bounded IN lists (SQLite refuses more than 32,766 bound variables)."""
    monkeypatch.setattr("deconflict.storage.repository._IN_CHUNK", 7)
    with core.write(SYSTEM) as tx:
        tx.repo.add_party(Party("p1", "One", T0))
        for i in range(20):
            op = Operation(
                f"op-{i:02d}", "p1", OperationState.ACCEPTED, (_volume(), _volume(20.0)), "v", PrivateDetails(), T0, T0
            )
            tx.repo.save_operation(op, tx.revision)
    with core.read() as repo:
        loaded = repo.operations()
    assert len(loaded) == 20
    assert all(len(op.extents) == 2 for op in loaded)
