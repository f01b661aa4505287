"""The live track state of one server process: the latest report per (party, aircraft).

Reports are appended to `track_reports` under the global write lock, so row ids are in commit
order; every replica follows the table by id and so holds the same picture.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconflict.domain.tracks import TrackState
from deconflict.storage.tables import TrackReportRow


class TrackBook:
    def __init__(self, drop_after_s: float = 300.0) -> None:
        self.drop_after_s = drop_after_s
        self._by_party: dict[str, dict[str, TrackState]] = {}
        self._last_id = 0
        self._lock = threading.RLock()

    def follow(self, session: Session, now: datetime) -> None:
        """Take in the reports committed since the last look (by any replica)."""
        stmt = select(TrackReportRow).where(TrackReportRow.id > self._last_id).order_by(TrackReportRow.id)
        if self._last_id == 0:  # first look: only what can still be live
            stmt = stmt.where(TrackReportRow.at_s >= now.timestamp() - self.drop_after_s)
        with self._lock:
            rows = session.execute(stmt).scalars().all()
            if rows:
                self.apply((_state(r) for r in rows), rows[-1].id)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep `follow` out while a writer commits reports and applies them itself (else a
        concurrent follow would read the just-committed rows back from the store for nothing)."""
        with self._lock:
            yield

    def apply(self, states: Iterable[TrackState], last_id: int) -> None:
        with self._lock:
            for s in states:
                tracks = self._by_party.setdefault(s.party_id, {})
                before = tracks.get(s.aircraft_id)
                if before is None or s.at > before.at:
                    tracks[s.aircraft_id] = s
            self._last_id = max(self._last_id, last_id)

    def of_party(self, party_id: str) -> dict[str, TrackState]:
        with self._lock:
            return dict(self._by_party.get(party_id, {}))

    def all(self, now: datetime) -> list[TrackState]:
        """Every state not yet dropped; forgets the dropped ones."""
        horizon = now - timedelta(seconds=self.drop_after_s)
        out: list[TrackState] = []
        with self._lock:
            for tracks in self._by_party.values():
                gone = [a for a, s in tracks.items() if s.at < horizon]
                for aircraft_id in gone:
                    del tracks[aircraft_id]
                out.extend(tracks.values())
        return out


def _state(r: TrackReportRow) -> TrackState:
    return TrackState(
        r.party_id,
        r.aircraft_id,
        r.callsign,
        datetime.fromtimestamp(r.at_s, UTC),
        r.lat_deg,
        r.lng_deg,
        r.alt_m,
        r.ground_speed_mps,
        r.track_deg,
        r.vertical_rate_mps,
    )
