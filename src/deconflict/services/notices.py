"""Notices to counterparts, their answers, the activation gate and escalation of overdue notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from deconflict.domain import hotline as h
from deconflict.domain.agreements import Agreement
from deconflict.domain.disclosure import operation_view
from deconflict.domain.errors import ActivationBlocked, Forbidden, InvalidInput, NotFound
from deconflict.domain.operations import Operation
from deconflict.domain.parties import Principal, Role
from deconflict.services import conflicts as conflict_store
from deconflict.services.channels import channel_states
from deconflict.services.core import SYSTEM, Core, WriteTx, new_id
from deconflict.services.views import public_operation_doc
from deconflict.storage import journal
from deconflict.storage.append import append_rows
from deconflict.storage.tables import ConflictRow, NoticeRow, PartyRow


def facts(row: Any) -> h.NoticeFacts:
    return h.NoticeFacts(
        id=row.id,
        to_party_id=row.to_party_id,
        from_party_id=row.from_party_id,
        trigger=h.Trigger(row.trigger),
        deadline_at=row.deadline_at,
        decision=None if row.decision is None else h.Decision(row.decision),
        responded_at=row.responded_at,
        withdrawn_at=row.withdrawn_at,
        superseded_at=row.superseded_at,
        overdue_at=row.overdue_at,
        require_ack=row.require_ack,
    )


def notice_doc(row: Any) -> dict[str, Any]:
    """A notice as both its sender and its receiver see it (its content is already redacted)."""
    response_s = None if row.responded_at is None else (row.responded_at - row.sent_at).total_seconds()
    return {
        "id": row.id,
        "record_seq": row.record_seq,
        "status": h.status(facts(row)).value,
        "trigger": row.trigger,
        "operation_id": row.operation_id,
        "operation_version": row.operation_version,
        "from_party_id": row.from_party_id,
        "to_party_id": row.to_party_id,
        "agreement_ids": list(row.agreement_ids),
        "sent_at": row.sent_at.isoformat(),
        "delivered_at": _iso(row.delivered_at),
        "deadline_at": row.deadline_at.isoformat(),
        "lead_time_s": row.lead_time_s,
        "lead_time_at_delivery_s": h.lead_time_s(row.delivered_at, row.operation_start) if row.delivered_at else None,
        "degraded_channel": row.degraded_channel,
        "require_ack": row.require_ack,
        "decision": row.decision,
        "reason": row.reason,
        "responded_at": _iso(row.responded_at),
        "response_time_s": response_s,
        "answered_late": bool(row.responded_at and row.responded_at > row.deadline_at),
        "withdrawn_at": _iso(row.withdrawn_at),
        "superseded_at": _iso(row.superseded_at),
        "overdue_at": _iso(row.overdue_at),
        "escalations": row.escalations,
        "operation": row.content["operation"],
        "conflicts": row.content["conflicts"],
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


_AUDITED = ("operation_id", "operation_version", "trigger", "to_party_id", "status", "lead_time_s")
#: What the filer's own stream gets for each notice it sent, in one `notices.sent` event per command
#: (it knows its operation already).
_SENT = (
    "id",
    "record_seq",
    "status",
    "to_party_id",
    "sent_at",
    "deadline_at",
    "lead_time_s",
    "degraded_channel",
    "require_ack",
)


def _audit_doc(row: Any, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = doc or notice_doc(row)
    return {k: doc[k] for k in _AUDITED}


def counterparts(tx: WriteTx, op: Operation) -> dict[str, list[Agreement]]:
    """Counterpart party -> the agreements with it whose area the operation touches."""
    return tx.book.touching(op.party_id, (v.outline for v in op.extents))


def _their_side(recorded: Sequence[ConflictRow], party_id: str) -> list[dict[str, Any]]:
    """The recorded conflicts with `party_id`'s own operations and zones, oriented from its side."""
    return [
        conflict_store.oriented(r, party_id) for r in recorded if party_id in (r.subject_party_id, r.other_party_id)
    ]


