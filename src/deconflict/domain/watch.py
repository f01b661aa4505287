"""One look at the live picture: every condition that deserves an alert right now.

- **Loss of separation**, predicted within the lookahead, between live tracks of two parties that
  share an agreement (whose area, if any, holds either track); minima and lookahead are the
  strictest of those agreements' live rules. Two parties reporting the same aircraft address are
  one aircraft, not a conflict. Same-party pairs only when `WatchRules.same_party` is set (then
  with the default minima).
- **Intrusion**: a live track inside, or predicted within the lookahead to enter, a counterpart's
  restricted zone or the volume of a counterpart's activated operation. Inside now is a warning;
  a predicted entry takes its level from the time to entry; a `notify` zone never rises above
  advisory (flying there is allowed, being unaware is not).
- **Non-conformance**: an aircraft declared for an activated operation (by aircraft id or callsign)
  that is outside all of the operation's volumes by more than the tolerances.

Each condition carries a stable key (the alert lifecycle in `alerts` is keyed by it), its level,
the parties to tell, and the numbers an officer needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from deconflict.domain.agreements import Agreement, LiveRules
from deconflict.domain.intrusion import first_inside_s, near, outside, sample_paths
from deconflict.domain.operations import Operation, OperationState
from deconflict.domain.rules import AgreementBook
from deconflict.domain.separation import contains_points
from deconflict.domain.tactical import Level, Minima, Thresholds, Tracks, predict
from deconflict.domain.tactical_pairs import candidate_pairs
from deconflict.domain.tracks import TrackState, project
from deconflict.domain.volumes import Volume4D
from deconflict.domain.zones import Zone, ZoneKind

LOSS = "loss_of_separation"
INTRUSION = "intrusion"
NONCONFORMANCE = "nonconformance"
WATCHED_STATES = frozenset({OperationState.ACTIVATED, OperationState.NONCONFORMING})


@dataclass(frozen=True)
class WatchRules:
    thresholds: Thresholds = field(default_factory=Thresholds)
    same_party: bool = False
    #: How far outside its operation's volumes a declared aircraft may be before it is non-conforming.
    conformance_lateral_m: float = 100.0
    conformance_vertical_m: float = 60.0
    #: Sampling of predicted paths for intrusions (the entry time errs early by less than this).
    path_step_s: float = 2.0


@dataclass(frozen=True)
class Condition:
    key: str
    kind: str
    level: Level
    parties: frozenset[str]
    tracks: tuple[TrackState, ...]
    zone: Zone | None = None
    operation_id: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def watch(
    states: Sequence[TrackState],
    now: datetime,
    book: AgreementBook,
    zones: Sequence[Zone],
    operations: Sequence[Operation],
    rules: WatchRules = WatchRules(),
) -> dict[str, Condition]:
    """Every condition of the live tracks `states` at `now` (states are projected to `now`)."""
    tracks = project(states, now)
    found: dict[str, Condition] = {}
    if states:
        found.update(_losses(states, tracks, now.timestamp(), book, rules))
        found.update(_intrusions(states, tracks, now, book, zones, operations, rules))
    found.update(_nonconformance(states, tracks, now, book, operations, rules))
    return found


class _Areas:
    """Which track positions each agreement's area holds (computed once per agreement)."""

    def __init__(self, tracks: Tracks) -> None:
        self.tracks = tracks
        self._inside: dict[str, np.ndarray] = {}

    def holds_all(self, agreement: Agreement) -> np.ndarray:
        if agreement.id not in self._inside:
            n = len(self.tracks.lat_deg)
            area = agreement.area
            inside = (
                np.ones(n, dtype=bool)
                if area is None
                else contains_points(area, self.tracks.lat_deg, self.tracks.lng_deg)
            )
            self._inside[agreement.id] = inside
        return self._inside[agreement.id]

    def holds(self, agreement: Agreement, k: int) -> bool:
        return bool(self.holds_all(agreement)[k])


def _strictest(agreements: Sequence[Agreement]) -> LiveRules | None:
    if not agreements:
        return None
    return LiveRules(
        max(a.live.lateral_m for a in agreements),
        max(a.live.vertical_m for a in agreements),
        max(a.live.lookahead_s for a in agreements),
    )


