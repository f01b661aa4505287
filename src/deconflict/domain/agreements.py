"""Agreements: the rules two or more parties accepted for sharing airspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from deconflict.domain.volumes import Outline

DEFAULT_MIN_NOTICE_S = 30 * 60.0
#: Default lateral buffer: 1 NM, the smallest en-route strategic margin in common use.
DEFAULT_LATERAL_BUFFER_M = 1_852.0
#: Default vertical buffer: 500 ft, half the usual 1,000 ft vertical separation minimum.
DEFAULT_VERTICAL_BUFFER_M = 152.4
#: Default time buffer: 5 minutes either side of each window.
DEFAULT_TIME_BUFFER_S = 300.0
#: Default time a counterpart has to answer a notice before it is overdue and escalates.
DEFAULT_ACK_DEADLINE_S = 10 * 60.0
#: Default interval between repeated escalations of a notice still unanswered.
DEFAULT_ESCALATION_INTERVAL_S = 5 * 60.0
#: Default tactical minima: 5 NM, 1,000 ft, predicted up to 300 s ahead (en-route radar separation).
DEFAULT_TACTICAL_LATERAL_M = 5 * 1_852.0
DEFAULT_TACTICAL_VERTICAL_M = 1_000 * 0.3048
DEFAULT_LOOKAHEAD_S = 300.0


class LatePolicy(StrEnum):
    REJECT = "reject"
    FLAG = "flag"


class AgreementState(StrEnum):
    PENDING = "pending"  # waiting for every member's supervisor to accept
    ACTIVE = "active"


@dataclass(frozen=True)
class Buffers:
    lateral_m: float
    vertical_m: float
    time_s: float

    def widest(self, other: Buffers) -> Buffers:
        return Buffers(
            max(self.lateral_m, other.lateral_m), max(self.vertical_m, other.vertical_m), max(self.time_s, other.time_s)
        )


@dataclass(frozen=True)
class HotlineRules:
    """How notices under the agreement are answered: deadline, whether activation waits, escalation."""

    ack_deadline_s: float = DEFAULT_ACK_DEADLINE_S
    require_ack: bool = True
    escalation_interval_s: float = DEFAULT_ESCALATION_INTERVAL_S


@dataclass(frozen=True)
class LiveRules:
    """The live picture under the agreement: tactical minima, and what counterparts see of tracks."""

    lateral_m: float = DEFAULT_TACTICAL_LATERAL_M
    vertical_m: float = DEFAULT_TACTICAL_VERTICAL_M
    lookahead_s: float = DEFAULT_LOOKAHEAD_S
    #: Whether counterparts see each track's aircraft id and callsign (otherwise an opaque alias).
    share_track_identity: bool = False


@dataclass(frozen=True)
class Agreement:
    id: str
    name: str
    party_ids: frozenset[str]
    #: None means everywhere.
    area: Outline | None
    min_notice_s: float
    buffers: Buffers
    late_policy: LatePolicy
    state: AgreementState
    hotline: HotlineRules = field(default_factory=HotlineRules)
    live: LiveRules = field(default_factory=LiveRules)

    @property
    def active(self) -> bool:
        return self.state is AgreementState.ACTIVE