def issue(
    core: Core,
    tx: WriteTx,
    op: Operation,
    trigger: h.Trigger,
    groups: dict[str, list[Agreement]],
    recorded: Sequence[ConflictRow],
) -> list[Any]:
    """One notice per counterpart of every agreement whose area the operation touches, each with the
    `recorded` conflicts (the operation's open ones, with their ids) from its side; returns their
    values (plain records: the rows are inserted in one statement)."""
    session = tx.repo.session
    starts = [v.time.start for v in op.extents if v.time.start is not None]
    start = min(starts) if starts else None
    rows = []
    # A new operation has no notices yet: one query fewer on every filing.
    current = {} if trigger is h.Trigger.FILED else _current_notices(session, op.id)
    states = channel_states(core, session, groups, tx.now)
    shared: dict[str, Any] | None = None  # every counterpart's view of the operation is the same
    sent: list[dict[str, Any]] = []
    for party_id, agreements in sorted(groups.items()):
        view = operation_view(party_id, op, tx.book)
        if view is None:  # cannot happen: the operation touches a shared area
            continue
        shared = shared or public_operation_doc(view)
        for old in current.get(party_id, ()):
            old.superseded_at, old.next_escalation_at = tx.now, None
        rules = h.rules_for(agreements)
        degraded = states[party_id] is h.ChannelState.DEGRADED
        row = SimpleNamespace(
            id=new_id(),
            record_seq=0,  # the seq of its audit entry, set below
            operation_id=op.id,
            operation_version=op.version,
            trigger=trigger.value,
            from_party_id=op.party_id,
            to_party_id=party_id,
            agreement_ids=sorted(a.id for a in agreements),
            content={"operation": shared, "conflicts": _their_side(recorded, party_id)},
            sent_at=tx.now,
            operation_start=start,
            lead_time_s=h.lead_time_s(tx.now, start),
            degraded_channel=degraded,
            deadline_at=h.deadline(tx.now, rules),
            require_ack=rules.require_ack,
            escalation_interval_s=rules.escalation_interval_s,
            escalations=0,
            delivered_at=None,
            decision=None,
            reason=None,
            responded_at=None,
            responder_token_id=None,
            withdrawn_at=None,
            superseded_at=None,
            overdue_at=None,
            next_escalation_at=None,
        )
        doc = notice_doc(row)
        row.record_seq = doc["record_seq"] = tx.audit(
            "notice.sent", ("notice", row.id), _audit_doc(row, doc), [op.party_id, party_id]
        ).seq
        tx.emit(party_id, "notice", doc)
        sent.append({k: doc[k] for k in _SENT})
        rows.append(row)
    if sent:  # the filer's stream: one event for all the notices its command sent
        summary = {"operation_id": op.id, "operation_version": op.version, "trigger": trigger.value}
        tx.emit(op.party_id, "notices.sent", {**summary, "notices": sent})
    if rows:
        append_rows(session, journal.table_of(NoticeRow), [vars(r) for r in rows])
    _release_left_behind(tx, [r for p, rs in sorted(current.items()) if p not in groups for r in rs])
    return rows


def _release_left_behind(tx: WriteTx, left: list[NoticeRow]) -> None:
    """A party whose shared area the operation no longer touches gets no new notice (it may not see the
    new extents), but its current notice is replaced: it no longer escalates or gates activation."""
    for row in left:
        row.superseded_at, row.next_escalation_at = tx.now, None
        doc = notice_doc(row)
        for p in (row.from_party_id, row.to_party_id):
            tx.emit(p, "notice.superseded", doc)
        tx.audit("notice.superseded", ("notice", row.id), _audit_doc(row), [row.from_party_id, row.to_party_id])


def _current_notices(session: Session, operation_id: str) -> dict[str, list[NoticeRow]]:
    """Per counterpart, the operation's notice that no newer one replaced yet (answered or not): so there
    is always exactly one current notice per counterpart, even when two were sent in the same instant."""
    stmt = select(NoticeRow).where(NoticeRow.operation_id == operation_id, NoticeRow.superseded_at.is_(None))
    current: dict[str, list[NoticeRow]] = {}
    for row in session.execute(stmt.order_by(NoticeRow.record_seq)).scalars():
        current.setdefault(row.to_party_id, []).append(row)
    return current


def check_activation(tx: WriteTx, op: Operation) -> None:
    """Refuse activation while a counterpart objects or (where required) has not acknowledged."""
    session = tx.repo.session
    latest: dict[str, NoticeRow] = {}
    stmt = (
        select(NoticeRow)
        .where(
            NoticeRow.operation_id == op.id,
            NoticeRow.trigger.in_([t.value for t in h.PLAN_TRIGGERS]),
            NoticeRow.superseded_at.is_(None),
        )
        .order_by(NoticeRow.record_seq)
    )
    bound = tx.book.counterparts(op.party_id)  # a party no longer bound has no say
    for row in session.execute(stmt).scalars():
        if row.to_party_id in bound:
            latest[row.to_party_id] = row
    names = {pid: name for pid, name in session.execute(select(PartyRow.id, PartyRow.name))}
    blockers = h.activation_blockers((facts(r) for r in latest.values()), names)
    if blockers:
        raise ActivationBlocked(
            "the operation cannot be activated yet: " + "; ".join(blockers), field="state", extra={"blockers": blockers}
        )


def _answering_party(principal: Principal) -> str:
    if principal.party_id is None or not principal.at_least(Role.OPERATOR):
        raise Forbidden("answering notices needs an operator or supervisor token of a party")
    return principal.party_id


def _visible_notice(session: Session, notice_id: str, party_id: str) -> NoticeRow:
    row = session.get(NoticeRow, notice_id)
    if row is None or party_id not in (row.to_party_id, row.from_party_id):
        raise NotFound(f"no notice {notice_id}", field="notice_id")
    return row