def _losses(
    states: Sequence[TrackState], tracks: Tracks, now_s: float, book: AgreementBook, rules: WatchRules
) -> dict[str, Condition]:
    parties = sorted({s.party_id for s in states})
    live = [a.live for a in book.agreements] + ([LiveRules()] if rules.same_party else [])
    if not live or (len(parties) < 2 and not rules.same_party):
        return {}
    index = {p: k for k, p in enumerate(parties)}
    group = np.array([index[s.party_id] for s in states])
    envelope = Minima(max(x.lateral_m for x in live), max(x.vertical_m for x in live), max(x.lookahead_s for x in live))
    i, j = candidate_pairs(tracks, envelope, group=group, same_group=rules.same_party)
    minima = _pair_minima(states, group, parties, i, j, tracks, book)
    out: dict[str, Condition] = {}
    known = ~np.isnan(minima[:, 0])
    for row in np.unique(minima[known], axis=0):
        chosen = np.flatnonzero(known & np.all(minima == row, axis=1))
        m = Minima(float(row[0]), float(row[1]), float(row[2]))
        enc = predict(tracks, i[chosen], j[chosen], m, rules.thresholds)
        for k in np.flatnonzero(~np.isnan(enc.time_to_loss_s)):
            sa, sb = sorted((states[enc.i[k]], states[enc.j[k]]), key=lambda s: (s.party_id, s.aircraft_id))
            key = f"{LOSS}|{sa.party_id}/{sa.aircraft_id}|{sb.party_id}/{sb.aircraft_id}"
            out[key] = Condition(
                key,
                LOSS,
                Level(int(enc.level[k])),
                frozenset({sa.party_id, sb.party_id}),
                (sa, sb),
                numbers={
                    "predicted_at_s": now_s,  # the instant the times below count from (epoch seconds)
                    "time_to_loss_s": round(float(enc.time_to_loss_s[k]), 1),
                    "time_to_cpa_s": round(float(enc.time_to_cpa_s[k]), 1),
                    "horizontal_at_cpa_m": round(float(enc.horizontal_at_cpa_m[k]), 1),
                    "vertical_at_cpa_m": round(abs(float(enc.vertical_at_cpa_m[k])), 1),
                    "lateral_minimum_m": m.lateral_m,
                    "vertical_minimum_m": m.vertical_m,
                },
            )
    return out


def _pair_minima(
    states: Sequence[TrackState],
    group: np.ndarray,
    parties: list[str],
    i: np.ndarray,
    j: np.ndarray,
    tracks: Tracks,
    book: AgreementBook,
) -> np.ndarray:
    """Per candidate pair: (lateral, vertical, lookahead) of the strictest agreement that applies,
    or NaN where none does (no shared agreement holding either track, or one aircraft seen twice)."""
    minima = np.full((len(i), 3), np.nan)
    same_party = group[i] == group[j]
    default = LiveRules()
    minima[same_party] = (default.lateral_m, default.vertical_m, default.lookahead_s)
    areas = _Areas(tracks)
    for agreement in book.agreements:
        members = np.array([p in agreement.party_ids for p in parties])
        bound = ~same_party & members[group[i]] & members[group[j]]
        if not bound.any():
            continue
        held = bound & (areas.holds_all(agreement)[i] | areas.holds_all(agreement)[j])
        rules = np.array([agreement.live.lateral_m, agreement.live.vertical_m, agreement.live.lookahead_s])
        minima[held] = np.fmax(minima[held], rules)
    ids = np.array([s.aircraft_id for s in states], dtype=object)
    minima[~same_party & (ids[i] == ids[j])] = np.nan  # one aircraft, reported by two parties
    return minima


