"""Operations: a party's planned air activity as 1..N 4D extents, with a state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from deconflict.domain.errors import InvalidTransition
from deconflict.domain.volumes import Volume4D


class OperationState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ACTIVATED = "activated"
    NONCONFORMING = "nonconforming"
    CONTINGENT = "contingent"
    ENDED = "ended"
    CANCELLED = "cancelled"


#: States in which an operation still claims its airspace and takes part in conflict checks.
LIVE_STATES = frozenset(
    {
        OperationState.PROPOSED,
        OperationState.ACCEPTED,
        OperationState.ACTIVATED,
        OperationState.NONCONFORMING,
        OperationState.CONTINGENT,
    }
)
TERMINAL_STATES = frozenset({OperationState.ENDED, OperationState.CANCELLED})

_TRANSITIONS: dict[str, dict[OperationState, frozenset[OperationState]]] = {
    "accept": {OperationState.ACCEPTED: frozenset({OperationState.PROPOSED, OperationState.ACCEPTED})},
    "activate": {OperationState.ACTIVATED: frozenset({OperationState.ACCEPTED})},
    "end": {
        OperationState.ENDED: frozenset(
            {OperationState.ACTIVATED, OperationState.NONCONFORMING, OperationState.CONTINGENT}
        )
    },
    "cancel": {OperationState.CANCELLED: frozenset({OperationState.PROPOSED, OperationState.ACCEPTED})},
    # Set by the service from live tracks (step 3), never asked for by a party.
    "nonconform": {OperationState.NONCONFORMING: frozenset({OperationState.ACTIVATED})},
    "conform": {OperationState.ACTIVATED: frozenset({OperationState.NONCONFORMING})},
}


def transition(current: OperationState, action: str) -> OperationState:
    """The state after `action`, or InvalidTransition naming what is allowed."""
    if action not in _TRANSITIONS:
        raise InvalidTransition(f"unknown action {action!r}; known: {', '.join(sorted(_TRANSITIONS))}")
    ((target, allowed),) = _TRANSITIONS[action].items()
    if current not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(f"cannot {action} an operation that is {current.value}; allowed from: {names}")
    return target


@dataclass(frozen=True)
class PrivateDetails:
    """Visible only to the owning party, never to counterparts."""

    callsigns: tuple[str, ...] = ()
    aircraft_count: int | None = None
    purpose: str | None = None
    #: Aircraft (e.g. ICAO 24-bit addresses) declared to fly the operation; with `callsigns`, what
    #: conformance monitoring matches live tracks against.
    aircraft_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LateNotice:
    """Recorded when a filing was accepted under a `flag` late-notice policy."""

    agreement_id: str
    required_notice_s: float
    given_notice_s: float

    @property
    def late_by_s(self) -> float:
        return self.required_notice_s - self.given_notice_s


@dataclass(frozen=True)
class Operation:
    id: str
    party_id: str
    state: OperationState
    extents: tuple[Volume4D, ...]
    version: str
    private: PrivateDetails
    created_at: datetime
    updated_at: datetime
    late_notice: tuple[LateNotice, ...] = field(default=())

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES
