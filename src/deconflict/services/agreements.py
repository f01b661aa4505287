"""Agreements between parties: created by an admin (active at once) or proposed by a member's
supervisor (active once every member's supervisor has accepted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, HotlineRules, LatePolicy, LiveRules
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import Outline
from deconflict.services import conflicts as conflict_store
from deconflict.services.core import Core, new_id, new_version
from deconflict.storage.codec import outline_to_doc
from deconflict.storage.repository import agreement_from_rows
from deconflict.storage.tables import AgreementMemberRow, AgreementRow


@dataclass(frozen=True)
class AgreementDraft:
    name: str
    party_names: tuple[str, ...]
    area: Outline | None
    min_notice_s: float
    buffers: Buffers
    late_policy: LatePolicy
    hotline: HotlineRules = field(default_factory=HotlineRules)
    live: LiveRules = field(default_factory=LiveRules)


@dataclass(frozen=True)
class AgreementRecord:
    agreement: Agreement
    accepted_by: dict[str, datetime | None]
    created_at: datetime
    version: str


def _validate(draft: AgreementDraft) -> None:
    if len(set(draft.party_names)) < 2:
        raise InvalidInput("an agreement binds at least two different parties", field="parties")
    checks = (
        ("min_notice_s", draft.min_notice_s),
        ("lateral_buffer_m", draft.buffers.lateral_m),
        ("vertical_buffer_m", draft.buffers.vertical_m),
        ("time_buffer_s", draft.buffers.time_s),
        ("ack_deadline_s", draft.hotline.ack_deadline_s),
        ("escalation_interval_s", draft.hotline.escalation_interval_s),
        ("tactical_lateral_m", draft.live.lateral_m),
        ("tactical_vertical_m", draft.live.vertical_m),
        ("lookahead_s", draft.live.lookahead_s),
    )
    for name, value in checks:
        if not (value >= 0 and value < 1e9):
            raise InvalidInput(f"{name} must be a finite number >= 0", field=name)
    live = draft.live
    if min(live.lateral_m, live.vertical_m, live.lookahead_s) <= 0 or live.lookahead_s > 3600:
        raise InvalidInput("tactical minima must be > 0 and the lookahead between 0 and 3600 s", field="lookahead_s")
    if draft.hotline.ack_deadline_s <= 0 or draft.hotline.escalation_interval_s < 10:
        raise InvalidInput(
            "ack_deadline_s must be > 0 and escalation_interval_s at least 10 s", field="escalation_interval_s"
        )


def create_agreement(core: Core, principal: Principal, draft: AgreementDraft) -> AgreementRecord:
    _validate(draft)
    is_admin = principal.role is Role.ADMIN
    if not is_admin and not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("creating an agreement needs a supervisor or admin token")
    with core.write(principal) as tx:
        ids: list[str] = []
        for name in dict.fromkeys(draft.party_names):
            party = tx.repo.party_by_name(name)
            if party is None:
                raise NotFound(f"no party named {name!r}", field="parties")
            ids.append(party.id)
        if not is_admin and principal.party_id not in ids:
            raise Forbidden("a supervisor can only propose agreements that include their own party")
        state = AgreementState.ACTIVE if is_admin else AgreementState.PENDING
        agreement = Agreement(
            id=new_id(),
            name=draft.name.strip() or " / ".join(draft.party_names),
            party_ids=frozenset(ids),
            area=draft.area,
            min_notice_s=draft.min_notice_s,
            buffers=draft.buffers,
            late_policy=draft.late_policy,
            state=state,
            hotline=draft.hotline,
            live=draft.live,
        )
        accepted = set(ids) if is_admin else {principal.party_id or ""}
        version = new_version()
        tx.repo.add_agreement(agreement, tx.now, version, accepted)
        tx.audit("agreement.created", ("agreement", agreement.id), agreement_doc(agreement, version), ids)
        if state is AgreementState.ACTIVE:
            tx.book = core.book(tx.repo, fresh=True)
            conflict_store.refresh_parties(core, tx, ids)
        return AgreementRecord(agreement, {p: tx.now if p in accepted else None for p in ids}, tx.now, version)


def accept_agreement(core: Core, principal: Principal, agreement_id: str) -> AgreementRecord:
    if principal.party_id is None or not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("accepting an agreement needs a supervisor token of a member party")
    with core.write(principal) as tx:
        found = tx.repo.agreement_row(agreement_id)
        if found is None or principal.party_id not in {m.party_id for m in found[1]}:
            raise NotFound(f"no agreement {agreement_id}", field="agreement_id")
        row, members = found
        for m in members:
            if m.party_id == principal.party_id and m.accepted_at is None:
                m.accepted_at = tx.now
                tx.audit("agreement.accepted", ("agreement", row.id), {"version": row.version}, found_parties(members))
        if row.state == AgreementState.PENDING.value and all(m.accepted_at is not None for m in members):
            row.state = AgreementState.ACTIVE.value
            row.version = new_version()
            tx.repo.touch_agreements()
            tx.repo.session.flush()
            tx.audit("agreement.activated", ("agreement", row.id), {"version": row.version}, found_parties(members))
            tx.book = core.book(tx.repo, fresh=True)
            conflict_store.refresh_parties(core, tx, [m.party_id for m in members])
        tx.repo.session.flush()
        return _record(core, row, members)


def found_parties(members: list[AgreementMemberRow]) -> list[str]:
    return [m.party_id for m in members]


def agreement_doc(a: Agreement, version: str) -> dict[str, Any]:
    """The agreement's terms as recorded in the audit chain."""
    return {
        "name": a.name,
        "parties": sorted(a.party_ids),
        "state": a.state.value,
        "area": None if a.area is None else outline_to_doc(a.area),
        "min_notice_s": a.min_notice_s,
        "buffers": {"lateral_m": a.buffers.lateral_m, "vertical_m": a.buffers.vertical_m, "time_s": a.buffers.time_s},
        "late_policy": a.late_policy.value,
        "ack_deadline_s": a.hotline.ack_deadline_s,
        "require_ack": a.hotline.require_ack,
        "escalation_interval_s": a.hotline.escalation_interval_s,
        "tactical_lateral_m": a.live.lateral_m,
        "tactical_vertical_m": a.live.vertical_m,
        "lookahead_s": a.live.lookahead_s,
        "share_track_identity": a.live.share_track_identity,
        "version": version,
    }


def _record(core: Core, row: AgreementRow, members: list[AgreementMemberRow]) -> AgreementRecord:
    return AgreementRecord(
        agreement_from_rows(row, members, core.area_cache),
        {m.party_id: m.accepted_at for m in members},
        row.created_at,
        row.version,
    )


def list_agreements(core: Core, principal: Principal) -> list[AgreementRecord]:
    with core.read() as repo:
        rows = repo.agreement_rows(None if principal.role is Role.ADMIN else principal.party_id)
        return [_record(core, r, m) for r, m in rows]
