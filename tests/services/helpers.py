"""Small builders for service-level tests."""

from __future__ import annotations

from datetime import timedelta

from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.hotline import Decision
from deconflict.domain.operations import OperationState, PrivateDetails
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline
from deconflict.domain.zones import ZoneKind
from deconflict.services import agreements, channels, messages, notices, operations, parties, zones
from deconflict.services.core import Core
from deconflict.services.operations import OperationDraft
from tests.conftest import T0

ADMIN = Principal("admin", None, None, Role.ADMIN)


def setup_parties(
    core: Core, *names: str, late_policy: LatePolicy = LatePolicy.REJECT, hotline: HotlineRules | None = None
) -> dict[str, Principal]:
    out = {}
    for name in names:
        party, _token = parties.create_party(core, name)
        out[name] = Principal("t-" + name, party.id, name, Role.SUPERVISOR)
    draft = agreements.AgreementDraft(
        name="test",
        party_names=names,
        area=None,
        min_notice_s=1800.0,
        buffers=Buffers(1852.0, 152.4, 300.0),
        late_policy=late_policy,
        hotline=hotline or HotlineRules(),
    )
    agreements.create_agreement(core, ADMIN, draft)
    return out


def circle_draft(
    lat: float, lng: float, radius_m: float = 3000.0, start_h: float = 2.0, hours: float = 1.0
) -> OperationDraft:
    start = T0 + timedelta(hours=start_h)
    volume = Volume4D(
        circle_outline(LatLng(lat, lng), radius_m, Limits()),
        AltitudeBand(0.0, 500.0),
        TimeWindow(start, start + timedelta(hours=hours)),
    )
    return OperationDraft((volume,), PrivateDetails(("SECRET1",), 1, "secret purpose"), OperationState.ACCEPTED)


def record_scenario(core: Core, clock: ManualClock) -> dict[str, Principal]:
    """A few dozen audit entries of every kind, made through the services (Blue, Red agreed; Grey alone)."""
    p = setup_parties(core, "Blue", "Red")
    grey, _ = parties.create_party(core, "Grey")
    p["Grey"] = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    blue, red = p["Blue"].party_id or "", p["Red"].party_id or ""
    token_id, _ = parties.issue_token(core, "Red", Role.OPERATOR, "night shift")
    parties.revoke_token(core, token_id)
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    clock.advance(10)
    (n,) = notices.list_notices(core, p["Red"], notices.NoticeQuery(direction="in"))
    notices.answer(core, p["Red"], n["id"], Decision.ACKNOWLEDGED, None)
    clock.advance(10)
    a = operations.act(core, p["Blue"], a.id, "activate").operation
    sent = messages.send(core, p["Red"], messages.MessageDraft(blue, "copy"))
    messages.mark_read(core, p["Blue"], sent["id"])
    zone_volume = Volume4D(
        circle_outline(LatLng(40.0, 2.0), 1000.0, Limits()), AltitudeBand(0, 300), TimeWindow(None, None)
    )
    z = zones.create_zone(core, p["Red"], "R-1", ZoneKind.NOTIFY, zone_volume).zone
    zones.delete_zone(core, p["Red"], z.id)
    b = operations.file_operation(core, p["Red"], circle_draft(30.0, 2.0)).operation
    clock.advance(600)
    notices.escalate_due(core)
    operations.act(core, p["Red"], b.id, "cancel")
    channels.touch(core, red)
    channels.refresh_states(core)
    operations.act(core, p["Blue"], a.id, "end")
    operations.file_operation(core, p["Grey"], circle_draft(-10.0, 2.0))
    return p