def _intrusions(
    states: Sequence[TrackState],
    tracks: Tracks,
    now: datetime,
    book: AgreementBook,
    zones: Sequence[Zone],
    operations: Sequence[Operation],
    rules: WatchRules,
) -> dict[str, Condition]:
    targets: list[tuple[str, Zone | None, Operation | None, Volume4D]] = [
        (z.party_id, z, None, z.volume) for z in zones
    ] + [(op.party_id, None, op, v) for op in operations if op.state in WATCHED_STATES for v in op.extents]
    if not targets:
        return {}
    lookahead_s = max([a.live.lookahead_s for a in book.agreements], default=LiveRules().lookahead_s)
    reach_m = np.hypot(tracks.east_mps, tracks.north_mps) * lookahead_s
    areas = _Areas(tracks)
    # Which tracks each target must be checked against (counterparts' tracks under an agreement
    # holding them, near enough to matter); paths are then sampled for those tracks only.
    checks: list[tuple[str, Zone | None, Operation | None, Volume4D, list[int], list[float]]] = []
    for owner, zone, op, volume in targets:
        allowed: list[int] = []
        horizon: list[float] = []
        for k in near(tracks, volume.outline, reach_m).tolist():
            if states[k].party_id == owner:
                continue
            strict = _strictest([x for x in book.shared(states[k].party_id, owner) if areas.holds(x, k)])
            if strict is not None:
                allowed.append(k)
                horizon.append(strict.lookahead_s)
        if allowed:
            checks.append((owner, zone, op, volume, allowed, horizon))
    if not checks:
        return {}
    sampled = np.array(sorted({k for c in checks for k in c[4]}))
    path_row = {int(k): n for n, k in enumerate(sampled)}
    paths = sample_paths(tracks.take(sampled), now, lookahead_s, rules.path_step_s)
    out: dict[str, Condition] = {}
    for owner, zone, op, volume, allowed, horizon in checks:
        entry_s = first_inside_s(paths, np.array([path_row[k] for k in allowed]), volume)
        for k, t, limit in zip(allowed, entry_s.tolist(), horizon, strict=True):
            if np.isnan(t) or t > limit:
                continue
            s = states[k]
            subject = f"zone/{zone.id}" if zone is not None else f"operation/{op.id if op else ''}"
            key = f"{INTRUSION}|{s.party_id}/{s.aircraft_id}|{subject}"
            level = Level.WARNING if t == 0 else Level(int(rules.thresholds.level(np.array([t]))[0]))
            if zone is not None and zone.kind is ZoneKind.NOTIFY:
                level = min(level, Level.ADVISORY)
            previous = out.get(key)
            if previous is not None and previous.numbers["time_to_entry_s"] <= t:
                continue  # an operation's earlier extent already gives an earlier entry
            out[key] = Condition(
                key,
                INTRUSION,
                level,
                frozenset({s.party_id, owner}),
                (s,),
                zone=zone,
                operation_id=op.id if op is not None else None,
                numbers={"inside": t == 0, "time_to_entry_s": t},
            )
    return out


def _nonconformance(
    states: Sequence[TrackState],
    tracks: Tracks,
    now: datetime,
    book: AgreementBook,
    operations: Sequence[Operation],
    rules: WatchRules,
) -> dict[str, Condition]:
    by_party: dict[str, list[int]] = {}
    for k, s in enumerate(states):
        by_party.setdefault(s.party_id, []).append(k)
    out: dict[str, Condition] = {}
    for op in operations:
        ids, callsigns = set(op.private.aircraft_ids), set(op.private.callsigns)
        if op.state not in WATCHED_STATES or not (ids or callsigns):
            continue
        told: frozenset[str] | None = None  # who is told: computed once a declared aircraft is out
        for k in by_party.get(op.party_id, []):
            s = states[k]
            if s.aircraft_id not in ids and (s.callsign is None or s.callsign not in callsigns):
                continue
            lat, lng, alt = float(tracks.lat_deg[k]), float(tracks.lng_deg[k]), float(tracks.alt_m[k])
            beyond = outside(lat, lng, alt, now, op.extents, rules.conformance_lateral_m, rules.conformance_vertical_m)
            if beyond is None:
                continue
            if told is None:
                told = frozenset(book.audience(op.party_id, (e.outline for e in op.extents)))
            key = f"{NONCONFORMANCE}|{op.id}|{s.aircraft_id}"
            out[key] = Condition(
                key,
                NONCONFORMANCE,
                Level.WARNING,
                told,
                (s,),
                operation_id=op.id,
                numbers={
                    "lateral_excess_m": round(beyond.lateral_m, 1),
                    "vertical_excess_m": round(beyond.vertical_m, 1),
                    "time_outside_window_s": round(beyond.time_s, 1),
                },
            )
    return out
