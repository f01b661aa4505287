"""Notices on both backends: one per counterpart and transition, answers, the activation gate,
deadlines and escalation driven by the manual clock, degraded channels."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import ActivationBlocked, Forbidden, InvalidInput, NotFound, StateConflict
from deconflict.domain.hotline import Decision
from deconflict.domain.operations import OperationState
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline
from deconflict.domain.zones import ZoneKind
from deconflict.services import agreements, audit, channels, notices, operations, parties, zones
from deconflict.services.core import Core
from deconflict.services.scheduler import Ticker
from deconflict.storage import journal
from deconflict.storage.tables import NoticeRow, PartyRow
from tests.conftest import T0
from tests.services.helpers import ADMIN, circle_draft, setup_parties

RULES = HotlineRules(ack_deadline_s=600.0, require_ack=True, escalation_interval_s=300.0)
PRIVATE_WORDS = ("SECRET1", "secret purpose", "callsign", "purpose", "aircraft_count")


def pid(principal: Principal) -> str:
    assert principal.party_id is not None
    return principal.party_id


def inbox(core: Core, principal: Principal, direction: str = "in", **kw: Any) -> list[dict[str, Any]]:
    return notices.list_notices(core, principal, notices.NoticeQuery(direction=direction, **kw))


def events(core: Core, principal: Principal, kind: str | None = None) -> list[dict[str, Any]]:
    with core.read() as repo:
        rows = journal.events_after(repo.session, pid(principal), 0, 100_000)
        return [{"seq": r.seq, "kind": r.kind, "data": r.data} for r in rows if kind is None or r.kind == kind]


def audit_actions(core: Core) -> list[str]:
    with core.read() as repo:
        return [e.action for e in journal.iter_entries(repo.session)]


def record_size(core: Core) -> tuple[int, dict[str, int]]:
    """The audit head and every party's last event number: what a failed command must leave alone."""
    with core.read() as repo:
        head = journal.audit_head(repo.session)
        seqs = {r.id: r.event_seq for r in repo.session.query(PartyRow)}
    return (head[0] if head else 0), seqs


@pytest.fixture
def p(core: Core) -> dict[str, Principal]:
    """Blue, Red and Green in one agreement everywhere; Grey bound to nobody."""
    out = setup_parties(core, "Blue", "Red", "Green", hotline=RULES)
    grey, _ = parties.create_party(core, "Grey")
    out["Grey"] = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    return out


def only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize("state", [OperationState.PROPOSED, OperationState.ACCEPTED])
def test_filing_sends_one_redacted_notice_per_counterpart(
    core: Core, p: dict[str, Principal], state: OperationState
) -> None:
    draft = replace(circle_draft(48.0, 2.0), state=state)
    op = operations.file_operation(core, p["Blue"], draft).operation
    for name in ("Red", "Green"):
        n = only(inbox(core, p[name]))
        assert (n["trigger"], n["status"], n["operation_id"]) == ("filed", "pending", op.id)
        assert (n["from_party_id"], n["to_party_id"]) == (pid(p["Blue"]), pid(p[name]))
        assert n["operation"]["state"] == state.value
        assert n["operation"]["party_id"] == pid(p["Blue"])
        assert n["operation"]["version"] == op.version == n["operation_version"]
        assert len(n["operation"]["extents"]) == 1
        assert n["lead_time_s"] == 7200.0
        assert n["sent_at"] == T0.isoformat()
        assert n["deadline_at"] == (T0 + timedelta(seconds=600)).isoformat()
        assert n["require_ack"] is True
        assert n["conflicts"] == []
        assert only(events(core, p[name], "notice"))["data"] == n
    assert inbox(core, p["Grey"], "all") == []
    assert events(core, p["Grey"]) == []
    sent = inbox(core, p["Blue"], "out")
    assert sorted(n["to_party_id"] for n in sent) == sorted([pid(p["Red"]), pid(p["Green"])])
    assert inbox(core, p["Blue"], "in") == []
    summary = only(events(core, p["Blue"], "notices.sent"))["data"]
    assert summary["trigger"] == "filed"
    assert sorted(n["to_party_id"] for n in summary["notices"]) == sorted([pid(p["Red"]), pid(p["Green"])])
    assert audit_actions(core).count("notice.sent") == 2


