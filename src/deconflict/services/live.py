"""The live detection cycle: every `cycle_s`, look at the live picture and move the alerts.

One replica runs the cycle at a time (a lease in the store, renewed every cycle and taken over
when it lapses); the one that takes it over resumes the open alerts from the store. A cycle reads
the tracks, zones and watched operations, computes the conditions (`domain.watch`), advances the
alert lifecycle with hysteresis (`domain.alerts`) and, only when something changed, writes the
transitions in one transaction (`services.alerts.record`).
"""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from deconflict.domain.alerts import Hysteresis, OpenAlert, Transition, advance
from deconflict.domain.tracks import Ageing, Freshness, TrackState
from deconflict.domain.watch import WATCHED_STATES, Condition, WatchRules, watch
from deconflict.services import alerts, tracks
from deconflict.services.core import Core
from deconflict.storage.tables import LeaseRow

LEASE = "live-cycle"


@dataclass
class CycleResult:
    at: datetime
    ran: bool
    #: The live tracks the cycle looked at, and the conditions it found in them.
    tracks: list[TrackState] = field(default_factory=list)
    conditions: dict[str, Condition] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)


class LiveMonitor:
    def __init__(
        self,
        core: Core,
        rules: WatchRules | None = None,
        ageing: Ageing | None = None,
        hysteresis: Hysteresis | None = None,
        cycle_s: float = 1.0,
    ) -> None:
        self.core = core
        self.rules = rules or WatchRules()
        self.ageing = ageing or Ageing()
        self.hysteresis = hysteresis or Hysteresis()
        self.cycle_s = cycle_s
        self.replica = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"
        self._open: dict[str, OpenAlert] | None = None  # None: resume from the store at the next cycle
        self._latest: dict[str, Condition] = {}
        self.last_at: datetime | None = None
        self._running = threading.Lock()

    def cycle(self) -> CycleResult:
        """One cycle; skipped (ran=False) when another is running or another replica holds the lease.

        A cycle that fails part-way forgets its in-memory alert state, so the next one resumes
        from the store (what was committed) instead of raising the same alerts again.
        """
        if not self._running.acquire(blocking=False):
            return CycleResult(self.core.clock.now(), ran=False)
        try:
            return self._cycle()
        except Exception:
            self._open = None
            self._latest = {}
            raise
        finally:
            self._running.release()

    def _cycle(self) -> CycleResult:
        core = self.core
        with core.read() as repo:
            now = core.clock.now()
            if not self._hold_lease(now):
                self._open = None
                self._latest = {}
                return CycleResult(now, ran=False)
            core.tracks.follow(repo.session, now)
            book = core.book(repo)
            zones = [z for z, _ in repo.zones()]
            ops = repo.operations(states=sorted(WATCHED_STATES, key=str))
        if self._open is None:
            self._open = self._resume()
            with core.read() as repo:  # before any write transaction needs it (see alerts.record)
                tracks.alias_key(core, repo.session)
        states = [s for s in core.tracks.all(now) if self.ageing.freshness(s, now) is Freshness.LIVE]
        found = watch(states, now, book, zones, ops, self.rules)
        opened, changes = advance(self._open, {k: int(c.level) for k, c in found.items()}, now, self.hysteresis)
        # A cleared alert is described by its last observation (none after a restart: the store's).
        conditions = {**self._latest, **found}
        still_open = {k: c for k, c in found.items() if k in opened and k in self._open}
        if changes:
            alerts.record(core, changes, conditions, (LEASE, self.replica))
        self._open = {str(k): v for k, v in opened.items()}
        self._latest = {k: v for k, v in conditions.items() if k in self._open}
        self.last_at = now
        alerts.refresh_details(core, still_open)
        return CycleResult(now, True, states, found, changes)

    def due(self, now: datetime) -> bool:
        """Whether a cycle is due at `now` (replay mode runs cycles as replayed time passes)."""
        return self.last_at is None or (now - self.last_at).total_seconds() >= self.cycle_s or now < self.last_at

    def _resume(self) -> dict[str, OpenAlert]:
        """Open alerts from the store, as if last seen at their last update (they clear if gone)."""
        return {key: OpenAlert(key, level, at, at, at) for key, (level, at) in alerts.open_since(self.core).items()}

    def _hold_lease(self, now: datetime) -> bool:
        until = now + timedelta(seconds=max(3 * self.cycle_s, 5.0))
        with self.core.engine.begin() as conn:
            taken = conn.execute(
                update(LeaseRow)
                .where(LeaseRow.name == LEASE)
                .where((LeaseRow.holder == self.replica) | (LeaseRow.until < now))
                .values(holder=self.replica, until=until)
            ).rowcount
            if taken:
                return True
        try:
            with self.core.engine.begin() as conn:
                conn.execute(insert(LeaseRow).values(name=LEASE, holder=self.replica, until=until))
            return True
        except IntegrityError:
            return False
