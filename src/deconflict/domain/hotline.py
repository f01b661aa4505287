"""The hotline's rules: notices and their answers, deadlines, escalation, activation, channel state.

Pure functions of plain values and `now`; the services persist what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from deconflict.domain.agreements import Agreement, HotlineRules
from deconflict.domain.errors import Forbidden, InvalidInput, StateConflict

MAX_REASON_CHARS = 2_000
#: Default time without a live connection after which a party's channel counts as degraded.
DEFAULT_DEGRADED_AFTER_S = 120.0


class Trigger(StrEnum):
    """What the filer did that the counterpart is told about."""

    FILED = "filed"
    CHANGED = "changed"
    ACTIVATED = "activated"
    ENDED = "ended"
    CANCELLED = "cancelled"


#: The notices whose answers gate activation: the ones that describe what will be flown.
PLAN_TRIGGERS = frozenset({Trigger.FILED, Trigger.CHANGED})


class Decision(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    OBJECTION = "objection"
    UNABLE = "unable"


class NoticeStatus(StrEnum):
    PENDING = "pending"
    OVERDUE = "overdue"
    ACKNOWLEDGED = "acknowledged"
    OBJECTION = "objection"
    UNABLE = "unable"
    WITHDRAWN = "withdrawn"  # an objection the objector took back
    SUPERSEDED = "superseded"  # a newer notice of the same operation replaced it before an answer


@dataclass(frozen=True)
class NoticeFacts:
    """The stored facts that decide a notice's status."""

    id: str
    to_party_id: str
    from_party_id: str
    trigger: Trigger
    deadline_at: datetime
    decision: Decision | None
    responded_at: datetime | None
    withdrawn_at: datetime | None
    superseded_at: datetime | None
    overdue_at: datetime | None
    require_ack: bool


def status(n: NoticeFacts) -> NoticeStatus:
    if n.decision is Decision.OBJECTION and n.withdrawn_at is not None:
        return NoticeStatus.WITHDRAWN
    if n.decision is not None:
        return NoticeStatus(n.decision.value)
    if n.superseded_at is not None:
        return NoticeStatus.SUPERSEDED
    return NoticeStatus.OVERDUE if n.overdue_at is not None else NoticeStatus.PENDING


def rules_for(agreements: Sequence[Agreement]) -> HotlineRules:
    """One notice may fall under several agreements with the same counterpart: the strictest rules win."""
    if not agreements:
        return HotlineRules()
    return HotlineRules(
        ack_deadline_s=min(a.hotline.ack_deadline_s for a in agreements),
        require_ack=any(a.hotline.require_ack for a in agreements),
        escalation_interval_s=min(a.hotline.escalation_interval_s for a in agreements),
    )


def deadline(sent_at: datetime, rules: HotlineRules) -> datetime:
    return sent_at + timedelta(seconds=rules.ack_deadline_s)


def check_answer(n: NoticeFacts, party_id: str, decision: Decision, reason: str | None) -> str | None:
    """Validate an answer by `party_id`; returns the cleaned reason. Raises on a wrong party or a second answer."""
    if party_id == n.from_party_id:
        raise Forbidden("a notice is answered by the party it was sent to, not by its sender")
    if party_id != n.to_party_id:
        raise Forbidden("this notice was sent to another party")
    if n.decision is not None:
        when = n.responded_at.isoformat() if n.responded_at else "earlier"
        raise StateConflict(f"notice {n.id} was already answered ({n.decision.value} at {when})", field="decision")
    if n.superseded_at is not None:
        raise StateConflict(
            f"notice {n.id} was superseded by a newer notice of the same operation; answer that one",
            field="notice_id",
        )
    cleaned = (reason or "").strip() or None
    if cleaned is not None and len(cleaned) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason must be at most {MAX_REASON_CHARS} characters", field="reason")
    if decision is Decision.OBJECTION and cleaned is None:
        raise InvalidInput("an objection must give a reason", field="reason")
    return cleaned


def check_withdraw(n: NoticeFacts, party_id: str) -> None:
    if party_id != n.to_party_id:
        raise Forbidden("only the objecting party can withdraw its objection")
    if n.decision is not Decision.OBJECTION:
        raise StateConflict(f"notice {n.id} holds no objection to withdraw", field="notice_id")
    if n.withdrawn_at is not None:
        raise StateConflict(f"the objection on notice {n.id} was already withdrawn", field="notice_id")


def activation_blockers(latest_plan_notices: Iterable[NoticeFacts], names: dict[str, str]) -> list[str]:
    """Why the operation may not be activated yet; empty when it may.

    `latest_plan_notices` holds, per counterpart, the newest `filed`/`changed` notice. An
    objection blocks always; anything but an acknowledgement blocks when the agreement requires it.
    """
    reasons = []
    for n in latest_plan_notices:
        who = names.get(n.to_party_id, n.to_party_id)
        st = status(n)
        if st is NoticeStatus.OBJECTION:
            reasons.append(f"{who} objected (notice {n.id}); change the operation or ask them to withdraw")
        elif n.require_ack and st not in (NoticeStatus.ACKNOWLEDGED, NoticeStatus.WITHDRAWN):
            reasons.append(f"{who} has not acknowledged notice {n.id} (status {st.value})")
    return reasons


def escalation_due(n: NoticeFacts, next_escalation_at: datetime | None, now: datetime) -> bool:
    """An unanswered, current notice escalates at its deadline, then at every escalation interval."""
    if n.decision is not None or n.superseded_at is not None:
        return False
    return now >= (next_escalation_at or n.deadline_at)


class ChannelState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"


def channel_state(last_seen_at: datetime | None, now: datetime, degraded_after_s: float) -> ChannelState:
    """A party's channel is degraded once it has had no live connection for `degraded_after_s`."""
    if last_seen_at is None or (now - last_seen_at).total_seconds() > degraded_after_s:
        return ChannelState.DEGRADED
    return ChannelState.OK


def lead_time_s(sent_at: datetime, operation_start: datetime | None) -> float | None:
    """Server time from the notice to the operation's start (negative once it has started)."""
    return None if operation_start is None else (operation_start - sent_at).total_seconds()
