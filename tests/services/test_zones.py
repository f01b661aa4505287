"""Zones: checked against other parties' operations, both when the zone or the operation comes first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deconflict.domain.errors import Forbidden, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline
from deconflict.domain.zones import ZoneKind
from deconflict.services import operations, zones
from deconflict.services.core import Core
from tests.conftest import T0
from tests.services.helpers import circle_draft, setup_parties


def _zone_volume(start_h: float | None = None) -> Volume4D:
    window = TimeWindow(None if start_h is None else T0 + timedelta(hours=start_h), None)
    return Volume4D(circle_outline(LatLng(48.0, 2.0), 1000.0, Limits()), AltitudeBand(0, 300), window)


def test_zone_conflicts_with_existing_and_later_operations(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    before = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    created = zones.create_zone(core, p["Red"], "Hospital", ZoneKind.NO_FLY, _zone_volume())
    assert [c.other_id for c in created.conflicts] == [before.operation.id]
    after = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    assert [(c.other_kind, c.other_id) for c in after.conflicts] == [("zone", created.zone.id)]
    own = operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0))
    assert all(c.other_kind != "zone" for c in own.conflicts)  # a party's own zone is not a conflict for it


def test_zone_that_starts_later_does_not_conflict_earlier_flights(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    zones.create_zone(core, p["Red"], "Later", ZoneKind.NOTIFY, _zone_volume(start_h=10))
    assert operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0, start_h=2, hours=1)).conflicts == []


def test_zone_removal_and_roles(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    created = zones.create_zone(core, p["Red"], "Hospital", ZoneKind.NO_FLY, _zone_volume())
    operator = Principal("t", p["Red"].party_id, "Red", Role.OPERATOR)
    with pytest.raises(Forbidden):
        zones.create_zone(core, operator, "x", ZoneKind.NO_FLY, _zone_volume())
    with pytest.raises(NotFound):
        zones.delete_zone(core, p["Blue"], created.zone.id)
    zones.delete_zone(core, p["Red"], created.zone.id)
    assert operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).conflicts == []
    assert zones.list_zones(core, p["Blue"]) == []
