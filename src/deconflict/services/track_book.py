"""The live track state of one server process: the latest report per (party, aircraft).

Reports are appended to `track_reports` under the global write lock, so row ids are in commit
order; every replica follows the table by id and so holds the same picture.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
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
        """Take in the reports committed since the last look (by any replica), as plain rows and only
        those not already past dropping (after a restart, or a long idle gap)."""
        t = TrackReportRow
        stmt = (
            select(t.id, t.party_id, t.aircraft_id, t.callsign, t.at_s, t.lat_deg, t.lng_deg, t.alt_m)
            .add_columns(t.ground_speed_mps, t.track_deg, t.vertical_rate_mps)
            .where(t.id > self._last_id, t.at_s >= now.timestamp() - self.drop_after_s)
            .order_by(t.id)
        )
        with self._lock:
            rows = session.execute(stmt).all()
            if rows:
                self.apply((_state(r) for r in rows), rows[-1][0])

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


def _state(row: Row[Any]) -> TrackState:
    """A row of `follow`'s query (id first, then the state's fields in order, the time as epoch seconds)."""
    values = tuple(row)
    party_id, aircraft_id, callsign, at_s = values[1:5]
    return TrackState(party_id, aircraft_id, callsign, datetime.fromtimestamp(at_s, UTC), *values[5:])