def test_nothing_private_reaches_a_counterpart(core: Core, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    operations.file_operation(core, p["Red"], circle_draft(48.01, 2.0))  # a conflict for both sides
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01)).operation
    for name in ("Red", "Green"):
        pending = only(inbox(core, p[name], status="pending", operation_id=a.id))
        notices.answer(core, p[name], pending["id"], Decision.ACKNOWLEDGED, None)
    operations.act(core, p["Blue"], a.id, "activate")
    operations.act(core, p["Blue"], a.id, "end")
    for name in ("Red", "Green"):
        seen = json.dumps([inbox(core, p[name], "all"), events(core, p[name])])
        assert pid(p["Blue"]) in seen  # the check looks at the real documents
        for word in PRIVATE_WORDS:
            assert word not in seen, (name, word)
    with core.read() as repo:
        entries = journal.entries_of_party(repo.session, pid(p["Red"]), 0, 10_000)
    record = json.dumps([e.to_doc() for e in entries])
    assert "operation.filed" in record
    for word in ("SECRET1", "secret purpose"):
        assert word not in record


def test_every_transition_sends_a_notice_with_its_trigger(
    core: Core, clock: ManualClock, p: dict[str, Principal]
) -> None:
    proposed = replace(circle_draft(48.0, 2.0), state=OperationState.PROPOSED)
    a = operations.file_operation(core, p["Blue"], proposed).operation
    clock.advance(1)
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.0)).operation
    assert a.state is OperationState.ACCEPTED
    for name in ("Red", "Green"):
        notices.answer(core, p[name], inbox(core, p[name], status="pending")[0]["id"], Decision.ACKNOWLEDGED, None)
    clock.advance(1)
    a = operations.act(core, p["Blue"], a.id, "activate").operation
    clock.advance(1)
    operations.act(core, p["Blue"], a.id, "end")
    clock.advance(1)
    b = operations.file_operation(core, p["Blue"], circle_draft(40.0, 2.0)).operation
    clock.advance(1)
    operations.act(core, p["Blue"], b.id, "cancel")
    for name in ("Red", "Green"):
        got = [(n["operation_id"], n["trigger"], n["operation"]["state"]) for n in reversed(inbox(core, p[name]))]
        assert got == [
            (a.id, "filed", "proposed"),
            (a.id, "changed", "accepted"),
            (a.id, "activated", "activated"),
            (a.id, "ended", "ended"),
            (b.id, "filed", "accepted"),
            (b.id, "cancelled", "cancelled"),
        ]
    assert inbox(core, p["Grey"], "all") == []
    assert len(inbox(core, p["Blue"], "out")) == 12


def test_notice_carries_the_conflicts_from_the_counterparts_side(core: Core, p: dict[str, Principal]) -> None:
    red_op = operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0)).operation
    zone_volume = Volume4D(
        circle_outline(LatLng(48.0, 2.02), 1000.0, Limits()), AltitudeBand(0, 300), TimeWindow(None, None)
    )
    red_zone = zones.create_zone(core, p["Red"], "R-12", ZoneKind.NO_FLY, zone_volume).zone
    blue_op = operations.file_operation(core, p["Blue"], circle_draft(48.01, 2.0)).operation
    n = only(inbox(core, p["Red"], operation_id=blue_op.id))
    got = sorted((c["mine"]["kind"], c["mine"]["id"], c["theirs"]["id"]) for c in n["conflicts"])
    assert got == sorted([("operation", red_op.id, blue_op.id), ("zone", red_zone.id, blue_op.id)])
    assert all(c["mine"]["party_id"] == pid(p["Red"]) for c in n["conflicts"])
    assert all(c["theirs"]["party_id"] == pid(p["Blue"]) for c in n["conflicts"])
    assert only(inbox(core, p["Green"], operation_id=blue_op.id))["conflicts"] == []


def test_lead_time_is_the_start_minus_server_time(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    clock.advance(1800)
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0, start_h=3.0)).operation
    assert only(inbox(core, p["Red"]))["lead_time_s"] == 3 * 3600.0 - 1800.0
    clock.advance(600)
    draft = circle_draft(48.0, 2.0, start_h=3.0)
    extra = circle_draft(48.0, 2.0, start_h=2.0).extents[0]
    operations.update_operation(core, p["Blue"], a.id, a.version, replace(draft, extents=(*draft.extents, extra)))
    newest = inbox(core, p["Red"])[0]
    assert newest["trigger"] == "changed"
    assert newest["lead_time_s"] == 2 * 3600.0 - 2400.0  # the earliest extent's start counts


