"""Alert lifecycle: raised, updated (level changed), cleared, with hysteresis so alerts do not flap.

Each detection cycle observes a set of conditions (a predicted loss of separation between two
tracks, an intrusion, ...), each with a key and a level. `advance` compares them with the open
alerts and returns what changed:

- a condition seen for the first time raises an alert at once;
- a higher level updates it at once (a worsening is never delayed);
- a lower level updates it only after it has held for `downgrade_after_s`;
- a condition no longer seen clears its alert only after it has been absent for `clear_after_s`.

A condition that blinks in and out from one cycle to the next therefore keeps one alert open.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar


class Change(StrEnum):
    RAISED = "raised"
    UPDATED = "updated"
    CLEARED = "cleared"


@dataclass(frozen=True)
class Hysteresis:
    clear_after_s: float = 5.0
    downgrade_after_s: float = 5.0


@dataclass(frozen=True)
class OpenAlert:
    key: Hashable
    level: int
    raised_at: datetime
    updated_at: datetime
    #: When the condition was last observed.
    seen_at: datetime
    #: Since when a lower level than `level` has been observed without interruption (None: not lower).
    lower_since: datetime | None = None


@dataclass(frozen=True)
class Transition:
    change: Change
    alert: OpenAlert
    previous_level: int | None


K = TypeVar("K", bound=Hashable)


def advance(
    open_alerts: Mapping[K, OpenAlert],
    observed: Mapping[K, int],
    now: datetime,
    hysteresis: Hysteresis = Hysteresis(),
) -> tuple[dict[K, OpenAlert], list[Transition]]:
    """The open alerts after this cycle's observations (key -> level), and the transitions."""
    after: dict[K, OpenAlert] = {}
    changes: list[Transition] = []
    for key, level in observed.items():
        alert = open_alerts.get(key)
        if alert is None:
            alert = OpenAlert(key, level, now, now, now)
            changes.append(Transition(Change.RAISED, alert, None))
        elif level > alert.level:
            previous = alert.level
            alert = _relevel(alert, level, now)
            changes.append(Transition(Change.UPDATED, alert, previous))
        elif level < alert.level:
            since = alert.lower_since or now
            if (now - since).total_seconds() >= hysteresis.downgrade_after_s:
                previous = alert.level
                alert = _relevel(alert, level, now)
                changes.append(Transition(Change.UPDATED, alert, previous))
            else:
                alert = replace(alert, seen_at=now, lower_since=since)
        else:
            alert = replace(alert, seen_at=now, lower_since=None)
        after[key] = alert
    for key, alert in open_alerts.items():
        if key in observed:
            continue
        if (now - alert.seen_at).total_seconds() >= hysteresis.clear_after_s:
            changes.append(Transition(Change.CLEARED, replace(alert, updated_at=now), alert.level))
        else:
            after[key] = alert
    return after, changes


def _relevel(alert: OpenAlert, level: int, now: datetime) -> OpenAlert:
    return replace(alert, level=level, updated_at=now, seen_at=now, lower_since=None)
