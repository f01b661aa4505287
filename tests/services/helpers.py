"""Small builders for service-level tests."""

from __future__ import annotations

from datetime import timedelta

from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.operations import OperationState, PrivateDetails
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline
from deconflict.services import agreements, parties
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