def test_a_newer_notice_supersedes_the_older_open_one(core: Core, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    first = only(inbox(core, p["Red"]))
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01)).operation
    old = notices.get_notice(core, p["Red"], first["id"])
    assert (old["status"], old["superseded_at"]) == ("superseded", T0.isoformat())
    second = only(inbox(core, p["Red"], status="pending"))
    assert second["trigger"] == "changed"
    assert second["operation_version"] == a.version
    with pytest.raises(StateConflict, match="superseded"):
        notices.answer(core, p["Red"], old["id"], Decision.ACKNOWLEDGED, None)
    notices.answer(core, p["Red"], second["id"], Decision.ACKNOWLEDGED, None)
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.02)).operation
    acked = notices.get_notice(core, p["Red"], second["id"])
    assert acked["status"] == "acknowledged"  # an answered notice stays answered, though replaced
    assert acked["superseded_at"] == T0.isoformat()
    third = only(inbox(core, p["Red"], status="pending"))
    assert third["operation_version"] == a.version
    assert len(inbox(core, p["Red"])) == 3


@pytest.mark.parametrize(
    ("decision", "reason"),
    [(Decision.ACKNOWLEDGED, None), (Decision.OBJECTION, "crosses R-12 at 0900"), (Decision.UNABLE, "no staff")],
)
def test_answers_are_recorded_and_told_to_both_sides(
    core: Core, clock: ManualClock, p: dict[str, Principal], decision: Decision, reason: str | None
) -> None:
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    n = only(inbox(core, p["Red"]))
    clock.advance(42)
    doc = notices.answer(core, p["Red"], n["id"], decision, reason)
    assert (doc["status"], doc["decision"], doc["reason"]) == (decision.value, decision.value, reason)
    assert doc["responded_at"] == (T0 + timedelta(seconds=42)).isoformat()
    assert doc["response_time_s"] == 42.0
    assert doc["answered_late"] is False
    for name in ("Blue", "Red"):
        assert only(events(core, p[name], "notice.answered"))["data"] == doc
    assert events(core, p["Green"], "notice.answered") == []
    assert only(inbox(core, p["Blue"], "out", status=decision.value))["id"] == n["id"]
    with core.read() as repo:
        entry = list(journal.iter_entries(repo.session))[-1]
    assert entry.action == f"notice.{decision.value}"
    assert (entry.actor_party_id, entry.actor_token_id, entry.actor_role) == (pid(p["Red"]), "t-Red", "supervisor")
    assert entry.payload["reason"] == reason
    assert entry.parties == tuple(sorted([pid(p["Blue"]), pid(p["Red"])]))


