"""SQLAlchemy implementation of the repository the services use; rows <-> domain values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, HotlineRules, LatePolicy, LiveRules
from deconflict.domain.operations import Operation, OperationState
from deconflict.domain.parties import Party, Role
from deconflict.domain.volumes import Volume4D
from deconflict.domain.zones import Zone, ZoneKind
from deconflict.storage import codec
from deconflict.storage.journal import COUNTERS, table_of
from deconflict.storage.tables import (
    AgreementMemberRow,
    AgreementRow,
    ConflictRow,
    Counter,
    ExtentRow,
    OperationRow,
    PartyRow,
    TokenRow,
    ZoneRow,
)

#: Largest IN list sent in one statement (SQLite caps bound variables at 32,766).
_IN_CHUNK = 5_000
#: Callers filtering `operations(ids=...)` keep the id list at most this long.
MAX_ID_FILTER = 10_000


#: The counter that moves on every agreement write.
AGREEMENTS = "agreements"

# Statements every request or command runs, built once: building one (and its cache key) each time
# cost more than SQLite took to run it.
_BUMP_REVISION = (
    update(COUNTERS).where(COUNTERS.c.name == "revision").values(value=COUNTERS.c.value + 1).returning(COUNTERS.c.value)
)
_LIVE_TOKEN = (
    select(TokenRow.id, TokenRow.party_id, TokenRow.role, PartyRow.name)
    .outerjoin(PartyRow, PartyRow.id == TokenRow.party_id)
    .where(TokenRow.token_hash == bindparam("token_hash"), TokenRow.revoked_at.is_(None))
)
_AGREEMENTS_STAMP = select(COUNTERS.c.value).where(COUNTERS.c.name == AGREEMENTS)
#: Conflict rows, their new ids back in the order the rows were given (one statement on PostgreSQL; SQLAlchemy
#: sends SQLite one per row, as its multi-row RETURNING promises no order).
_INSERT_CONFLICTS = insert(table_of(ConflictRow)).returning(table_of(ConflictRow).c.id, sort_by_parameter_order=True)


def live_token(conn: Connection, token_hash: str) -> tuple[str, str | None, str, str | None] | None:
    """A token that is not revoked, with its party's name, in one query on a plain connection (every
    request asks, so no ORM session): (token id, party id, role, party name)."""
    row = conn.execute(_LIVE_TOKEN, {"token_hash": token_hash}).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


class SqlRepository:
    """All reads and writes of one transaction (one `Session`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: Set when this transaction moves the agreements stamp.
        self.agreements_touched = False

    # -- serialisation of writers -------------------------------------------------------------

    def bump_revision(self) -> int:
        """Take the global write lock (row lock / SQLite reserved lock) and return the new revision (a
        plain statement on the table, not the ORM's bulk update: it runs on every command)."""
        return int(self.session.execute(_BUMP_REVISION).scalar_one())

    def current_revision(self) -> int:
        return int(self.session.execute(select(Counter.value).where(Counter.name == "revision")).scalar_one())

    def agreements_stamp(self) -> int:
        """How many times agreements were written: the in-memory agreement book is rebuilt when it moves."""
        value = self.session.execute(_AGREEMENTS_STAMP).scalar_one_or_none()
        return int(value or 0)

    def touch_agreements(self) -> None:
        """Move the agreements stamp (callers hold the global write lock, so read-then-write is safe)."""
        self.agreements_touched = True
        exists = self.session.execute(select(Counter.value).where(Counter.name == AGREEMENTS)).first()
        if exists is not None:
            self.session.execute(update(Counter).where(Counter.name == AGREEMENTS).values(value=Counter.value + 1))
        else:
            self.session.execute(insert(Counter).values(name=AGREEMENTS, value=1))

    # -- parties and tokens ---------------------------------------------------------------------

    def add_party(self, party: Party) -> None:
        self.session.add(PartyRow(id=party.id, name=party.name, created_at=party.created_at))
        self.session.flush()

    def party_by_name(self, name: str) -> Party | None:
        row = self.session.execute(select(PartyRow).where(PartyRow.name == name)).scalar_one_or_none()
        return None if row is None else Party(row.id, row.name, row.created_at)

    def party(self, party_id: str) -> Party | None:
        row = self.session.get(PartyRow, party_id)
        return None if row is None else Party(row.id, row.name, row.created_at)

    def parties(self) -> list[Party]:
        rows = self.session.execute(select(PartyRow).order_by(PartyRow.name)).scalars()
        return [Party(r.id, r.name, r.created_at) for r in rows]

    def add_token(
        self, token_id: str, party_id: str | None, role: Role, token_hash: str, label: str, now: datetime
    ) -> None:
        self.session.add(
            TokenRow(
                id=token_id, party_id=party_id, role=role.value, token_hash=token_hash, label=label, created_at=now
            )
        )
        self.session.flush()

    def token(self, token_id: str) -> TokenRow | None:
        return self.session.get(TokenRow, token_id)

    # -- agreements -----------------------------------------------------------------------------

    def add_agreement(self, agreement: Agreement, created_at: datetime, version: str, accepted: set[str]) -> None:
        self.touch_agreements()
        self.session.add(
            AgreementRow(
                id=agreement.id,
                name=agreement.name,
                state=agreement.state.value,
                area=None if agreement.area is None else codec.outline_to_doc(agreement.area),
                min_notice_s=agreement.min_notice_s,
                lateral_buffer_m=agreement.buffers.lateral_m,
                vertical_buffer_m=agreement.buffers.vertical_m,
                time_buffer_s=agreement.buffers.time_s,
                late_policy=agreement.late_policy.value,
                ack_deadline_s=agreement.hotline.ack_deadline_s,
                require_ack=agreement.hotline.require_ack,
                escalation_interval_s=agreement.hotline.escalation_interval_s,
                tactical_lateral_m=agreement.live.lateral_m,
                tactical_vertical_m=agreement.live.vertical_m,
                lookahead_s=agreement.live.lookahead_s,
                share_track_identity=agreement.live.share_track_identity,
                version=version,
                created_at=created_at,
            )
        )
        self.session.flush()
        for party_id in sorted(agreement.party_ids):
            self.session.add(
                AgreementMemberRow(
                    agreement_id=agreement.id,
                    party_id=party_id,
                    accepted_at=created_at if party_id in accepted else None,
                )
            )
        self.session.flush()

    def agreement_rows(self, party_id: str | None = None) -> list[tuple[AgreementRow, list[AgreementMemberRow]]]:
        stmt = select(AgreementRow).order_by(AgreementRow.created_at)
        if party_id is not None:
            mine = select(AgreementMemberRow.agreement_id).where(AgreementMemberRow.party_id == party_id)
            stmt = stmt.where(AgreementRow.id.in_(mine))
        rows = list(self.session.execute(stmt).scalars())
        members = list(
            self.session.execute(
                select(AgreementMemberRow).where(AgreementMemberRow.agreement_id.in_([r.id for r in rows]))
            ).scalars()
        )
        return [(r, [m for m in members if m.agreement_id == r.id]) for r in rows]

    def agreement_row(self, agreement_id: str) -> tuple[AgreementRow, list[AgreementMemberRow]] | None:
        row = self.session.get(AgreementRow, agreement_id)
        if row is None:
            return None
        members = list(
            self.session.execute(select(AgreementMemberRow).where(AgreementMemberRow.agreement_id == row.id)).scalars()
        )
        return row, members

    # -- operations -----------------------------------------------------------------------------

    def save_operation(self, op: Operation, revision: int, *, new: bool = False) -> None:
        """Insert or update the operation and replace its extents. `new` says the id was just made,
        so there is no row to look up first: a plain insert of the row and one of its extents."""
        values: dict[str, Any] = {
            "party_id": op.party_id,
            "state": op.state.value,
            "version": op.version,
            "revision": revision,
            "private": codec.private_to_doc(op.private),
            "late_notice": codec.late_to_doc(op.late_notice),
            "created_at": op.created_at,
            "updated_at": op.updated_at,
        }
        if new:
            self.session.execute(insert(table_of(OperationRow)), [{"id": op.id, **values}])
            if op.extents:
                self.session.execute(
                    insert(table_of(ExtentRow)), [_extent_values(op.id, i, v) for i, v in enumerate(op.extents)]
                )
            return
        row = self.session.get(OperationRow, op.id)
        if row is None:
            self.session.add(OperationRow(id=op.id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
            for extent in self.session.execute(select(ExtentRow).where(ExtentRow.operation_id == op.id)).scalars():
                self.session.delete(extent)
        self.session.flush()
        for i, volume in enumerate(op.extents):
            self.session.add(ExtentRow(**_extent_values(op.id, i, volume)))
        self.session.flush()

    def operation(self, op_id: str) -> Operation | None:
        row = self.session.get(OperationRow, op_id)
        return None if row is None else self._operations([row])[0]

    def operations(
        self,
        *,
        party_ids: Iterable[str] | None = None,
        states: Sequence[OperationState] | None = None,
        time_start: datetime | None = None,
        time_end: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        changed_after_revision: int | None = None,
        ids: Iterable[str] | None = None,
    ) -> list[Operation]:
        stmt = select(OperationRow).order_by(OperationRow.created_at.desc(), OperationRow.id)
        if ids is not None:
            stmt = stmt.where(OperationRow.id.in_(list(ids)))
        if party_ids is not None:
            stmt = stmt.where(OperationRow.party_id.in_(list(party_ids)))
        if states:
            stmt = stmt.where(OperationRow.state.in_([s.value for s in states]))
        if changed_after_revision is not None:
            stmt = stmt.where(OperationRow.revision > changed_after_revision)
        if time_start is not None or time_end is not None:
            ext = select(ExtentRow.operation_id)
            if time_end is not None:
                ext = ext.where(ExtentRow.time_start <= time_end)
            if time_start is not None:
                ext = ext.where(ExtentRow.time_end >= time_start)
            stmt = stmt.where(OperationRow.id.in_(ext))
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return self._operations(list(self.session.execute(stmt).scalars()))

    def _operations(self, rows: list[OperationRow]) -> list[Operation]:
        if not rows:
            return []
        # The extents' documents only, as plain rows: a server's first read loads the whole store.
        by_op: dict[str, list[dict[str, Any]]] = {}
        ids = [r.id for r in rows]
        for start in range(0, len(ids), _IN_CHUNK):  # bounded IN lists: SQLite caps bound variables
            chunk = ids[start : start + _IN_CHUNK]
            stmt = (
                select(ExtentRow.operation_id, ExtentRow.volume)
                .where(ExtentRow.operation_id.in_(chunk))
                .order_by(ExtentRow.position)
            )
            for operation_id, volume in self.session.execute(stmt):
                by_op.setdefault(operation_id, []).append(volume)
        # Every extent's outline prepared in one batch.
        volumes = iter(codec.volumes_from_docs([v for r in rows for v in by_op.get(r.id, [])]))
        return [
            Operation(
                id=r.id,
                party_id=r.party_id,
                state=OperationState(r.state),
                extents=tuple(next(volumes) for _ in by_op.get(r.id, [])),
                version=r.version,
                private=codec.private_from_doc(r.private),
                created_at=r.created_at,
                updated_at=r.updated_at,
                late_notice=codec.late_from_doc(r.late_notice),
            )
            for r in rows
        ]

    # -- zones ----------------------------------------------------------------------------------

    def save_zone(self, zone: Zone, revision: int, active: bool = True) -> None:
        row = self.session.get(ZoneRow, zone.id)
        if row is None:
            row = ZoneRow(id=zone.id, created_at=zone.created_at)
            self.session.add(row)
        row.party_id = zone.party_id
        row.name = zone.name
        row.kind = zone.kind.value
        row.volume = codec.volume_to_doc(zone.volume)
        row.version = zone.version
        row.revision = revision
        row.active = active
        self.session.flush()

    def zones(
        self, *, party_ids: Iterable[str] | None = None, changed_after_revision: int | None = None, active: bool = True
    ) -> list[tuple[Zone, bool]]:
        stmt = select(ZoneRow).order_by(ZoneRow.created_at)
        if party_ids is not None:
            stmt = stmt.where(ZoneRow.party_id.in_(list(party_ids)))
        if changed_after_revision is not None:
            stmt = stmt.where(ZoneRow.revision > changed_after_revision)
        elif active:
            stmt = stmt.where(ZoneRow.active.is_(True))
        return [(self._zone(r), r.active) for r in self.session.execute(stmt).scalars()]

    def zone(self, zone_id: str) -> tuple[Zone, bool] | None:
        row = self.session.get(ZoneRow, zone_id)
        return None if row is None else (self._zone(row), row.active)

    @staticmethod
    def _zone(r: ZoneRow) -> Zone:
        return Zone(
            r.id, r.party_id, r.name, ZoneKind(r.kind), codec.volume_from_doc(r.volume), r.version, r.created_at
        )

    # -- conflicts ------------------------------------------------------------------------------

    def insert_conflicts(self, values: Sequence[dict[str, Any]]) -> list[ConflictRow]:
        """Insert conflict rows (column values) in one call, without the ORM's unit of work; returns them with
        their ids, in the same order: plain records of what was written, not tracked by the session."""
        if not values:
            return []
        ids = self.session.connection().execute(_INSERT_CONFLICTS, list(values)).scalars().all()
        return [ConflictRow(id=int(i), **v) for i, v in zip(ids, values, strict=True)]

    def clear_conflicts_of(self, owner_id: str, now: datetime) -> list[ConflictRow]:
        """Mark the owner's open conflicts cleared; returns them."""
        stmt = (
            select(ConflictRow)
            .where(ConflictRow.cleared_at.is_(None))
            .where(or_(ConflictRow.subject_id == owner_id, ConflictRow.other_id == owner_id))
        )
        rows = list(self.session.execute(stmt).scalars())
        for row in rows:
            row.cleared_at = now
        self.session.flush()
        return rows

    def open_conflicts(self, party_id: str | None = None, owner_id: str | None = None) -> list[ConflictRow]:
        stmt = select(ConflictRow).where(ConflictRow.cleared_at.is_(None)).order_by(ConflictRow.id)
        if party_id is not None:
            stmt = stmt.where(or_(ConflictRow.subject_party_id == party_id, ConflictRow.other_party_id == party_id))
        if owner_id is not None:
            stmt = stmt.where(or_(ConflictRow.subject_id == owner_id, ConflictRow.other_id == owner_id))
        return list(self.session.execute(stmt).scalars())


def _extent_values(op_id: str, position: int, volume: Volume4D) -> dict[str, Any]:
    assert volume.time.start is not None
    assert volume.time.end is not None
    return {
        "operation_id": op_id,
        "position": position,
        "volume": codec.volume_to_doc(volume),
        "time_start": volume.time.start,
        "time_end": volume.time.end,
        "altitude_lower_m": volume.altitude.lower_m,
        "altitude_upper_m": volume.altitude.upper_m,
    }


def agreement_from_rows(
    row: AgreementRow, members: list[AgreementMemberRow], area_cache: dict[tuple[str, str], Any]
) -> Agreement:
    key = (row.id, row.version)
    area = None
    if row.area is not None:
        if key not in area_cache:
            area_cache[key] = codec.outline_from_doc(row.area)
        area = area_cache[key]
    return Agreement(
        id=row.id,
        name=row.name,
        party_ids=frozenset(m.party_id for m in members),
        area=area,
        min_notice_s=row.min_notice_s,
        buffers=Buffers(row.lateral_buffer_m, row.vertical_buffer_m, row.time_buffer_s),
        late_policy=LatePolicy(row.late_policy),
        state=AgreementState(row.state),
        hotline=HotlineRules(row.ack_deadline_s, row.require_ack, row.escalation_interval_s),
        live=LiveRules(row.tactical_lateral_m, row.tactical_vertical_m, row.lookahead_s, row.share_track_identity),
    )
