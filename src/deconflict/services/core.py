"""The service core: clock, store, the serialised write path and the in-memory index cache.

Every command runs inside `Core.write()`:

1. a process lock, then the store's global write lock (the `revision` counter row);
2. the in-memory index catches up with anything other processes committed;
3. the command decides with `now` read *after* the lock is held, and writes;
4. the command appends its audit entry (hash chain) and its events (per-party sequence) in the
   same transaction as the change, so the change and its record cannot disagree;
5. commit; then the index applies the command's changes, still under the lock, and the
   listeners (live streams) are told which parties have new events.

So two filings can never both miss each other: the second one to take the lock
sees the first in the index, and its conflict list names it.

A command also needs the ends of the store's append-only parts: the audit chain's head, each
party's last event number and the agreements stamp. After a commit the process keeps them (its
`_Tail`); the next command uses them only if the revision it takes is the very next one, i.e. no
other process wrote in between, and reads them from the store otherwise. A command that rolls back
leaves no tail, so nothing it computed survives it.
"""

from __future__ import annotations

import gc
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from deconflict.domain import screening
from deconflict.domain.audit import GENESIS_HASH, AuditEntry, chain_entry
from deconflict.domain.clock import Clock
from deconflict.domain.index import Entry, SpaceTimeIndex
from deconflict.domain.index import compile_kernels as compile_index_kernels
from deconflict.domain.operations import Operation
from deconflict.domain.parties import Principal, Role
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import Limits
from deconflict.domain.zones import Zone
from deconflict.services.track_book import TrackBook
from deconflict.storage import journal
from deconflict.storage.repository import SqlRepository, agreement_from_rows

#: The actor of what the service does by itself (deadlines, escalations, channel states, checkpoints).
SYSTEM = Principal("system", None, None, Role.ADMIN)
#: The actor of commands typed at the server's own command line.
CLI = Principal("cli", None, None, Role.ADMIN)


def new_id() -> str:
    return str(uuid.uuid4())


def new_version() -> str:
    return secrets.token_hex(10)


@dataclass(frozen=True)
class _Tail:
    """What a committed command left at the ends of the store, valid while `revision` is the latest.
    None: not known (not read by that command, or changed by it in a way it did not follow)."""

    revision: int
    audit_head: tuple[int, str] | None
    event_seqs: dict[str, int] | None
    agreements_stamp: int | None


