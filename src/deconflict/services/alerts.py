"""Alerts in the store and as each party may see them.

A transition of the alert lifecycle (raised / updated / cleared) is one write: the alert row, an
`alert` event to every party it concerns (each with its own view of the tracks) and an audit entry
holding only what all of them may see (tracks by alias). Non-conformance also moves its operation
to `nonconforming` and back, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, true, update

from deconflict.domain.alerts import Change, Transition
from deconflict.domain.disclosure import TrackDisclosure, TrackIdentity, track_alias
from deconflict.domain.errors import Forbidden
from deconflict.domain.operations import OperationState, transition
from deconflict.domain.parties import Principal
from deconflict.domain.tactical import Level
from deconflict.domain.tracks import TrackState, wire_units
from deconflict.domain.watch import NONCONFORMANCE, Condition
from deconflict.services import tracks as track_service
from deconflict.services.core import SYSTEM, Core, WriteTx, new_id, new_version
from deconflict.storage.tables import AlertRow, LeaseRow

#: (owner, aircraft id, callsign, lat, lng) -> how one viewer may see that track there.
Identify = Callable[[str, str, str | None, float, float], TrackIdentity]
#: "open = 1" on SQLite: the condition of the partial index of open alerts by key (`open IS 1`,
#: what `.is_(True)` writes, would not use it).
_OPEN = AlertRow.open == true()


def level_name(level: int) -> str:
    return Level(level).name.lower()


def record(
    core: Core, transitions: Sequence[Transition], conditions: Mapping[str, Condition], lease: tuple[str, str]
) -> None:
    """Write the cycle's transitions; `conditions` holds the latest condition of every key involved.

    Nothing is written unless `lease` (name, holder) is still held: a replica that lost it
    mid-cycle (a stall longer than the lease) leaves the alerts to the one that took over.
    """
    with core.write(SYSTEM) as tx:
        name, holder = lease
        held = tx.repo.session.get(LeaseRow, name)
        if held is None or held.holder != holder or held.until < tx.now:
            tx.abandon()
            return
        key = track_service.alias_key(core, tx.repo.session)
        views: dict[str, TrackDisclosure] = {}
        for change in transitions:
            cond = conditions.get(str(change.alert.key))
            row = _apply(tx, change, cond)
            if row is None:
                continue
            told = [views.setdefault(p, TrackDisclosure(p, tx.book, key)) for p in row.parties]
            for disclosure in told:
                doc = alert_doc(row, disclosure.describe)
                tx.emit(disclosure.viewer, "alert", {"change": change.change.value, **doc})
            public = {"change": change.change.value, **alert_doc(row, _common(key, told))}
            tx.audit(f"alert.{change.change.value}", ("alert", row.id), public, row.parties)
            if row.kind == NONCONFORMANCE and row.subjects.get("operation_id"):
                _conformance(tx, row.subjects["operation_id"])


def _apply(tx: WriteTx, change: Transition, cond: Condition | None) -> AlertRow | None:
    """The alert's row after the transition; `cond` is None for an alert resumed from the store."""
    session = tx.repo.session
    key = str(change.alert.key)
    found = session.execute(select(AlertRow).where(AlertRow.key == key, _OPEN)).scalar()
    if change.change is Change.RAISED and found is None:
        assert cond is not None, "a raised alert was just observed"
        row = AlertRow(
            id=new_id(),
            kind=cond.kind,
            key=cond.key,
            open=True,
            parties=sorted(cond.parties),
            raised_at=tx.now,
            cleared_at=None,
        )
        session.add(row)
    else:
        if found is None:  # cleared meanwhile (another replica held the cycle): nothing left to move
            return None
        row = found
    row.level = level_name(change.alert.level)
    if cond is not None:
        row.subjects = _subjects(cond)
        row.detail = dict(cond.numbers)
    row.updated_at = tx.now
    if change.change is Change.CLEARED:
        row.open = False
        row.cleared_at = tx.now
    return row


def _subjects(cond: Condition) -> dict[str, Any]:
    return {
        "tracks": [_track_doc(s) for s in cond.tracks],
        "zone": None if (z := cond.zone) is None else {"id": z.id, "kind": z.kind.value, "name": z.name},
        "operation_id": cond.operation_id,
    }


def _track_doc(s: TrackState) -> dict[str, Any]:
    """A track as the alert row keeps it (SI units, with its identity; never sent as it is)."""
    return {
        "party_id": s.party_id,
        "aircraft_id": s.aircraft_id,
        "callsign": s.callsign,
        "at": s.at.astimezone(UTC).isoformat(),
        "lat_deg": s.lat_deg,
        "lng_deg": s.lng_deg,
        "alt_m": s.alt_m,
        "ground_speed_mps": s.ground_speed_mps,
        "track_deg": s.track_deg,
        "vertical_rate_mps": s.vertical_rate_mps,
    }


def _common(key: bytes, told: Sequence[TrackDisclosure]) -> Identify:
    """What every party told may see, for the audit record: the alias, and the position only where
    all of them may see it."""

    def identify(owner: str, aircraft_id: str, callsign: str | None, lat_deg: float, lng_deg: float) -> TrackIdentity:
        located = all(d.describe(owner, aircraft_id, callsign, lat_deg, lng_deg).located for d in told)
        return TrackIdentity(owner, track_alias(key, owner, aircraft_id), None, None, located)

    return identify


