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

import math
from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from deconflict.domain import grid
from deconflict.domain.compiled import BoolArray, compiled
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.grid import MARGIN_M, OPEN_SLOT, SLOT_SHIFT
from deconflict.domain.separation import DISTANCE_TOLERANCE_M
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline

IdArray = npt.NDArray[np.int64]

#: Start of an empty slot range (no finite slot filed yet).
_NO_SLOT = 2**62
_CAP_SLACK = 1.005  # sphere vs ellipsoid: angular radius from metres, conservatively
#: WGS84 a(1 - e²), the meridional radius of curvature at the equator and the smallest anywhere: a geodesic
#: of length s turns the surface normal by at most s / this, so it converts metres to a safe angular radius.
_MIN_CURVATURE_RADIUS_M = 6_335_439.0


@dataclass(frozen=True)
class Entry:
    """One indexed extent: an operation's extent or a zone's volume."""

    owner_kind: str  # "operation" | "zone"
    owner_id: str
    party_id: str
    extent_index: int
    volume: Volume4D


@dataclass(frozen=True)
class Candidates:
    """Entries near a query, and per entry: its id, its party's code, its outline's row (as
    `screening.outline_rows` makes it), its time gap (s) and vertical gap (m) to the query (0 when overlapping)."""

    entries: list[Entry]
    ids: npt.NDArray[np.int64]
    party_code: npt.NDArray[np.int64]
    outline_rows: FloatArray
    time_gap_s: FloatArray
    vertical_gap_m: FloatArray


@dataclass
class QueryStats:
    total_live: int = 0
    gathered: int = 0
    after_box_filter: int = 0


#: Columns of `_Columns.rows`: window start and end (s), band lower and upper (m), centre unit vector, cap (rad).
_T0, _T1, _A0, _A1, _X, _Y, _Z, _CAP = range(8)