def test_answer_errors(core: Core, p: dict[str, Principal]) -> None:
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    n = only(inbox(core, p["Red"]))
    before = record_size(core)
    with pytest.raises(Forbidden):  # the sender
        notices.answer(core, p["Blue"], n["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(NotFound):  # a party the notice was not sent to does not see it at all
        notices.answer(core, p["Green"], n["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(NotFound):
        notices.answer(core, p["Grey"], n["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(NotFound):
        notices.answer(core, p["Red"], "no-such-notice", Decision.ACKNOWLEDGED, None)
    observer = Principal("o", pid(p["Red"]), "Red", Role.OBSERVER)
    with pytest.raises(Forbidden):
        notices.answer(core, observer, n["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(InvalidInput):
        notices.answer(core, p["Red"], n["id"], Decision.OBJECTION, " ")
    assert record_size(core) == before  # refused answers leave no trace
    notices.answer(core, p["Red"], n["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(StateConflict, match="already answered"):
        notices.answer(core, p["Red"], n["id"], Decision.OBJECTION, "changed my mind")
    assert only(inbox(core, p["Red"]))["status"] == "acknowledged"


def test_get_notice_is_for_its_two_parties_only(core: Core, p: dict[str, Principal]) -> None:
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    n = only(inbox(core, p["Red"]))
    assert notices.get_notice(core, p["Blue"], n["id"]) == notices.get_notice(core, p["Red"], n["id"]) == n
    with pytest.raises(NotFound):
        notices.get_notice(core, p["Green"], n["id"])
    with pytest.raises(InvalidInput):
        inbox(core, p["Red"], "sideways")


def test_activation_waits_for_every_acknowledgement(core: Core, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    before = record_size(core)
    with pytest.raises(ActivationBlocked) as caught:
        operations.act(core, p["Blue"], a.id, "activate")
    assert len(caught.value.extra["blockers"]) == 2
    assert "Red has not acknowledged" in caught.value.detail
    assert "Green has not acknowledged" in caught.value.detail
    assert record_size(core) == before  # no audit entry, no event
    notices.answer(core, p["Red"], only(inbox(core, p["Red"]))["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(ActivationBlocked) as caught:
        operations.act(core, p["Blue"], a.id, "activate")
    assert caught.value.extra["blockers"] == [caught.value.extra["blockers"][0]]
    assert "Green" in caught.value.detail
    notices.answer(core, p["Green"], only(inbox(core, p["Green"]))["id"], Decision.ACKNOWLEDGED, None)
    assert operations.act(core, p["Blue"], a.id, "activate").operation.state is OperationState.ACTIVATED


def test_unable_blocks_when_acknowledgement_is_required(core: Core, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    notices.answer(core, p["Red"], only(inbox(core, p["Red"]))["id"], Decision.UNABLE, None)
    notices.answer(core, p["Green"], only(inbox(core, p["Green"]))["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(ActivationBlocked, match="Red has not acknowledged"):
        operations.act(core, p["Blue"], a.id, "activate")


def test_a_change_then_an_acknowledgement_unblocks(core: Core, p: dict[str, Principal]) -> None:
    """Changes made in the same server instant: the newest notice still decides."""
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    notices.answer(core, p["Red"], only(inbox(core, p["Red"]))["id"], Decision.OBJECTION, "too low")
    notices.answer(core, p["Green"], only(inbox(core, p["Green"]))["id"], Decision.ACKNOWLEDGED, None)
    with pytest.raises(ActivationBlocked, match="Red objected"):
        operations.act(core, p["Blue"], a.id, "activate")
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01)).operation
    with pytest.raises(ActivationBlocked) as caught:  # the change needs acknowledging again, by both
        operations.act(core, p["Blue"], a.id, "activate")
    assert len(caught.value.extra["blockers"]) == 2
    for name in ("Red", "Green"):
        notices.answer(core, p[name], inbox(core, p[name], status="pending")[0]["id"], Decision.ACKNOWLEDGED, None)
    assert operations.act(core, p["Blue"], a.id, "activate").operation.state is OperationState.ACTIVATED


def test_a_later_answer_to_a_newer_notice_decides(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    """An acknowledged notice is not superseded; the newer one's answer must still win, even in the same instant."""
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    for name in ("Red", "Green"):
        notices.answer(core, p[name], only(inbox(core, p[name]))["id"], Decision.ACKNOWLEDGED, None)
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01)).operation
    notices.answer(core, p["Green"], only(inbox(core, p["Green"], status="pending"))["id"], Decision.ACKNOWLEDGED, None)
    notices.answer(core, p["Red"], inbox(core, p["Red"], status="pending")[0]["id"], Decision.UNABLE, None)
    for _ in range(3):
        with pytest.raises(ActivationBlocked, match="Red has not acknowledged"):
            operations.act(core, p["Blue"], a.id, "activate")


def test_the_current_notice_decides_even_when_the_server_clock_stepped_back(
    core: Core, clock: ManualClock, p: dict[str, Principal]
) -> None:
    """Server time may step back (NTP): the change is still the notice that needs an answer."""
    clock.advance(10)
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    for name in ("Red", "Green"):
        notices.answer(core, p[name], only(inbox(core, p[name]))["id"], Decision.ACKNOWLEDGED, None)
    clock.set(T0 + timedelta(seconds=5))
    operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01))
    with pytest.raises(ActivationBlocked) as caught:
        operations.act(core, p["Blue"], a.id, "activate")
    assert len(caught.value.extra["blockers"]) == 2


def test_objection_blocks_even_without_require_ack(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red", hotline=replace(RULES, require_ack=False))
    free = operations.file_operation(core, p["Blue"], circle_draft(40.0, 2.0)).operation
    assert operations.act(core, p["Blue"], free.id, "activate").operation.state is OperationState.ACTIVATED
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    n = inbox(core, p["Red"], operation_id=a.id)[0]
    assert n["require_ack"] is False
    notices.answer(core, p["Red"], n["id"], Decision.OBJECTION, "our exercise")
    with pytest.raises(ActivationBlocked, match="Red objected") as caught:
        operations.act(core, p["Blue"], a.id, "activate")
    assert caught.value.field == "state"
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01)).operation
    assert operations.act(core, p["Blue"], a.id, "activate").operation.state is OperationState.ACTIVATED


def test_withdrawing_an_objection_unblocks(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    red_notice = only(inbox(core, p["Red"]))
    notices.answer(core, p["Green"], only(inbox(core, p["Green"]))["id"], Decision.ACKNOWLEDGED, None)
    notices.answer(core, p["Red"], red_notice["id"], Decision.OBJECTION, "our exercise")
    with pytest.raises(Forbidden):
        notices.withdraw_objection(core, p["Blue"], red_notice["id"])
    with pytest.raises(NotFound):
        notices.withdraw_objection(core, p["Green"], red_notice["id"])
    clock.advance(5)
    doc = notices.withdraw_objection(core, p["Red"], red_notice["id"])
    assert (doc["status"], doc["withdrawn_at"]) == ("withdrawn", (T0 + timedelta(seconds=5)).isoformat())
    for name in ("Blue", "Red"):
        assert only(events(core, p[name], "notice.withdrawn"))["data"]["id"] == red_notice["id"]
    assert "notice.objection_withdrawn" in audit_actions(core)
    with pytest.raises(StateConflict, match="already withdrawn"):
        notices.withdraw_objection(core, p["Red"], red_notice["id"])
    assert operations.act(core, p["Blue"], a.id, "activate").operation.state is OperationState.ACTIVATED


def test_the_escalation_scan_finds_due_notices_through_their_own_index(core: Core) -> None:
    """Every tick looks for due notices; without the partial index it read every notice ever sent."""
    due = select(NoticeRow.id).where(notices.due_clause(T0)).limit(1)
    with core.engine.connect() as conn:
        sql = str(due.compile(core.engine, compile_kwargs={"literal_binds": True}))
        if core.engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        else:  # an empty table: make the planner show whether the index can serve the query at all
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
    assert "ix_notices_due" in plan


def test_unanswered_notice_is_overdue_at_its_deadline_and_escalates_every_interval(
    core: Core, clock: ManualClock, p: dict[str, Principal]
) -> None:
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    red, green = only(inbox(core, p["Red"])), only(inbox(core, p["Green"]))
    notices.answer(core, p["Green"], green["id"], Decision.ACKNOWLEDGED, None)
    clock.advance(599.999)
    assert notices.escalate_due(core) == 0
    assert only(inbox(core, p["Red"]))["status"] == "pending"
    clock.advance(0.001)  # exactly at the deadline
    assert notices.escalate_due(core) == 1
    n = only(inbox(core, p["Red"]))
    assert (n["status"], n["overdue_at"], n["escalations"]) == ("overdue", n["deadline_at"], 1)
    assert notices.escalate_due(core) == 0  # not again until the interval has passed
    clock.advance(299)
    assert notices.escalate_due(core) == 0
    clock.advance(1)
    assert notices.escalate_due(core) == 1
    for name in ("Blue", "Red"):
        escalations = events(core, p[name], "escalation")
        assert [e["data"]["escalation"] for e in escalations] == [1, 2]
        assert all(e["data"]["audience"] == "supervisor" for e in escalations)
        assert all(e["data"]["id"] == red["id"] for e in escalations)
    assert events(core, p["Green"], "escalation") == []
    assert audit_actions(core).count("notice.escalated") == 2
    clock.advance(10)
    doc = notices.answer(core, p["Red"], red["id"], Decision.ACKNOWLEDGED, None)
    assert (doc["status"], doc["answered_late"], doc["overdue_at"]) == ("acknowledged", True, n["overdue_at"])
    clock.advance(3600)
    assert notices.escalate_due(core) == 0
    assert only(inbox(core, p["Red"]))["escalations"] == 2


def test_a_superseded_notice_stops_escalating(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    clock.advance(600)
    assert notices.escalate_due(core) == 2  # Red and Green
    operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(48.0, 2.01))
    clock.advance(300)
    assert notices.escalate_due(core) == 0  # the old ones are superseded, the new ones not yet due
    clock.advance(300)
    assert notices.escalate_due(core) == 2
    assert sorted(n["escalations"] for n in inbox(core, p["Red"])) == [1, 1]


def test_the_ticker_escalates_on_the_manual_clock(
    core: Core, clock: ManualClock, p: dict[str, Principal], tmp_path: Path
) -> None:
    ticker = Ticker(core, audit.Signer.load_or_create(tmp_path / "key.pem"), checkpoint_interval_s=600.0)
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    first = ticker.tick()
    assert first["escalations"] == 0
    assert first["checkpoints"] == 1  # the first checkpoint is due at once
    clock.advance(600)
    assert ticker.tick() == {"escalations": 2, "channel_changes": 0, "checkpoints": 1, "reports_deleted": 0}
    assert ticker.tick() == {"escalations": 0, "channel_changes": 0, "checkpoints": 0, "reports_deleted": 0}
    clock.advance(300)
    assert ticker.tick()["escalations"] == 2


def test_notices_into_a_degraded_channel_are_marked(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    channels.touch(core, pid(p["Red"]))  # Red is connected; Green never was
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    assert only(inbox(core, p["Red"]))["degraded_channel"] is False
    assert only(inbox(core, p["Green"]))["degraded_channel"] is True
    clock.advance(120)
    b = operations.file_operation(core, p["Blue"], circle_draft(40.0, 2.0)).operation
    assert only(inbox(core, p["Red"], operation_id=b.id))["degraded_channel"] is False  # 120 s: not yet
    clock.advance(1)
    c = operations.file_operation(core, p["Blue"], circle_draft(30.0, 2.0)).operation
    assert only(inbox(core, p["Red"], operation_id=c.id))["degraded_channel"] is True
    channels.touch(core, pid(p["Red"]))
    d = operations.file_operation(core, p["Blue"], circle_draft(20.0, 2.0)).operation
    assert only(inbox(core, p["Red"], operation_id=d.id))["degraded_channel"] is False


def test_parties_without_a_shared_area_get_no_notice(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    grey, _ = parties.create_party(core, "Grey")
    grey_principal = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    operations.file_operation(core, grey_principal, circle_draft(48.0, 2.0))
    assert inbox(core, grey_principal, "all") == []
    assert len(inbox(core, p["Red"])) == 1


def test_an_operation_that_leaves_the_shared_area_no_longer_waits_for_that_counterpart(
    core: Core, clock: ManualClock
) -> None:
    p = setup_parties(core, "Blue", "Green", hotline=RULES)  # everywhere
    parties.create_party(core, "Red")
    red = Principal("t-Red", None, "Red", Role.SUPERVISOR)
    area = circle_outline(LatLng(48.0, 2.0), 20_000.0, Limits())
    draft = agreements.AgreementDraft("local", ("Blue", "Red"), area, 1800.0, Buffers(0, 0, 0), LatePolicy.REJECT)
    agreements.create_agreement(core, ADMIN, replace(draft, hotline=RULES))
    with core.read() as repo:
        red_row = repo.party_by_name("Red")
    assert red_row is not None
    red = replace(red, party_id=red_row.id)
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    old = only(inbox(core, red))
    clock.advance(60)
    a = operations.update_operation(core, p["Blue"], a.id, a.version, circle_draft(40.0, 2.0)).operation
    assert only(inbox(core, red))["status"] == "superseded"  # nothing new to show Red: it left Red's area
    assert only(events(core, red, "notice.superseded"))["data"]["id"] == old["id"]
    assert "notice.superseded" in audit_actions(core)
    notices.answer(core, p["Green"], inbox(core, p["Green"], status="pending")[0]["id"], Decision.ACKNOWLEDGED, None)
    clock.advance(3600)
    assert notices.escalate_due(core) == 0
    assert operations.act(core, p["Blue"], a.id, "activate").operation.state is OperationState.ACTIVATED