def answer(
    core: Core, principal: Principal, notice_id: str, decision: h.Decision, reason: str | None
) -> dict[str, Any]:
    party_id = _answering_party(principal)
    with core.write(principal) as tx:
        row = _visible_notice(tx.repo.session, notice_id, party_id)
        row.reason = h.check_answer(facts(row), party_id, decision, reason)
        row.decision, row.responded_at = decision.value, tx.now
        row.responder_token_id, row.next_escalation_at = principal.token_id, None
        tx.repo.session.flush()
        doc = notice_doc(row)
        for p in (row.from_party_id, row.to_party_id):
            tx.emit(p, "notice.answered", doc)
        payload = {**_audit_doc(row), "decision": decision.value, "reason": row.reason}
        payload["response_time_s"] = doc["response_time_s"]
        tx.audit(f"notice.{decision.value}", ("notice", row.id), payload, [row.from_party_id, row.to_party_id])
    return doc


def withdraw_objection(core: Core, principal: Principal, notice_id: str) -> dict[str, Any]:
    party_id = _answering_party(principal)
    with core.write(principal) as tx:
        row = _visible_notice(tx.repo.session, notice_id, party_id)
        h.check_withdraw(facts(row), party_id)
        row.withdrawn_at = tx.now
        tx.repo.session.flush()
        doc = notice_doc(row)
        for p in (row.from_party_id, row.to_party_id):
            tx.emit(p, "notice.withdrawn", doc)
        tx.audit("notice.objection_withdrawn", ("notice", row.id), _audit_doc(row), [row.from_party_id, party_id])
    return doc


@dataclass(frozen=True)
class NoticeQuery:
    direction: str = "all"  # in, out, all
    status: str | None = None
    operation_id: str | None = None
    limit: int = 100


def list_notices(core: Core, principal: Principal, q: NoticeQuery) -> list[dict[str, Any]]:
    """The caller's notices, newest first: received (`in`), sent (`out`) or both."""
    if principal.party_id is None:
        raise Forbidden("listing notices needs a party token")
    if q.direction not in ("in", "out", "all"):
        raise InvalidInput("direction must be in, out or all", field="direction")
    me = principal.party_id
    where = {
        "in": NoticeRow.to_party_id == me,
        "out": NoticeRow.from_party_id == me,
        "all": or_(NoticeRow.to_party_id == me, NoticeRow.from_party_id == me),
    }[q.direction]
    stmt = select(NoticeRow).where(where).order_by(NoticeRow.record_seq.desc())
    if q.operation_id is not None:
        stmt = stmt.where(NoticeRow.operation_id == q.operation_id)
    with core.read() as repo:
        docs = (notice_doc(r) for r in repo.session.execute(stmt).scalars())
        out = []
        for doc in docs:
            if q.status is None or doc["status"] == q.status:
                out.append(doc)
            if len(out) >= q.limit:
                break
        return out


def get_notice(core: Core, principal: Principal, notice_id: str) -> dict[str, Any]:
    if principal.party_id is None:
        raise Forbidden("reading notices needs a party token")
    with core.read() as repo:
        return notice_doc(_visible_notice(repo.session, notice_id, principal.party_id))


def due_clause(now: Any) -> Any:
    """Open notices whose deadline, or next escalation, has come (served by the `ix_notices_due` index)."""
    return and_(
        NoticeRow.decision.is_(None),
        NoticeRow.superseded_at.is_(None),
        func.coalesce(NoticeRow.next_escalation_at, NoticeRow.deadline_at) <= now,
    )


def escalate_due(core: Core) -> int:
    """Mark notices overdue at their deadline and escalate them to both parties' supervisors,
    again every escalation interval until they are answered. Returns the escalations made."""
    with core.read() as repo:
        if repo.session.execute(select(NoticeRow.id).where(due_clause(core.clock.now())).limit(1)).first() is None:
            return 0
    made = 0
    with core.write(SYSTEM) as tx:
        due = select(NoticeRow).where(due_clause(tx.now)).order_by(NoticeRow.deadline_at)
        for row in tx.repo.session.execute(due).scalars():
            if row.overdue_at is None:
                row.overdue_at = tx.now
            row.escalations += 1
            row.next_escalation_at = tx.now + timedelta(seconds=row.escalation_interval_s)
            tx.repo.session.flush()
            doc = {**notice_doc(row), "escalation": row.escalations, "audience": Role.SUPERVISOR.value}
            for p in (row.from_party_id, row.to_party_id):
                tx.emit(p, "escalation", doc)
            payload = {**_audit_doc(row), "escalation": row.escalations, "deadline_at": row.deadline_at.isoformat()}
            tx.audit("notice.escalated", ("notice", row.id), payload, [row.from_party_id, row.to_party_id])
            made += 1
        if not made:
            tx.abandon()
    return made
