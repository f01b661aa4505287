"""/api/v1/agreements: the rules parties share."""

from __future__ import annotations

from fastapi import APIRouter, status

from deconflict.api import convert
from deconflict.api import schemas as s
from deconflict.api.deps import CoreDep, CurrentPrincipal
from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy, LiveRules
from deconflict.services import agreements

router = APIRouter(prefix="/agreements", tags=["agreements"])


def _out(r: agreements.AgreementRecord) -> s.AgreementOut:
    a = r.agreement
    area = None
    if a.area is not None:
        area = {"outline_polygon": {"vertices": [{"lat": v.lat, "lng": v.lng} for v in a.area.vertices]}}
    return s.AgreementOut(
        id=a.id,
        name=a.name,
        state=a.state.value,
        parties=r.accepted_by,
        area=area,
        min_notice_s=a.min_notice_s,
        lateral_buffer_m=a.buffers.lateral_m,
        vertical_buffer_m=a.buffers.vertical_m,
        time_buffer_s=a.buffers.time_s,
        late_policy=a.late_policy.value,
        ack_deadline_s=a.hotline.ack_deadline_s,
        require_ack=a.hotline.require_ack,
        escalation_interval_s=a.hotline.escalation_interval_s,
        tactical_lateral_m=a.live.lateral_m,
        tactical_vertical_m=a.live.vertical_m,
        lookahead_s=a.live.lookahead_s,
        share_track_identity=a.live.share_track_identity,
        version=r.version,
        created_at=r.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_agreement(body: s.AgreementCreate, core: CoreDep, principal: CurrentPrincipal) -> s.AgreementOut:
    """Admin: active at once. A member's supervisor: pending until every member's supervisor accepts."""
    draft = agreements.AgreementDraft(
        name=body.name,
        party_names=tuple(body.parties),
        area=convert.polygon_area(body.area, convert.AREA_LIMITS, "area") if body.area else None,
        min_notice_s=body.min_notice_s,
        buffers=Buffers(body.lateral_buffer_m, body.vertical_buffer_m, body.time_buffer_s),
        late_policy=LatePolicy(body.late_policy),
        hotline=HotlineRules(body.ack_deadline_s, body.require_ack, body.escalation_interval_s),
        live=LiveRules(body.tactical_lateral_m, body.tactical_vertical_m, body.lookahead_s, body.share_track_identity),
    )
    return _out(agreements.create_agreement(core, principal, draft))


@router.get("")
def list_agreements(core: CoreDep, principal: CurrentPrincipal) -> list[s.AgreementOut]:
    return [_out(r) for r in agreements.list_agreements(core, principal)]


@router.post("/{agreement_id}/accept")
def accept_agreement(agreement_id: str, core: CoreDep, principal: CurrentPrincipal) -> s.AgreementOut:
    return _out(agreements.accept_agreement(core, principal, agreement_id))
