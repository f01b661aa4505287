"""Strategic conflict detection: coarse candidates from the index, then exact 4D geometry."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from deconflict.domain import plane
from deconflict.domain.agreements import Buffers
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.index import Candidates, Entry, SpaceTimeIndex
from deconflict.domain.plane import IntArray
from deconflict.domain.rules import AgreementBook, Applicable
from deconflict.domain.screening import Rings, screen_many
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, overlap_geojson, separation
from deconflict.domain.volumes import Volume4D


@dataclass(slots=True)
class Conflict:
    """One extent of the subject against one extent of another party's operation, or a zone.

    `time_start`/`time_end` and `altitude_lower_m`/`altitude_upper_m` are the overlap of the
    raw (unbuffered) windows and bands; when the two only conflict through a buffer the
    overlap is empty and the gap is given in `time_gap_s` / `vertical_gap_m`.
    """

    subject_extent: int
    other_kind: str
    other_id: str
    other_party_id: str
    other_extent: int
    agreement_ids: tuple[str, ...]
    time_start: datetime | None
    time_end: datetime | None
    time_gap_s: float
    altitude_lower_m: float
    altitude_upper_m: float
    vertical_gap_m: float
    horizontal_distance_m: float
    lateral_buffer_m: float
    vertical_buffer_m: float
    time_buffer_s: float
    overlap: dict[str, Any] | None


def _gaps(subject: Volume4D, other: Volume4D) -> tuple[float, float]:
    """(time gap s, vertical gap m) between two volumes; 0 when they overlap."""
    time_gap = max(other.time.start_s() - subject.time.end_s(), subject.time.start_s() - other.time.end_s(), 0.0)
    vertical_gap = max(
        other.altitude.lower_m - subject.altitude.upper_m, subject.altitude.lower_m - other.altitude.upper_m, 0.0
    )
    return time_gap, vertical_gap


def _within_buffers(time_gap_s: float, vertical_gap_m: float, time_s: float, vertical_m: float) -> bool:
    """Whether two volumes this far apart in time and height come within those buffers (touching counts)."""
    return time_gap_s <= time_s and vertical_gap_m <= vertical_m + DISTANCE_TOLERANCE_M


@dataclass(frozen=True, slots=True)
class _Subject:
    """What every conflict of one subject extent reads of it, read once: its window (as given and in
    seconds) and its band."""

    extent: int
    start: datetime | None
    end: datetime | None
    start_s: float
    end_s: float
    lower_m: float
    upper_m: float

    @classmethod
    def of(cls, extent: int, volume: Volume4D) -> _Subject:
        window, band = volume.time, volume.altitude
        return cls(extent, window.start, window.end, window.start_s(), window.end_s(), band.lower_m, band.upper_m)


def _conflict(
    subject: _Subject,
    entry: Entry,
    band: Sequence[float],
    buffers: Buffers,
    agreement_ids: tuple[str, ...],
    distance_m: float,
    overlap: dict[str, Any] | None,
    time_gap_s: float,
    vertical_gap_m: float,
) -> Conflict:
    """The conflict with `entry`, whose window and band are given (start s, end s, lower m, upper m): read
    from the index's columns rather than from the entry's volume (an object somewhere in a large heap)."""
    other_start_s, other_end_s, other_lower, other_upper = band
    start = end = None
    if time_gap_s == 0:
        # The later start and the earlier end; the subject's own moments where they are those (or equal).
        start = subject.start if other_start_s <= subject.start_s else datetime.fromtimestamp(other_start_s, UTC)
        end = subject.end if other_end_s >= subject.end_s else datetime.fromtimestamp(other_end_s, UTC)
    lower, upper = subject.lower_m, subject.upper_m
    # Positional, in field order: a check with dozens of conflicts builds this many times.
    return Conflict(
        subject.extent,
        entry.owner_kind,
        entry.owner_id,
        entry.party_id,
        entry.extent_index,
        agreement_ids,
        start,
        end,
        time_gap_s,
        lower if lower > other_lower else other_lower,
        upper if upper < other_upper else other_upper,
        vertical_gap_m,
        distance_m,
        buffers.lateral_m,
        buffers.vertical_m,
        buffers.time_s,
        overlap,
    )


def pair_conflict(
    subject: Volume4D,
    subject_extent: int,
    entry: Entry,
    lateral_m: float,
    vertical_m: float,
    time_s: float,
    agreement_ids: tuple[str, ...],
) -> Conflict | None:
    """Exact test of one pair of extents under the given buffers; None when separated."""
    other = entry.volume
    time_gap, vertical_gap = _gaps(subject, other)
    if not _within_buffers(time_gap, vertical_gap, time_s, vertical_m):
        return None
    sep = separation(subject.outline, other.outline, lateral_m)
    if not sep.exact or sep.distance_m > lateral_m + DISTANCE_TOLERANCE_M:
        return None
    overlap = overlap_geojson(subject.outline, other.outline, lateral_m, sep)
    band = (other.time.start_s(), other.time.end_s(), other.altitude.lower_m, other.altitude.upper_m)
    buffers = Buffers(lateral_m, vertical_m, time_s)
    facts = _Subject.of(subject_extent, subject)
    return _conflict(facts, entry, band, buffers, agreement_ids, sep.distance_m, overlap, time_gap, vertical_gap)


def detect(
    party_id: str,
    extents: Sequence[Volume4D],
    index: SpaceTimeIndex,
    book: AgreementBook,
    *,
    exclude: tuple[str, str] | None = None,
) -> list[Conflict]:
    """Conflicts of `party_id`'s extents with other parties' live operations and zones in `index`.

    `exclude` is an (owner_kind, owner_id) to ignore: the subject itself when it is being updated.
    Candidates come from the index; clear verdicts come from screening them all at once in one
    projection; the rest (touching, near misses) are measured exactly pair by pair. What screening
    needs of each candidate comes from the index's columns: only the entries reported are read.
    """
    widest = book.widest_buffers(party_id)
    if widest is None:
        return []
    pairs = _Pending()
    rules = _Rules(party_id, index, book)
    own = index.party_code(party_id)
    excluded = np.array(index.ids_of(*exclude) if exclude is not None else [], dtype=np.int64)
    for volume in extents:
        near = index.candidates_with_gaps(
            volume, lateral_m=widest.lateral_m, vertical_m=widest.vertical_m, time_s=widest.time_s
        )
        others = near.party_code != own
        if len(excluded):
            others &= ~np.isin(near.ids, excluded)
        chosen = plane.true_at(others)
        pairs.add(near, chosen, rules.of(volume, near, chosen))
    if not pairs.ids:
        return []
    # All extents' candidates are screened in one batch, each extent in its own frame.
    ids, owners, rows, bands, time_gaps, vertical_gaps = pairs.columns()
    lat_lng, sizes = index.rings(ids)
    applicable = pairs.applicable
    lateral_m = np.array([a.buffers.lateral_m for a in applicable], dtype=np.float64)
    verdicts = screen_many([v.outline for v in extents], Rings(lat_lng, sizes), rows, owners, lateral_m)
    subjects = [_Subject.of(i, v) for i, v in enumerate(extents)]
    found: list[Conflict] = []
    overlaps, band_rows = verdicts.overlap, bands.tolist()
    columns = (ids, owners, verdicts.state, verdicts.distance_m, time_gaps, vertical_gaps)
    entry_ids, extent_of, states, distances_m, time_gaps_s, vertical_gaps_m = (c.tolist() for c in columns)
    for k in plane.true_at(verdicts.state).tolist():  # conflicts, and pairs screening left undecided
        i, entry, a = extent_of[k], index.entry(entry_ids[k]), applicable[k]
        b = a.buffers
        conflict: Conflict | None
        if states[k] == 1:
            conflict = _conflict(
                subjects[i],
                entry,
                band_rows[k],
                b,
                a.agreement_ids,
                distances_m[k],
                overlaps[k],
                time_gaps_s[k],
                vertical_gaps_m[k],
            )
        else:
            conflict = pair_conflict(extents[i], i, entry, b.lateral_m, b.vertical_m, b.time_s, a.agreement_ids)
        if conflict is not None:
            found.append(conflict)
    found.sort(key=operator.attrgetter("subject_extent", "other_kind", "other_id", "other_extent"))
    return found


class _Rules:
    """The rules between the checking party and each candidate's: when no agreement has an area of interest
    they depend on the other party alone, and are looked up once per party."""

    def __init__(self, party_id: str, index: SpaceTimeIndex, book: AgreementBook) -> None:
        self._party_id, self._index, self._book = party_id, index, book
        self._anywhere = all(a.area is None for a in book.of_party(party_id))
        self._by_code: dict[int, Applicable | None] = {}

    def of(self, volume: Volume4D, near: Candidates, chosen: IntArray) -> list[Applicable | None]:
        """The rules for each of the candidates `near` at positions `chosen` (None: no agreement applies)."""
        book, party_id, outline = self._book, self._party_id, volume.outline
        if not self._anywhere:
            every = near.every_entry
            picked = (every[e] for e in near.ids[chosen].tolist())
            return [book.between(party_id, e.party_id, outline, e.volume.outline) for e in picked]
        codes = near.party_code[chosen].tolist()
        by_code = self._by_code
        for code in set(codes) - by_code.keys():
            by_code[code] = book.between_parties(party_id, self._index.party_of(code))
        return [by_code[c] for c in codes]


class _Pending:
    """The pairs a check screens, extent after extent: per pair its subject extent, the candidate's id, row,
    band and gaps (columns, in parts) and the rules that apply (`applicable`)."""

    def __init__(self) -> None:
        self.counts: list[int] = []  # of pairs, per extent
        self.ids: list[IntArray] = []
        self.rows: list[FloatArray] = []
        self.bands: list[FloatArray] = []
        self.time_gaps: list[FloatArray] = []
        self.vertical_gaps: list[FloatArray] = []
        self.applicable: list[Applicable] = []

    def add(self, near: Candidates, chosen: IntArray, rules: list[Applicable | None]) -> None:
        """The next extent's pairs: the candidates at `chosen` within their rules' time and vertical buffers."""
        time_gaps, vertical_gaps = near.time_gap_s[chosen], near.vertical_gap_m[chosen]
        within = [
            j
            for j, (r, time_gap, vertical_gap) in enumerate(
                zip(rules, time_gaps.tolist(), vertical_gaps.tolist(), strict=True)
            )
            if r is not None and _within_buffers(time_gap, vertical_gap, r.buffers.time_s, r.buffers.vertical_m)
        ]
        self.counts.append(len(within))
        if not within:
            return
        taken = chosen[within]
        self.ids.append(near.ids[taken])
        self.rows.append(near.outline_rows[taken])
        self.bands.append(near.bands[taken])
        self.time_gaps.append(time_gaps[within])
        self.vertical_gaps.append(vertical_gaps[within])
        self.applicable.extend(r for j in within if (r := rules[j]) is not None)  # all are

    def columns(self) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """ids, subject extents, rows, bands, time gaps, vertical gaps: each one array over all pairs."""
        ids = np.concatenate(self.ids)
        owners = np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)
        floats = (self.rows, self.bands, self.time_gaps, self.vertical_gaps)
        rows, bands, time_gaps, vertical_gaps = (np.concatenate(p, dtype=np.float64) for p in floats)
        return ids, owners, rows, bands, time_gaps, vertical_gaps
