"""The append-only tables: the audit chain with its checkpoints, and the per-party event streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from deconflict.domain.audit import AuditEntry, Checkpoint
from deconflict.storage.append import append_rows
from deconflict.storage.tables import AuditEntryRow, AuditPartyRow, Base, CheckpointRow, Counter, EventRow, PartyRow

AUDIT_COUNTER = "audit_seq"
#: The stores' integer ranges: sequence numbers are 64-bit columns, checkpoint ids 32-bit.
MAX_SEQ = 2**63 - 1
MAX_CHECKPOINT_ID = 2**31 - 1


# -- audit chain --------------------------------------------------------------------------------


def table_of(model: type[Base]) -> Table:
    """A model's table, for plain Core inserts: rows appended by the thousand skip the ORM's bulk
    machinery (about a third of a filing's time went there)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def audit_head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.entry_hash).order_by(AuditEntryRow.seq.desc()).limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def recorded_audit_count(session: Session) -> int:
    """The entry count kept apart from the chain (a truncated chain disagrees with it)."""
    value = session.execute(select(Counter.value).where(Counter.name == AUDIT_COUNTER)).scalar_one_or_none()
    return int(value or 0)


def insert_audit(session: Session, entries: list[AuditEntry]) -> None:
    """Insert a command's entries and their party index rows in one statement each, and record the
    chain length."""
    if not entries:
        return
    append_rows(session, table_of(AuditEntryRow), [_entry_values(e) for e in entries])
    links = [{"party_id": p, "seq": e.seq} for e in entries for p in e.parties]
    if links:
        append_rows(session, table_of(AuditPartyRow), links)
    record_audit_count(session, entries[-1].seq)


def _entry_values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor_party_id": entry.actor_party_id,
        "actor_token_id": entry.actor_token_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "parties": list(entry.parties),
        "payload": dict(entry.payload),
        "payload_digest": entry.payload_digest,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


#: The counters table, for the plain statements the write path runs on every command.
COUNTERS = table_of(Counter)
_SET_AUDIT_COUNT = update(COUNTERS).where(COUNTERS.c.name == AUDIT_COUNTER).values(value=bindparam("seq"))


def record_audit_count(session: Session, seq: int) -> None:
    """Plain statements on the table, built once: the ORM's bulk update (with its session
    synchronisation) cost more than the statement on every command."""
    if session.connection().execute(_SET_AUDIT_COUNT, {"seq": seq}).rowcount == 0:
        session.connection().execute(insert(COUNTERS).values(name=AUDIT_COUNTER, value=seq))


def entry_from_row(r: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        seq=r.seq,
        at=r.at,
        actor_party_id=r.actor_party_id,
        actor_token_id=r.actor_token_id,
        actor_role=r.actor_role,
        action=r.action,
        subject_kind=r.subject_kind,
        subject_id=r.subject_id,
        parties=tuple(r.parties),
        payload=r.payload,
        payload_digest=r.payload_digest,
        prev_hash=r.prev_hash,
        entry_hash=r.entry_hash,
    )


#: The columns of an entry in `AuditEntry` field order: reading them as plain rows skips building
#: (and tracking) an ORM object per entry, which was most of the cost of reading a long chain.
_ENTRY_COLUMNS = (
    AuditEntryRow.seq,
    AuditEntryRow.at,
    AuditEntryRow.actor_party_id,
    AuditEntryRow.actor_token_id,
    AuditEntryRow.actor_role,
    AuditEntryRow.action,
    AuditEntryRow.subject_kind,
    AuditEntryRow.subject_id,
    AuditEntryRow.parties,
    AuditEntryRow.payload,
    AuditEntryRow.payload_digest,
    AuditEntryRow.prev_hash,
    AuditEntryRow.entry_hash,
)


def iter_entries(session: Session, after_seq: int = -1, batch: int = 500) -> Iterator[AuditEntry]:
    """Every entry (after `after_seq`) in seq order, read in keyset pages so memory stays flat.

    Small pages are faster, not slower: the rows of a large page live long enough to be promoted
    to the collector's oldest generation, and its full collections then cost more than the reads.
    """
    after = after_seq
    while True:
        rows = session.execute(
            select(*_ENTRY_COLUMNS).where(AuditEntryRow.seq > after).order_by(AuditEntryRow.seq).limit(batch)
        ).all()
        if not rows:
            return
        for seq, at, party, token, role, action, kind, subject, parties, payload, pd, prev, h in rows:
            yield AuditEntry(seq, at, party, token, role, action, kind, subject, tuple(parties), payload, pd, prev, h)
        after = rows[-1][0]


def entries_of_party(
    session: Session, party_id: str, after_seq: int, limit: int, since: datetime | None = None
) -> list[AuditEntry]:
    stmt = (
        select(AuditEntryRow)
        .join(AuditPartyRow, AuditPartyRow.seq == AuditEntryRow.seq)
        .where(AuditPartyRow.party_id == party_id, AuditEntryRow.seq > after_seq)
        .order_by(AuditEntryRow.seq)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(AuditEntryRow.at >= since)
    return [entry_from_row(r) for r in session.execute(stmt).scalars()]


def entries_between(session: Session, start: datetime, end: datetime, party_id: str | None) -> list[AuditEntry]:
    stmt = select(AuditEntryRow).where(AuditEntryRow.at >= start, AuditEntryRow.at <= end)
    if party_id is not None:
        stmt = stmt.join(AuditPartyRow, AuditPartyRow.seq == AuditEntryRow.seq).where(
            AuditPartyRow.party_id == party_id
        )
    return [entry_from_row(r) for r in session.execute(stmt.order_by(AuditEntryRow.seq)).scalars()]


def add_checkpoint(session: Session, cp: Checkpoint) -> Checkpoint:
    row = CheckpointRow(
        at=cp.at, head_seq=cp.head_seq, head_hash=cp.head_hash, key_id=cp.key_id, signature=cp.signature
    )
    session.add(row)
    session.flush()
    return checkpoint_from_row(row)


def checkpoint_from_row(r: CheckpointRow) -> Checkpoint:
    return Checkpoint(r.id, r.at, r.head_seq, r.head_hash, r.key_id, r.signature)


def checkpoints(session: Session, after_id: int = 0, limit: int | None = None) -> list[Checkpoint]:
    stmt = select(CheckpointRow).where(CheckpointRow.id > after_id).order_by(CheckpointRow.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [checkpoint_from_row(r) for r in session.execute(stmt).scalars()]


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.execute(select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)).scalar_one_or_none()
    return None if row is None else checkpoint_from_row(row)


# -- event streams ------------------------------------------------------------------------------


_PARTIES = table_of(PartyRow)
_SET_EVENT_SEQ = update(_PARTIES).where(_PARTIES.c.id == bindparam("pid")).values(event_seq=bindparam("seq"))
_EVENT_SEQS = select(_PARTIES.c.id, _PARTIES.c.event_seq)


def insert_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert events (party_id, seq, kind, at, data) numbered by the caller under the global write lock."""
    if events:
        append_rows(session, table_of(EventRow), events)


def event_seqs(session: Session) -> dict[str, int]:
    """Every party's last event sequence number (one small query)."""
    with session.no_autoflush:
        return {pid: int(seq) for pid, seq in session.execute(_EVENT_SEQS)}


def set_event_seqs(session: Session, seqs: dict[str, int]) -> None:
    """Write back the parties' last sequence numbers (one executemany)."""
    if not seqs:
        return
    session.connection().execute(_SET_EVENT_SEQ, [{"pid": p, "seq": s} for p, s in sorted(seqs.items())])


def events_after(session: Session, party_id: str, after_seq: int, limit: int) -> list[EventRow]:
    stmt = (
        select(EventRow)
        .where(EventRow.party_id == party_id, EventRow.seq > after_seq)
        .order_by(EventRow.seq)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def last_event_seq(session: Session, party_id: str) -> int:
    with session.no_autoflush:  # pending rows of this command are flushed once, together
        value = session.execute(select(PartyRow.event_seq).where(PartyRow.id == party_id)).scalar_one_or_none()
    return int(value or 0)
