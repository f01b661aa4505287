"""The one place that reads the wall clock; everything else is handed a `Clock`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Server time: the authority for notice time and every audit timestamp."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and scripted scenarios."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when.astimezone(UTC)


class ReplayClock:
    """Server time in replay mode: it follows the replayed reports, so results do not depend on
    how fast the replay runs. It reads the wall clock until the first report, then jumps to that
    report's time and only ever moves forward to the latest report time seen."""

    def __init__(self) -> None:
        self._now: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now if self._now is not None else datetime.now(UTC)

    @property
    def started(self) -> bool:
        """Whether a replayed report has set the clock yet."""
        return self._now is not None

    def follow(self, when: datetime | None) -> None:
        if when is None:
            return
        if when.tzinfo is None:
            raise ValueError("ReplayClock.follow needs a timezone-aware time")
        with self._lock:
            if self._now is None or when > self._now:
                self._now = when.astimezone(UTC)