@dataclass
class WriteTx:
    repo: SqlRepository
    revision: int
    now: datetime
    book: AgreementBook
    actor: Principal
    index_changes: list[tuple[str, str, list[Entry]]] = field(default_factory=list)
    woken: set[str] = field(default_factory=set)
    #: Set by `abandon()`: the command found nothing to do; roll back instead of committing.
    abandoned: bool = False
    #: The agreements stamp `book` was built for.
    agreements_stamp: int | None = None
    #: The audit chain's head as (seq, hash), (0, GENESIS_HASH) before the first entry; None: not read yet.
    _head: tuple[int, str] | None = None
    #: What the command appends, written in one statement per table by `finish` (before commit).
    _entries: list[AuditEntry] = field(default_factory=list)
    _events: list[dict[str, Any]] = field(default_factory=list)
    #: Each party's last event sequence number (read on the first event, written back once).
    _seqs: dict[str, int] | None = None
    _emitted: set[str] = field(default_factory=set)

    def abandon(self) -> None:
        """Nothing changed: end without a commit (no fsync, no revision), e.g. a receipt already stamped."""
        self.abandoned = True

    def audit(
        self, action: str, subject: tuple[str, str], payload: Mapping[str, Any], parties: Iterable[str] = ()
    ) -> AuditEntry:
        """Append the next link of the audit chain (same transaction as the change it records)."""
        head = self._head if self._head is not None else journal.audit_head(self.repo.session) or (0, GENESIS_HASH)
        actor = (self.actor.party_id, self.actor.token_id, self.actor.role.value)
        involved = {p for p in parties if p}
        if self.actor.party_id:
            involved.add(self.actor.party_id)
        entry = chain_entry(head, self.now, actor, action, subject, involved, payload)
        self._entries.append(entry)
        self._head = (entry.seq, entry.entry_hash)
        return entry

    def finish(self) -> None:
        """Before commit: write the command's audit entries and events, and the counters, at once."""
        session = self.repo.session
        session.flush()
        journal.insert_audit(session, self._entries)
        journal.insert_events(session, self._events)
        if self._seqs is not None:
            journal.set_event_seqs(session, {p: self._seqs[p] for p in self._emitted})

    def emit(self, party_id: str, kind: str, data: dict[str, Any]) -> int:
        """Append an event to the party's stream; returns its sequence number."""
        # Every writer holds the global write lock, so numbering in memory and writing the
        # party's counter back once at the end is race-free.
        if self._seqs is None:
            self._seqs = journal.event_seqs(self.repo.session)
        seq = self._seqs[party_id] = self._seqs.get(party_id, 0) + 1
        self._events.append({"party_id": party_id, "seq": seq, "kind": kind, "at": self.now, "data": data})
        self._emitted.add(party_id)
        self.woken.add(party_id)
        return seq

    def tail(self) -> _Tail:
        """The ends of the store once this command has committed."""
        stamp = None if self.repo.agreements_touched else self.agreements_stamp
        return _Tail(self.revision, self._head, self._seqs, stamp)

    def reindex_operation(self, op: Operation) -> None:
        self.index_changes.append(("operation", op.id, operation_entries(op)))

    def reindex_zone(self, zone: Zone, active: bool) -> None:
        self.index_changes.append(("zone", zone.id, zone_entries(zone, active)))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration (as it was before, after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def operation_entries(op: Operation) -> list[Entry]:
    """Index entries of an operation: one per extent while it is live, none after."""
    return [Entry("operation", op.id, op.party_id, i, v) for i, v in enumerate(op.extents)] if op.live else []


def zone_entries(zone: Zone, active: bool) -> list[Entry]:
    return [Entry("zone", zone.id, zone.party_id, 0, zone.volume)] if active else []


class _Abandoned(Exception):
    """Rolls back a command that found nothing to do."""


class Core:
    def __init__(
        self, engine: Engine, clock: Clock, limits: Limits | None = None, degraded_after_s: float = 120.0
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.limits = limits or Limits()
        #: A party without a live connection for this long has a degraded channel.
        self.degraded_after_s = degraded_after_s
        self.index = SpaceTimeIndex()
        #: The store revision the index follows; None until a command first needs it. A server loads it at
        #: start (`warm_up`); a CLI command that never checks conflicts (issuing a token) never loads it.
        self.index_revision: int | None = None
        self._lock = threading.RLock()
        self.area_cache: dict[tuple[str, str], Any] = {}
        self._book: tuple[int, AgreementBook] | None = None
        #: What this process's last committed command left; None after a rollback or a failure.
        self._tail: _Tail | None = None
        #: Called after each commit with the parties that have new events (live delivery wakes up).
        self.listeners: list[Callable[[set[str]], None]] = []
        #: The live track picture of this process, following the store.
        self.tracks = TrackBook()
        #: The key of counterparts' track aliases, read from the store once.
        self.alias_key: bytes | None = None

    def book(self, repo: SqlRepository, *, fresh: bool = False, stamp: int | None = None) -> AgreementBook:
        """The active agreements as the store has them. Kept between commands until an agreement is
        written (the store's agreements stamp moves); `fresh` rebuilds it from this transaction's own
        uncommitted rows, without keeping that (it may yet roll back). `stamp`: the store's stamp,
        when the caller knows it."""
        if stamp is None:
            stamp = repo.agreements_stamp()
        cached = self._book
        if not fresh and cached is not None and cached[0] == stamp:
            return cached[1]
        book = AgreementBook(agreement_from_rows(r, m, self.area_cache) for r, m in repo.agreement_rows())
        if not fresh:
            self._book = (stamp, book)
        return book

    @contextmanager
    def write(self, actor: Principal, *, index: bool = True) -> Iterator[WriteTx]:
        """One command: its change, audit entries and events in one transaction, under the process lock.

        `index=False` for a command that neither checks conflicts nor changes operations or zones: it
        does not load the index when this process has not yet (on a million extents that takes minutes).
        """
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                with session.begin():
                    repo = SqlRepository(session)
                    revision = repo.bump_revision()
                    if index or self.index_revision is not None:
                        self._catch_up(repo, revision - 1)
                    tail, self._tail = self._tail, None  # until this command commits
                    if tail is None or tail.revision != revision - 1:  # another process wrote since
                        tail = _Tail(revision - 1, None, None, None)
                    stamp = repo.agreements_stamp() if tail.agreements_stamp is None else tail.agreements_stamp
                    tx = WriteTx(
                        repo,
                        revision,
                        self.clock.now(),
                        self.book(repo, stamp=stamp),
                        actor,
                        agreements_stamp=stamp,
                        _head=tail.audit_head,
                        _seqs=tail.event_seqs,
                    )
                    yield tx
                    if tx.abandoned:
                        raise _Abandoned
                    tx.finish()
            except _Abandoned:
                return
            self._tail = tx.tail()
            if self.index_revision is not None:  # else the command's changes are read with the rest, when loaded
                for kind, owner_id, entries in tx.index_changes:
                    self._apply(kind, owner_id, entries)
                self.index_revision = revision
        if tx.woken:
            for listener in self.listeners:
                listener(tx.woken)

    @contextmanager
    def read(self, *, fresh_index: bool = False) -> Iterator[SqlRepository]:
        """A read-only unit of work; `fresh_index` first brings the index up to the store's revision."""
        with Session(self.engine, expire_on_commit=False) as session:
            repo = SqlRepository(session)
            if fresh_index:
                with self._lock:
                    self._catch_up(repo, repo.current_revision())
                    yield repo
                return
            yield repo

    def warm_up(self) -> int:
        """Load the index from the store, and ready the engine's compiled kernels, now (at server start)
        rather than at the first command.

        The cyclic garbage collector is paused while the index loads: the load makes millions of
        long-lived objects and next to no cycles, and each of the collector's passes would walk all of
        them again (at 100k extents it took over a third of the load)."""
        screening.compile_kernels()
        compile_index_kernels()
        with _collector_paused(), self.read(fresh_index=True):
            return len(self.index)

    def _catch_up(self, repo: SqlRepository, upto: int) -> None:
        """Bring the index to revision `upto`: what changed since its own revision, or all of it on first use."""
        if self.index_revision is not None and self.index_revision >= upto:
            return
        since = self.index_revision or 0
        for op in repo.operations(changed_after_revision=since):
            self._apply("operation", op.id, operation_entries(op))
        for zone, active in repo.zones(changed_after_revision=since):
            self._apply("zone", zone.id, zone_entries(zone, active))
        self.index_revision = upto

    def _apply(self, kind: str, owner_id: str, entries: list[Entry]) -> None:
        self.index.remove_owner(kind, owner_id)
        for entry in entries:
            self.index.add(entry)
