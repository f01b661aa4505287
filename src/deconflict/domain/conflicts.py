"""Strategic conflict detection: coarse candidates from the index, then exact 4D geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from deconflict.domain.agreements import Buffers
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.index import Entry, SpaceTimeIndex
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


def _conflict(
    subject: Volume4D,
    subject_extent: int,
    entry: Entry,
    buffers: Buffers,
    agreement_ids: tuple[str, ...],
    distance_m: float,
    overlap: dict[str, Any] | None,
    gaps: tuple[float, float] | None = None,
) -> Conflict:
    other = entry.volume
    band = (other.time.start_s(), other.time.end_s(), other.altitude.lower_m, other.altitude.upper_m)
    return _conflict_with_band(
        subject, subject_extent, entry, band, buffers, agreement_ids, distance_m, overlap, gaps or _gaps(subject, other)
    )


def _conflict_with_band(
    subject: Volume4D,
    subject_extent: int,
    entry: Entry,
    band: tuple[float, float, float, float],
    buffers: Buffers,
    agreement_ids: tuple[str, ...],
    distance_m: float,
    overlap: dict[str, Any] | None,
    gaps: tuple[float, float],
) -> Conflict:
    """The conflict with `entry`, whose window and band are given (start s, end s, lower m, upper m): read
    from the index's columns rather than from the entry's volume (an object somewhere in a large heap)."""
    other_start_s, other_end_s, other_lower, other_upper = band
    time_gap, vertical_gap = gaps
    start = end = None
    if time_gap == 0:
        window = subject.time
        # The later start and the earlier end; the subject's own moments where they are those (or equal).
        start = window.start if other_start_s <= window.start_s() else datetime.fromtimestamp(other_start_s, UTC)
        end = window.end if other_end_s >= window.end_s() else datetime.fromtimestamp(other_end_s, UTC)
    lower, upper = subject.altitude.lower_m, subject.altitude.upper_m
    # Positional, in field order: a check with dozens of conflicts builds this many times.
    return Conflict(
        subject_extent,
        entry.owner_kind,
        entry.owner_id,
        entry.party_id,
        entry.extent_index,
        agreement_ids,
        start,
        end,
        time_gap,
        lower if lower > other_lower else other_lower,
        upper if upper < other_upper else other_upper,
        vertical_gap,
        distance_m,
        buffers.lateral_m,
        buffers.vertical_m,
        buffers.time_s,
        overlap,
    )


def _within_time_and_height(subject: Volume4D, other: Volume4D, buffers: Buffers) -> bool:
    time_gap, vertical_gap = _gaps(subject, other)
    return time_gap <= buffers.time_s and vertical_gap <= buffers.vertical_m + DISTANCE_TOLERANCE_M


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
    buffers = Buffers(lateral_m, vertical_m, time_s)
    if not _within_time_and_height(subject, entry.volume, buffers):
        return None
    sep = separation(subject.outline, entry.volume.outline, lateral_m)
    if not sep.exact or sep.distance_m > lateral_m + DISTANCE_TOLERANCE_M:
        return None
    overlap = overlap_geojson(subject.outline, entry.volume.outline, lateral_m, sep)
    return _conflict(subject, subject_extent, entry, buffers, agreement_ids, sep.distance_m, overlap)


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
    # Without areas of interest, which agreements apply depends on the other party alone: look it up once.
    anywhere = all(a.area is None for a in book.of_party(party_id))
    rules_of: dict[int, Applicable | None] = {}
    own = index.party_code(party_id)
    excluded = np.array(index.ids_of(*exclude) if exclude is not None else [], dtype=np.int64)
    # Per pending pair: its subject extent, the other entry's id, the rules; and the columns read for it.
    pending: list[tuple[int, int, Applicable]] = []
    rows: list[FloatArray] = []
    bands: list[FloatArray] = []
    gaps: list[tuple[float, float]] = []
    for i, volume in enumerate(extents):
        near = index.candidates_with_gaps(
            volume, lateral_m=widest.lateral_m, vertical_m=widest.vertical_m, time_s=widest.time_s
        )
        others = near.party_code != own
        if len(excluded):
            others &= ~np.isin(near.ids, excluded)
        chosen = np.flatnonzero(others).tolist()
        codes = near.party_code.tolist()
        rules: list[Applicable | None]
        if anywhere:
            for code in {codes[k] for k in chosen} - rules_of.keys():
                rules_of[code] = book.between(party_id, index.party_of(code), volume.outline, volume.outline)
            rules = [rules_of[codes[k]] for k in chosen]
        else:
            entries = near.entries
            rules = [
                book.between(party_id, entries[k].party_id, volume.outline, entries[k].volume.outline) for k in chosen
            ]
        time_gaps, vertical_gaps = near.time_gap_s.tolist(), near.vertical_gap_m.tolist()
        entry_ids = near.ids.tolist()
        taken: list[int] = []
        for k, applicable in zip(chosen, rules, strict=True):
            if applicable is None:
                continue
            b = applicable.buffers
            if time_gaps[k] <= b.time_s and vertical_gaps[k] <= b.vertical_m + DISTANCE_TOLERANCE_M:
                pending.append((i, entry_ids[k], applicable))
                gaps.append((time_gaps[k], vertical_gaps[k]))
                taken.append(k)
        if taken:
            rows.append(near.outline_rows[taken])
            bands.append(near.bands[taken])
    if not pending:
        return []
    # All extents' candidates are screened in one batch, each extent in its own frame.
    owners = np.array([p[0] for p in pending], dtype=np.int64)
    lateral_m = np.array([p[2].buffers.lateral_m for p in pending], dtype=np.float64)
    lat_lng, sizes = index.rings(np.array([p[1] for p in pending], dtype=np.int64))
    verdicts = screen_many([v.outline for v in extents], Rings(lat_lng, sizes), np.concatenate(rows), owners, lateral_m)
    found: list[Conflict] = []
    states, distances = verdicts.state.tolist(), verdicts.distance_m.tolist()
    band_rows = np.concatenate(bands).tolist()
    for k in np.flatnonzero(verdicts.state).tolist():  # conflicts, and pairs screening left undecided
        i, eid, applicable = pending[k]
        entry, b = index.entry(eid), applicable.buffers
        if states[k] == 1:
            found.append(
                _conflict_with_band(
                    extents[i],
                    i,
                    entry,
                    band_rows[k],
                    b,
                    applicable.agreement_ids,
                    distances[k],
                    verdicts.overlap[k],
                    gaps[k],
                )
            )
        else:
            conflict = pair_conflict(
                extents[i], i, entry, b.lateral_m, b.vertical_m, b.time_s, applicable.agreement_ids
            )
            if conflict is not None:
                found.append(conflict)
    found.sort(key=lambda c: (c.subject_extent, c.other_kind, c.other_id, c.other_extent))
    return found
