"""Persisting conflicts with the change that found them, and presenting them to either side."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from deconflict.domain.conflicts import Conflict, detect
from deconflict.domain.operations import Operation
from deconflict.domain.zones import Zone
from deconflict.services.core import Core, WriteTx
from deconflict.storage.repository import SqlRepository
from deconflict.storage.tables import ConflictRow


def conflict_doc(c: Conflict) -> dict[str, Any]:
    # Shallow: `asdict` would deep-copy the overlap's coordinate lists, which nothing changes afterwards.
    doc = {f.name: getattr(c, f.name) for f in fields(c)}
    doc["agreement_ids"] = list(c.agreement_ids)
    doc["time_start"] = None if c.time_start is None else c.time_start.isoformat()
    doc["time_end"] = None if c.time_end is None else c.time_end.isoformat()
    return doc


def record(
    tx: WriteTx, subject_kind: str, subject_id: str, subject_party: str, found: Iterable[Conflict]
) -> list[ConflictRow]:
    """Store the conflicts and put each on both parties' streams, from each one's side; returns the rows."""
    values = [
        {
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "subject_party_id": subject_party,
            "other_kind": c.other_kind,
            "other_id": c.other_id,
            "other_party_id": c.other_party_id,
            "detail": conflict_doc(c),
            "created_at": tx.now,
            "cleared_at": None,
        }
        for c in found
    ]
    rows = tx.repo.insert_conflicts(values)  # each with its new id, in order
    for row in rows:
        for party in sorted({subject_party, row.other_party_id}):
            tx.emit(party, "conflict", oriented(row, party))
    return rows


def clear_of(tx: WriteTx, owner_id: str) -> None:
    """Clear the owner's open conflicts and tell both sides of each."""
    for row in tx.repo.clear_conflicts_of(owner_id, tx.now):
        for party in sorted({row.subject_party_id, row.other_party_id}):
            tx.emit(party, "conflict.cleared", {"id": row.id, "cleared_at": tx.now.isoformat()})


def refresh_operation(
    core: Core,
    tx: WriteTx,
    op: Operation,
    skip_others: set[str] | None = None,
    clear: bool = True,
    found: list[Conflict] | None = None,
) -> tuple[list[Conflict], list[ConflictRow]]:
    """Clear the operation's recorded conflicts and record the current ones (none once it is over);
    `found`, when given, are those current ones as the caller detected them in this transaction.

    Returns the conflicts and the rows recorded for them; without `skip_others`, after a clear (or
    for a new operation, which nothing can name yet) the rows are all its open conflicts."""
    if clear:
        clear_of(tx, op.id)
    if not op.live:
        return [], []
    if found is None:
        found = detect(op.party_id, op.extents, core.index, tx.book, exclude=("operation", op.id))
    kept = (c for c in found if not skip_others or c.other_id not in skip_others)
    return found, record(tx, "operation", op.id, op.party_id, kept)


def refresh_zone(core: Core, tx: WriteTx, zone: Zone, active: bool, clear: bool = True) -> list[Conflict]:
    if clear:
        clear_of(tx, zone.id)
    if not active:
        return []
    found = [
        c
        for c in detect(zone.party_id, [zone.volume], core.index, tx.book, exclude=("zone", zone.id))
        if c.other_kind == "operation"
    ]
    record(tx, "zone", zone.id, zone.party_id, found)
    return found


def refresh_parties(core: Core, tx: WriteTx, party_ids: Iterable[str]) -> None:
    """Recompute every live operation's conflicts for these parties (after agreements change)."""
    ops = [op for op in tx.repo.operations(party_ids=party_ids) if op.live]
    zones = [zone for zone, _active in tx.repo.zones(party_ids=party_ids)]
    for owner_id in [op.id for op in ops] + [z.id for z in zones]:
        clear_of(tx, owner_id)
    done: set[str] = {z.id for z in zones}  # operation-vs-zone pairs are recorded from the zone's side
    for op in ops:
        refresh_operation(core, tx, op, skip_others=done, clear=False)
        done.add(op.id)
    for zone in zones:
        refresh_zone(core, tx, zone, True, clear=False)


def oriented(row: ConflictRow, viewer_party_id: str) -> dict[str, Any]:
    """A recorded conflict from the viewer's side: `mine` is the viewer's object, `theirs` the other."""
    d = row.detail
    subject = {
        "kind": row.subject_kind,
        "id": row.subject_id,
        "party_id": row.subject_party_id,
        "extent": d["subject_extent"],
    }
    other = {"kind": row.other_kind, "id": row.other_id, "party_id": row.other_party_id, "extent": d["other_extent"]}
    mine, theirs = (subject, other) if row.subject_party_id == viewer_party_id else (other, subject)
    keep = {
        k: v
        for k, v in d.items()
        if k not in {"subject_extent", "other_kind", "other_id", "other_party_id", "other_extent"}
    }
    return {"id": row.id, "mine": mine, "theirs": theirs, "created_at": row.created_at.isoformat(), **keep}


def open_for_party(repo: SqlRepository, party_id: str) -> list[dict[str, Any]]:
    return [oriented(r, party_id) for r in repo.open_conflicts(party_id=party_id)]