class _Columns:
    """Growable numpy columns, one row per entry id: the box filter reads one row per candidate."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.alive = np.zeros(capacity, dtype=bool)
        self.party = np.zeros(capacity, dtype=np.int64)
        self.rows = np.zeros((capacity, 8))
        #: What screening reads of each outline: `screening.outline_rows`, kept apart from the filter's columns.
        self.outline = np.zeros((capacity, 5))
        #: The last query that met each entry (`_box_filter` reads each gathered id once).
        self.seen = np.zeros(capacity, dtype=np.int64)
        self.queries = 0

    def append(self, volume: Volume4D, party_code: int) -> int:
        if self.size == len(self.alive):
            self._grow()
        i = self.size
        o = volume.outline
        self.alive[i] = True
        self.party[i] = party_code
        self.rows[i] = (
            volume.time.start_s(),
            volume.time.end_s(),
            volume.altitude.lower_m,
            volume.altitude.upper_m,
            *_unit_vector(o.center.lat, o.center.lng),
            o.cap_radius_m * _CAP_SLACK / _MIN_CURVATURE_RADIUS_M,
        )
        self.outline[i] = (o.center.lat, o.center.lng, o.radius_m, o.cap_radius_m, float(o.is_circle))
        self.size += 1
        return i

    def _grow(self) -> None:
        for name in ("alive", "party", "rows", "outline", "seen"):
            old = getattr(self, name)
            new = np.zeros((len(old) * 2, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


def _unit_vector(lat_deg: float, lng_deg: float) -> tuple[float, float, float]:
    lat, lng = math.radians(lat_deg), math.radians(lng_deg)
    return math.cos(lat) * math.cos(lng), math.cos(lat) * math.sin(lng), math.sin(lat)


@compiled
def _box_filter(
    raw: IdArray,
    seen: IdArray,
    query: int,
    alive: BoolArray,
    rows: FloatArray,
    box: FloatArray,
    time_s: float,
    vertical_m: float,
) -> tuple[IdArray, FloatArray, FloatArray, int]:
    """The ids in `raw` (with repeats) whose rows pass the box filter, each once, with their time gap (s) and
    vertical gap (m); and how many distinct ids `raw` held.

    `box` holds the query's window start and end (s), band lower and upper (m), centre unit vector and
    widened angular radius (rad); `vertical_m` includes the tolerance. `seen` marks each id met by this
    `query` (a number no earlier query used), so repeats are skipped without sorting.
    """
    n = raw.shape[0]
    kept = np.empty(n, dtype=np.int64)
    time_gaps, vertical_gaps = np.empty(n), np.empty(n)
    s0, s1, lo, hi, qx, qy, qz, q_rad = box[0], box[1], box[2], box[3], box[4], box[5], box[6], box[7]
    count = distinct = 0
    for k in range(n):
        i = raw[k]
        if seen[i] == query:
            continue
        seen[i] = query
        distinct += 1
        if not alive[i]:
            continue
        # A NaN (inf - inf, never from valid windows) fails both comparisons: it counts as no gap.
        time_gap = 0.0
        before, after = rows[i, _T0] - s1, s0 - rows[i, _T1]
        if before > time_gap:
            time_gap = before
        if after > time_gap:
            time_gap = after
        if time_gap > time_s:
            continue
        vertical_gap = max(max(rows[i, _A0] - hi, lo - rows[i, _A1]), 0.0)
        if vertical_gap > vertical_m:
            continue
        reach = min(q_rad + rows[i, _CAP], math.pi)
        if rows[i, _X] * qx + rows[i, _Y] * qy + rows[i, _Z] * qz < math.cos(reach):
            continue
        kept[count], time_gaps[count], vertical_gaps[count] = i, time_gap, vertical_gap
        count += 1
    return kept[:count], time_gaps[:count], vertical_gaps[:count], distinct


class SpaceTimeIndex:
    """In-memory candidate index over live operation extents and zones; a cache of the store.

    Not thread-safe: the service calls it only while holding its process lock.
    """

    def __init__(self) -> None:
        self._cols = _Columns()
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
        self._live = 0
        self._open_entries = 0  # ever filed under OPEN_SLOT; until one is, queries skip that lookup
        self.last_stats = QueryStats()

    def __len__(self) -> int:
        return self._live

    def party_code(self, party_id: str) -> int:
        """The code under which the party's entries are filed (-1 for a party with none yet)."""
        return self._party_codes.get(party_id, -1)

    def ids_of(self, owner_kind: str, owner_id: str) -> list[int]:
        """Entry ids of an owner's live extents."""
        return list(self._by_owner.get((owner_kind, owner_id), []))

    def add(self, entry: Entry) -> None:
        code = self._party_codes.setdefault(entry.party_id, len(self._party_codes))
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
            return Candidates([], none, none, np.zeros((0, 5)), np.zeros(0), np.zeros(0))
        o = volume.outline
        cols.queries += 1
        picked, time_gap, vertical_gap, gathered = _box_filter(
            raw,
            cols.seen,
            cols.queries,
            cols.alive,
            cols.rows,
            np.array(
                (
                    volume.time.start_s(),
                    volume.time.end_s(),
                    volume.altitude.lower_m,
                    volume.altitude.upper_m,
                    *_unit_vector(o.center.lat, o.center.lng),
                    (o.cap_radius_m * _CAP_SLACK + lateral_m + MARGIN_M) / _MIN_CURVATURE_RADIUS_M,
                )
            ),
            time_s,
            vertical_m + DISTANCE_TOLERANCE_M,
        )
        self.last_stats = QueryStats(total_live=self._live, gathered=gathered, after_box_filter=len(picked))
        # In id order, as a check always meets them.
        order = np.argsort(picked)
        kept = picked[order]
        entries = self._entries
        return Candidates(
            [entries[i] for i in kept.tolist()],
            kept,
            cols.party[kept],
            cols.outline[kept],
            time_gap[order],
            vertical_gap[order],
        )

    def _gather(self, volume: Volume4D, lateral_m: float, time_s: float) -> npt.NDArray[np.int64]:
        box = grid.bounding_box(volume.outline, lateral_m)
        q_slots = grid.slots(volume.time.start_s() - time_s, volume.time.end_s() + time_s)
        open_query = q_slots == [OPEN_SLOT]
        slots = [*q_slots, OPEN_SLOT] if self._open_entries and not open_query else q_slots
        slot_keys = [slot << SLOT_SHIFT for slot in slots]
        get = self._buckets.get
        found: list[array[int]] = []
        for level in self._levels:
            cells = self._cells_to_visit(box, level)
            if open_query:
                spans = self._cell_slots
                keys = [
                    grid.bucket_key(slot, c)
                    for c in cells
                    if c in spans
                    for slot in (*range(spans[c][0], spans[c][1] + 1), OPEN_SLOT)
                ]
            else:
                keys = [k | c for k in slot_keys for c in cells]
            found.extend(bucket for key in keys if (bucket := get(key)) is not None)
        if not found:
            return np.zeros(0, dtype=np.int64)
        # One copy of all the buckets' bytes, not one array per bucket; an entry filed under several of the
        # cells and slots comes as often (the box filter reads each once).
        return np.frombuffer(b"".join(found), dtype=np.int64)

    def _cells_to_visit(self, box: grid.Box, level: int) -> list[int]:
        size = grid.cell_size_deg(level)
        lng_span = 360.0 if box.full_lng else box.lng_max - box.lng_min
        estimate = ((box.lat_max - box.lat_min) / size + 1) * (lng_span / size + 1)
        if estimate > 4096:
            # Very wide query at a fine level: scan the level's non-empty cells instead.
            wanted = set(grid.cells(box, level)) if estimate < 250_000 else None
            return [c for c in self._cell_slots if grid.level_of(c) == level and (wanted is None or c in wanted)]
        return grid.cells(box, level)


def compile_kernels() -> None:
    """Query a tiny index once, so that numba compiles the box filter (or loads it from its cache) now."""
    probe = SpaceTimeIndex()
    window = TimeWindow(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))
    disc = Volume4D(circle_outline(LatLng(0.0, 0.0), 1_000.0, Limits()), AltitudeBand(0.0, 100.0), window)
    probe.add(Entry("operation", "probe", "probe", 0, disc))
    probe.candidates(disc, lateral_m=0.0, vertical_m=0.0, time_s=0.0)
