"""Coarse space-time index: hierarchical lat/lng cells x time slots, then a compiled box filter.

Stage 1 (cells): each extent is filed under the cells of the one grid level at which
its bounding box spans at most 2 x 2 cells, and under each time slot its window
touches. A query visits, at every level in use, the cells and slots its widened
box touches.

Stage 2 (boxes): the gathered ids are filtered on time window, altitude band and
spherical cap (centre + angular radius), all widened by the buffers, in one compiled
loop over the columns that also drops the repeats (an extent filed under several cells
and slots is gathered from each).

Both stages are conservative: they never drop a pair the exact stage would call a
conflict; `last_stats` shows how much each one pruned.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from deconflict.domain import grid
from deconflict.domain.columns import Columns
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.grid import OPEN_SLOT
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline

#: Start of an empty slot range (no finite slot filed yet).
_NO_SLOT = 2**62
#: A query touching more cells than this at a level scans that level's non-empty cells instead.
_MAX_CELLS = 4096


@dataclass(frozen=True, slots=True)
class Entry:
    """One indexed extent: an operation's extent or a zone's volume."""

    owner_kind: str  # "operation" | "zone"
    owner_id: str
    party_id: str
    extent_index: int
    volume: Volume4D


@dataclass(frozen=True)
class Candidates:
    """Entries near a query, by id, and per entry: its party's code, its outline's row (as
    `screening.outline_rows` makes it), its window and band (`bands`: start s, end s, lower m, upper m),
    its time gap (s) and vertical gap (m) to the query (0 when overlapping).

    All of it is read from the index's columns; the entries themselves (`entries`) only on demand: a
    check reads only those it reports, as each is a Python object somewhere in a large heap.
    """

    ids: npt.NDArray[np.int64]
    party_code: npt.NDArray[np.int64]
    outline_rows: FloatArray
    bands: FloatArray
    time_gap_s: FloatArray
    vertical_gap_m: FloatArray
    every_entry: list[Entry] = field(repr=False)

    @property
    def entries(self) -> list[Entry]:
        every = self.every_entry
        return [every[i] for i in self.ids.tolist()]


@dataclass
class QueryStats:
    total_live: int = 0
    gathered: int = 0
    after_box_filter: int = 0


class SpaceTimeIndex:
    """In-memory candidate index over live operation extents and zones; a cache of the store.

    Not thread-safe: the service calls it only while holding its process lock.
    """

    def __init__(self) -> None:
        self._cols = Columns()
        self._entries: list[Entry] = []
        # One flat dict of buckets keyed by slot << SLOT_SHIFT | cell code: one lookup per cell and slot.
        # Buckets are typed int64 arrays (array module): appends are cheap and numpy reads them without copying.
        self._buckets: dict[int, array[int]] = {}
        # The range [first, last] of finite slots filed in each cell (empty for a cell with only open-ended
        # entries): for queries with an open window, and for scans of very wide queries.
        self._cell_slots: dict[int, list[int]] = {}
        self._levels: set[int] = set()
        self._by_owner: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._party_codes: dict[str, int] = {}
        self._parties: list[str] = []  # by code
        self._live = 0
        self._open_entries = 0  # ever filed under OPEN_SLOT; until one is, queries skip that lookup
        self.last_stats = QueryStats()

    def __len__(self) -> int:
        return self._live

    def party_code(self, party_id: str) -> int:
        """The code under which the party's entries are filed (-1 for a party with none yet)."""
        return self._party_codes.get(party_id, -1)

    def party_of(self, code: int) -> str:
        """The party filed under a code."""
        return self._parties[code]

    def entry(self, eid: int) -> Entry:
        return self._entries[eid]

    def rings(self, ids: npt.NDArray[np.int64]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """The polygon rings of these entries one after another (lat, lng; circles have none), and each
        one's size: read from one array, rather than from each outline."""
        return self._cols.rings(ids)

    def ids_of(self, owner_kind: str, owner_id: str) -> list[int]:
        """Entry ids of an owner's live extents."""
        return list(self._by_owner.get((owner_kind, owner_id), []))

    def add(self, entry: Entry) -> None:
        code = self._party_codes.get(entry.party_id, -1)
        if code < 0:
            code = self._party_codes[entry.party_id] = len(self._parties)
            self._parties.append(entry.party_id)
        eid = self._cols.append(entry.volume, code)
        self._entries.append(entry)
        box = grid.bounding_box(entry.volume.outline, 0.0)
        level = grid.level_for(box)
        self._levels.add(level)
        slots = grid.slots(entry.volume.time.start_s(), entry.volume.time.end_s())
        if slots == [OPEN_SLOT]:
            self._open_entries += 1
        buckets = self._buckets
        finite = [slot for slot in slots if slot != OPEN_SLOT]
        for cell in grid.cells(box, level):
            span = self._cell_slots.setdefault(cell, [_NO_SLOT, -_NO_SLOT])
            if finite:
                span[0], span[1] = min(span[0], finite[0]), max(span[1], finite[-1])
            for slot in slots:
                key = grid.bucket_key(slot, cell)
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = array("q")
                bucket.append(eid)
        self._by_owner[(entry.owner_kind, entry.owner_id)].append(eid)
        self._live += 1

    def remove_owner(self, owner_kind: str, owner_id: str) -> None:
        """Drop every extent of an owner (dead ids are skipped by queries)."""
        for eid in self._by_owner.pop((owner_kind, owner_id), []):
            self._cols.alive[eid] = False
            self._live -= 1

    def entries_of(self, owner_kind: str, owner_id: str) -> list[Entry]:
        return [self._entries[eid] for eid in self._by_owner.get((owner_kind, owner_id), [])]

    def candidates(self, volume: Volume4D, *, lateral_m: float, vertical_m: float, time_s: float) -> list[Entry]:
        """Entries whose widened box meets `volume`'s; a superset of the true conflicts."""
        return self.candidates_with_gaps(volume, lateral_m=lateral_m, vertical_m=vertical_m, time_s=time_s).entries

    def candidates_with_gaps(
        self, volume: Volume4D, *, lateral_m: float, vertical_m: float, time_s: float
    ) -> Candidates:
        """`candidates`, with each one's time gap (s) and vertical gap (m) to `volume` (0 when overlapping)."""
        raw = self._gather(volume, lateral_m, time_s)
        cols = self._cols
        if len(raw) == 0:
            self.last_stats = QueryStats(total_live=self._live)
            none = np.zeros(0, dtype=np.int64)
            return Candidates(none, none, np.zeros((0, 5)), np.zeros((0, 4)), np.zeros(0), np.zeros(0), self._entries)
        picked, time_gap, vertical_gap, gathered = cols.box_filter(raw, volume, lateral_m, vertical_m, time_s)
        self.last_stats = QueryStats(total_live=self._live, gathered=gathered, after_box_filter=len(picked))
        # In id order, as a check always meets them.
        order = np.argsort(picked)
        kept = picked[order]
        return Candidates(
            kept,
            cols.party[kept],
            cols.outline[kept],
            cols.bands(kept),
            time_gap[order],
            vertical_gap[order],
            self._entries,
        )

    def _gather(self, volume: Volume4D, lateral_m: float, time_s: float) -> npt.NDArray[np.int64]:
        box = grid.bounding_box(volume.outline, lateral_m)
        q_slots = grid.slots(volume.time.start_s() - time_s, volume.time.end_s() + time_s)
        open_query = q_slots == [OPEN_SLOT]
        slots = [*q_slots, OPEN_SLOT] if self._open_entries and not open_query else q_slots
        keys: list[int] = []
        narrow: list[int] = []  # levels whose cells are enumerated from the box (the usual case)
        for level in self._levels:
            if open_query:
                spans = self._cell_slots
                keys.extend(
                    grid.bucket_key(slot, c)
                    for c in self._cells_to_visit(box, level)
                    if c in spans
                    for slot in (*range(spans[c][0], spans[c][1] + 1), OPEN_SLOT)
                )
            elif grid.cell_count_estimate(box, level) > _MAX_CELLS:
                keys.extend(grid.bucket_key(slot, c) for slot in slots for c in self._cells_to_visit(box, level))
            else:
                narrow.append(level)
        if narrow:
            keys.extend(grid.bucket_keys(box, np.array(narrow), np.array(slots)).tolist())
        get = self._buckets.get
        found = [bucket for key in keys if (bucket := get(key)) is not None]
        if not found:
            return np.zeros(0, dtype=np.int64)
        # One copy of all the buckets' bytes, not one array per bucket; an entry filed under several of the
        # cells and slots comes as often (the box filter reads each once).
        return np.frombuffer(b"".join(found), dtype=np.int64)

    def _cells_to_visit(self, box: grid.Box, level: int) -> list[int]:
        estimate = grid.cell_count_estimate(box, level)
        if estimate > _MAX_CELLS:
            # Very wide query at a fine level: scan the level's non-empty cells instead.
            wanted = set(grid.cells(box, level)) if estimate < 250_000 else None
            return [c for c in self._cell_slots if grid.level_of(c) == level and (wanted is None or c in wanted)]
        return grid.cells(box, level)


def compile_kernels() -> None:
    """Query a tiny index once, so that numba compiles its kernels (or loads them from its cache) now."""
    probe = SpaceTimeIndex()
    window = TimeWindow(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))
    disc = Volume4D(circle_outline(LatLng(0.0, 0.0), 1_000.0, Limits()), AltitudeBand(0.0, 100.0), window)
    probe.add(Entry("operation", "probe", "probe", 0, disc))
    probe.candidates(disc, lateral_m=0.0, vertical_m=0.0, time_s=0.0)
    probe.rings(np.array([0]))
