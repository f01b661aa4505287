"""The hotline's rules as pure functions: notice status, answers, the activation gate, escalation, channels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from deconflict.domain import hotline as h
from deconflict.domain.agreements import Agreement, AgreementState, Buffers, HotlineRules, LatePolicy
from deconflict.domain.errors import Forbidden, InvalidInput, StateConflict

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
NAMES = {"red": "Red", "green": "Green"}


def notice(**change: object) -> h.NoticeFacts:
    base = h.NoticeFacts(
        id="n1",
        to_party_id="red",
        from_party_id="blue",
        trigger=h.Trigger.FILED,
        deadline_at=T0 + timedelta(minutes=10),
        decision=None,
        responded_at=None,
        withdrawn_at=None,
        superseded_at=None,
        overdue_at=None,
        require_ack=True,
    )
    return replace(base, **change)  # type: ignore[arg-type]


def agreement(rules: HotlineRules) -> Agreement:
    return Agreement(
        "a",
        "a",
        frozenset({"blue", "red"}),
        None,
        1800.0,
        Buffers(1852.0, 152.4, 300.0),
        LatePolicy.REJECT,
        AgreementState.ACTIVE,
        rules,
    )


ACKED = {"decision": h.Decision.ACKNOWLEDGED, "responded_at": T0}
OBJECTED = {"decision": h.Decision.OBJECTION, "responded_at": T0}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, h.NoticeStatus.PENDING),
        ({"overdue_at": T0}, h.NoticeStatus.OVERDUE),
        (ACKED, h.NoticeStatus.ACKNOWLEDGED),
        ({**ACKED, "overdue_at": T0}, h.NoticeStatus.ACKNOWLEDGED),  # answered late is still answered
        (OBJECTED, h.NoticeStatus.OBJECTION),
        ({**OBJECTED, "withdrawn_at": T0}, h.NoticeStatus.WITHDRAWN),
        ({"decision": h.Decision.UNABLE}, h.NoticeStatus.UNABLE),
        ({"superseded_at": T0}, h.NoticeStatus.SUPERSEDED),
        ({"superseded_at": T0, "overdue_at": T0}, h.NoticeStatus.SUPERSEDED),
        ({**OBJECTED, "superseded_at": T0}, h.NoticeStatus.OBJECTION),  # the answer stays on the record
    ],
)
def test_status(change: dict[str, object], expected: h.NoticeStatus) -> None:
    assert h.status(notice(**change)) is expected


def test_answer_own_notice_returns_the_cleaned_reason() -> None:
    assert h.check_answer(notice(), "red", h.Decision.ACKNOWLEDGED, None) is None
    assert h.check_answer(notice(), "red", h.Decision.ACKNOWLEDGED, "   ") is None
    assert h.check_answer(notice(), "red", h.Decision.OBJECTION, "  too close to R-12  ") == "too close to R-12"
    assert h.check_answer(notice(), "red", h.Decision.UNABLE, None) is None


def test_sender_cannot_answer_its_own_notice() -> None:
    with pytest.raises(Forbidden, match="sender"):
        h.check_answer(notice(), "blue", h.Decision.ACKNOWLEDGED, None)


def test_someone_elses_notice_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="another party"):
        h.check_answer(notice(), "green", h.Decision.ACKNOWLEDGED, None)


@pytest.mark.parametrize("first", [ACKED, OBJECTED, {"decision": h.Decision.UNABLE}])
def test_answer_twice_is_a_state_conflict(first: dict[str, object]) -> None:
    with pytest.raises(StateConflict, match="already answered"):
        h.check_answer(notice(**first), "red", h.Decision.ACKNOWLEDGED, None)


def test_superseded_notice_cannot_be_answered() -> None:
    with pytest.raises(StateConflict, match="superseded") as caught:
        h.check_answer(notice(superseded_at=T0), "red", h.Decision.ACKNOWLEDGED, None)
    assert caught.value.field == "notice_id"


@pytest.mark.parametrize("reason", [None, "", "  \n "])
def test_objection_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(InvalidInput, match="reason") as caught:
        h.check_answer(notice(), "red", h.Decision.OBJECTION, reason)
    assert caught.value.field == "reason"


def test_reason_length_boundary() -> None:
    longest = "x" * h.MAX_REASON_CHARS
    assert h.check_answer(notice(), "red", h.Decision.OBJECTION, longest) == longest
    assert h.check_answer(notice(), "red", h.Decision.OBJECTION, f"  {longest}  ") == longest
    with pytest.raises(InvalidInput, match="at most"):
        h.check_answer(notice(), "red", h.Decision.OBJECTION, longest + "x")


def test_withdraw_an_objection() -> None:
    h.check_withdraw(notice(**OBJECTED), "red")
    with pytest.raises(Forbidden):
        h.check_withdraw(notice(**OBJECTED), "blue")
    with pytest.raises(Forbidden):
        h.check_withdraw(notice(**OBJECTED), "green")
    with pytest.raises(StateConflict, match="no objection"):
        h.check_withdraw(notice(**ACKED), "red")
    with pytest.raises(StateConflict, match="no objection"):
        h.check_withdraw(notice(), "red")
    with pytest.raises(StateConflict, match="already withdrawn"):
        h.check_withdraw(notice(**OBJECTED, withdrawn_at=T0), "red")


def test_activation_blockers_with_require_ack() -> None:
    assert h.activation_blockers([], NAMES) == []
    assert h.activation_blockers([notice(**ACKED)], NAMES) == []
    assert h.activation_blockers([notice(**OBJECTED, withdrawn_at=T0)], NAMES) == []
    for change in ({}, {"overdue_at": T0}, {"decision": h.Decision.UNABLE}, {"superseded_at": T0}):
        (reason,) = h.activation_blockers([notice(**change)], NAMES)
        assert reason.startswith("Red has not acknowledged notice n1")
    (reason,) = h.activation_blockers([notice(**OBJECTED)], NAMES)
    assert reason.startswith("Red objected (notice n1)")


def test_activation_blockers_without_require_ack_only_objections_block() -> None:
    for change in ({}, {"overdue_at": T0}, {"decision": h.Decision.UNABLE}, ACKED):
        assert h.activation_blockers([notice(require_ack=False, **change)], NAMES) == []
    assert len(h.activation_blockers([notice(require_ack=False, **OBJECTED)], NAMES)) == 1


def test_activation_blockers_name_every_counterpart() -> None:
    blockers = h.activation_blockers(
        [notice(**ACKED), notice(id="n2", to_party_id="green"), notice(id="n3", to_party_id="ghost", **OBJECTED)],
        NAMES,
    )
    assert len(blockers) == 2
    assert blockers[0].startswith("Green has not acknowledged notice n2")
    assert blockers[1].startswith("ghost objected")  # unknown names fall back to the id


def test_rules_for_takes_the_strictest() -> None:
    assert h.rules_for([]) == HotlineRules()
    strict = agreement(HotlineRules(ack_deadline_s=60.0, require_ack=False, escalation_interval_s=600.0))
    loose = agreement(HotlineRules(ack_deadline_s=900.0, require_ack=True, escalation_interval_s=30.0))
    assert h.rules_for([strict, loose]) == HotlineRules(60.0, True, 30.0)
    assert h.rules_for([strict]) == strict.hotline


def test_deadline_and_lead_time() -> None:
    assert h.deadline(T0, HotlineRules(ack_deadline_s=90.0)) == T0 + timedelta(seconds=90)
    assert h.lead_time_s(T0, T0 + timedelta(hours=2)) == 7200.0
    assert h.lead_time_s(T0, T0 - timedelta(seconds=5)) == -5.0
    assert h.lead_time_s(T0, None) is None


def test_escalation_due_at_the_deadline_then_at_each_next_time() -> None:
    n = notice()
    assert not h.escalation_due(n, None, n.deadline_at - timedelta(microseconds=1))
    assert h.escalation_due(n, None, n.deadline_at)
    later = n.deadline_at + timedelta(minutes=5)
    assert not h.escalation_due(n, later, later - timedelta(seconds=1))
    assert h.escalation_due(n, later, later)


@pytest.mark.parametrize("change", [ACKED, OBJECTED, {"decision": h.Decision.UNABLE}, {"superseded_at": T0}])
def test_answered_or_superseded_notices_never_escalate(change: dict[str, object]) -> None:
    n = notice(**change)
    assert not h.escalation_due(n, None, n.deadline_at + timedelta(days=1))


def test_channel_state_boundaries() -> None:
    ok, degraded = h.ChannelState.OK, h.ChannelState.DEGRADED
    assert h.channel_state(None, T0, 120.0) is degraded  # never seen
    assert h.channel_state(T0, T0, 120.0) is ok
    assert h.channel_state(T0, T0 + timedelta(seconds=120), 120.0) is ok  # exactly 120 s: not yet
    assert h.channel_state(T0, T0 + timedelta(seconds=120, microseconds=1), 120.0) is degraded
    assert h.channel_state(T0, T0 + timedelta(seconds=30), 20.0) is degraded