def _wire_track(t: dict[str, Any], who: TrackIdentity) -> dict[str, Any]:
    """A kept track as one viewer may see it, in the wire units (ft, kt, ft/min)."""
    out: dict[str, Any] = {
        "track": who.alias,
        "party_id": t["party_id"],
        "aircraft_id": who.aircraft_id,
        "callsign": who.callsign,
    }
    if not who.located:  # outside every area the viewer shares with the owner: no position
        return out | dict.fromkeys(_POSITION)
    return out | {
        "at": t["at"],
        "lat_deg": t["lat_deg"],
        "lng_deg": t["lng_deg"],
        "track_deg": t["track_deg"],
        **wire_units(t["alt_m"], t["ground_speed_mps"], t["vertical_rate_mps"]),
    }


_POSITION = ("at", "lat_deg", "lng_deg", "altitude_ft", "ground_speed_kt", "track_deg", "vertical_rate_fpm")


def alert_doc(row: AlertRow, identify: Identify) -> dict[str, Any]:
    """The alert as one viewer may see it: tracks per `identify` (the disclosure rules)."""
    tracks = [
        _wire_track(t, identify(t["party_id"], t["aircraft_id"], t["callsign"], t["lat_deg"], t["lng_deg"]))
        for t in row.subjects.get("tracks", [])
    ]
    return {
        "id": row.id,
        "kind": row.kind,
        "level": row.level,
        "open": row.open,
        "parties": list(row.parties),
        "raised_at": row.raised_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "cleared_at": None if row.cleared_at is None else row.cleared_at.isoformat(),
        "tracks": tracks,
        "zone": row.subjects.get("zone"),
        "operation_id": row.subjects.get("operation_id"),
        "detail": dict(row.detail),
    }


def _conformance(tx: WriteTx, operation_id: str) -> None:
    """The operation is non-conforming while any of its non-conformance alerts is open."""
    op = tx.repo.operation(operation_id)
    if op is None or op.state not in (OperationState.ACTIVATED, OperationState.NONCONFORMING):
        return
    concerned = tx.repo.session.execute(
        select(AlertRow.id).where(AlertRow.key.like(f"{NONCONFORMANCE}|{op.id}|%"), _OPEN).limit(1)
    ).first()
    action = "nonconform" if concerned else "conform"
    wanted = OperationState.NONCONFORMING if concerned else OperationState.ACTIVATED
    if op.state is wanted:
        return
    updated = replace(op, state=transition(op.state, action), version=new_version(), updated_at=tx.now)
    tx.repo.save_operation(updated, tx.revision)
    told = tx.book.audience(op.party_id, (e.outline for e in op.extents))
    # Its own names: going back to `activated` here is not an activation (no notice, no gate).
    what = "operation.nonconforming" if concerned else "operation.conforming"
    doc = {"operation_id": op.id, "version": updated.version, "state": updated.state.value}
    tx.audit(what, ("operation", op.id), doc, told)
    for party in sorted(told):
        tx.emit(party, what, doc)
    tx.reindex_operation(updated)


def refresh_details(core: Core, conditions: Mapping[str, Condition]) -> None:
    """The latest numbers of open alerts (time to loss, distances), without a new transition."""
    if not conditions:
        return
    table = cast(Table, AlertRow.__table__)
    stmt = (
        update(table)
        .where(table.c.key == bindparam("b_key"), table.c.open == true())
        .values(detail=bindparam("b_detail"), subjects=bindparam("b_subjects"))
    )
    rows = [{"b_key": k, "b_detail": dict(c.numbers), "b_subjects": _subjects(c)} for k, c in conditions.items()]
    with core.engine.begin() as conn:  # one statement, executed for every row
        conn.execute(stmt, rows)


def list_alerts(core: Core, principal: Principal, recent_s: float, open_only: bool) -> list[dict[str, Any]]:
    """Open alerts, and those cleared within `recent_s`, that concern the principal's party."""
    viewer = principal.party_id
    if viewer is None:
        raise Forbidden("alerts are per party: use a party token")
    with core.read() as repo:
        now = core.clock.now()
        stmt = select(AlertRow).order_by(AlertRow.raised_at.desc())
        if open_only:
            stmt = stmt.where(_OPEN)
        else:
            stmt = stmt.where(or_(_OPEN, AlertRow.cleared_at >= now - timedelta(seconds=recent_s)))
        rows = [r for r in repo.session.execute(stmt).scalars() if viewer in r.parties]
        disclosure = TrackDisclosure(viewer, core.book(repo), track_service.alias_key(core, repo.session))
        return [alert_doc(r, disclosure.describe) for r in rows]


def open_since(core: Core) -> dict[str, tuple[int, datetime]]:
    """Open alerts in the store: key -> (level, last update), to resume the lifecycle after a restart."""
    with core.read() as repo:
        rows = repo.session.execute(select(AlertRow).where(_OPEN)).scalars()
        return {r.key: (int(Level[r.level.upper()]), r.updated_at) for r in rows}
