"""The operation state machine (`deconflict.domain.operations`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deconflict.domain.errors import InvalidTransition
from deconflict.domain.operations import (
    LIVE_STATES,
    TERMINAL_STATES,
    LateNotice,
    Operation,
    OperationState,
    PrivateDetails,
    transition,
)

S = OperationState
ACTIONS = ("accept", "activate", "end", "cancel")

#: The allowed moves, written out independently of the module's table: (from, action) -> to.
ALLOWED: dict[tuple[OperationState, str], OperationState] = {
    (S.PROPOSED, "accept"): S.ACCEPTED,
    (S.ACCEPTED, "accept"): S.ACCEPTED,  # re-accepting is idempotent
    (S.ACCEPTED, "activate"): S.ACTIVATED,
    (S.ACTIVATED, "end"): S.ENDED,
    (S.NONCONFORMING, "end"): S.ENDED,
    (S.CONTINGENT, "end"): S.ENDED,
    (S.PROPOSED, "cancel"): S.CANCELLED,
    (S.ACCEPTED, "cancel"): S.CANCELLED,
}

EVERY_MOVE = [(state, action) for state in OperationState for action in ACTIONS]


@pytest.mark.parametrize(("state", "action"), [m for m in EVERY_MOVE if m in ALLOWED])
def test_allowed_transitions(state: OperationState, action: str) -> None:
    assert transition(state, action) is ALLOWED[(state, action)]


@pytest.mark.parametrize(("state", "action"), [m for m in EVERY_MOVE if m not in ALLOWED])
def test_refused_transitions_say_where_the_action_is_allowed_from(state: OperationState, action: str) -> None:
    allowed_from = sorted(s.value for (s, a) in ALLOWED if a == action)
    with pytest.raises(InvalidTransition) as raised:
        transition(state, action)
    assert state.value in raised.value.detail
    assert raised.value.detail.endswith(", ".join(allowed_from))


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_allow_nothing(state: OperationState) -> None:
    for action in ACTIONS:
        with pytest.raises(InvalidTransition):
            transition(state, action)


def test_live_and_terminal_states_partition_all_states() -> None:
    assert set(OperationState) == LIVE_STATES | TERMINAL_STATES
    assert not LIVE_STATES & TERMINAL_STATES
    assert {S.ENDED, S.CANCELLED} == TERMINAL_STATES


def test_every_live_state_can_still_reach_a_terminal_state() -> None:
    for start in LIVE_STATES:
        reached, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for action in ACTIONS:
                target = ALLOWED.get((state, action))
                if target is not None and target not in reached:
                    reached.add(target)
                    frontier.append(target)
        assert reached & TERMINAL_STATES, start


def test_happy_path() -> None:
    state = S.PROPOSED
    for action, expected in (("accept", S.ACCEPTED), ("activate", S.ACTIVATED), ("end", S.ENDED)):
        state = transition(state, action)
        assert state is expected


@pytest.mark.parametrize("state", list(OperationState))
def test_operation_is_live_exactly_in_live_states(state: OperationState) -> None:
    t = datetime(2030, 6, 1, tzinfo=UTC)
    operation = Operation("op-1", "party-a", state, (), "v1", PrivateDetails(), t, t)
    assert operation.live is (state in LIVE_STATES)


def test_late_notice_reports_how_late() -> None:
    assert LateNotice("ag-1", required_notice_s=1_800.0, given_notice_s=600.0).late_by_s == 1_200.0
