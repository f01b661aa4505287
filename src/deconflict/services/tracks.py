"""Track ingest and the live picture as each party may see it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deconflict.domain.clock import ReplayClock
from deconflict.domain.disclosure import TrackDisclosure, TrackIdentity
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal, Role
from deconflict.domain.track_input import Checked, ReportLimits, check_reports, report_time
from deconflict.domain.tracks import Ageing, Freshness, TrackState
from deconflict.services.core import Core
from deconflict.storage.tables import ServiceKeyRow, TrackReportRow


def ingest(core: Core, principal: Principal, reports: Sequence[Any], limits: ReportLimits) -> Checked:
    """Keep the good reports of a batch, reject the bad ones with reasons; one transaction."""
    if principal.party_id is None or not principal.at_least(Role.OPERATOR):
        raise Forbidden("reporting tracks needs an operator or supervisor token of a party")
    party_id = principal.party_id
    if isinstance(core.clock, ReplayClock):
        core.clock.follow(_replayed_time(core.clock, reports, limits.max_age_s))
    with core.tracks.holding():
        with core.write(principal) as tx:
            core.tracks.follow(tx.repo.session, tx.now)
            checked = check_reports(reports, party_id, tx.now, core.tracks.of_party(party_id), limits)
            if not checked.accepted:
                tx.abandon()
                return checked
            _insert(tx.repo.session, checked.accepted, tx.now.timestamp())
            last_id = tx.repo.session.scalar(select(func.max(TrackReportRow.id))) or 0
        core.tracks.apply(checked.accepted, last_id)
    return checked


_COLUMNS = (
    "party_id",
    "aircraft_id",
    "callsign",
    "at_s",
    "lat_deg",
    "lng_deg",
    "alt_m",
    "ground_speed_mps",
    "track_deg",
    "vertical_rate_mps",
    "received_at_s",
)


def _insert(session: Session, states: Sequence[TrackState], received_s: float) -> None:
    """One executemany of plain tuples: a feed writes thousands of rows a second, and building
    ORM parameters per row would cost more than the insert itself."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(_COLUMNS))
    sql = f"INSERT INTO {TrackReportRow.__tablename__} ({', '.join(_COLUMNS)}) VALUES ({marks})"
    rows = [
        (
            s.party_id,
            s.aircraft_id,
            s.callsign,
            s.at.timestamp(),
            s.lat_deg,
            s.lng_deg,
            s.alt_m,
            s.ground_speed_mps,
            s.track_deg,
            s.vertical_rate_mps,
            received_s,
        )
        for s in states
    ]
    conn.exec_driver_sql(sql, rows)


def _replayed_time(clock: ReplayClock, reports: Sequence[Any], max_step_s: float) -> datetime | None:
    """Where a replay clock moves for this batch. The first batch sets it at its median time; later,
    to the latest time within `max_step_s` of the clock (one rogue report cannot drag the clock to
    the year 2030), or to the batch's earliest time when the whole batch is past that (the recording
    skips ahead)."""
    times = sorted(
        t for raw in reports if isinstance(raw, dict) and isinstance(t := report_time(raw.get("time")), datetime)
    )
    if not times:
        return None
    if not clock.started:
        return times[len(times) // 2]
    horizon = clock.now() + timedelta(seconds=max_step_s)
    near = [t for t in times if t <= horizon]
    return near[-1] if near else times[0]


#: At most this many reports are deleted per scheduler round, so a backlog never holds the store long.
PRUNE_BATCH = 50_000


def prune_history(core: Core, retention_s: float, batch: int = PRUNE_BATCH) -> int:
    """Delete the oldest position reports past `retention_s` (up to `batch` of them); returns how many.

    Not a command: it changes nothing a party sees (the live picture keeps 300 s at most, alerts keep
    their own copy of the tracks), so it takes no write lock and leaves no audit entry."""
    horizon_s = core.clock.now().timestamp() - retention_s
    t = TrackReportRow
    with core.engine.begin() as conn:
        oldest = select(t.id).where(t.at_s < horizon_s).order_by(t.id).limit(batch)
        deleted = conn.execute(delete(t).where(t.id.in_(oldest.scalar_subquery()))).rowcount
    return int(deleted or 0)


def alias_key(core: Core, session: Session) -> bytes:
    """The deployment's key for counterparts' track aliases (made by the 0003 migration, or here
    if it is missing; the first replica to store one wins)."""
    if core.alias_key is None:
        row = session.get(ServiceKeyRow, "track_alias")
        if row is None:
            try:
                with core.engine.begin() as conn:
                    conn.execute(insert(ServiceKeyRow).values(name="track_alias", value=secrets.token_hex(32)))
            except IntegrityError:
                pass
            with Session(core.engine) as fresh:
                row = fresh.get(ServiceKeyRow, "track_alias")
        assert row is not None
        core.alias_key = bytes.fromhex(row.value)
    return core.alias_key


@dataclass(frozen=True)
class TrackOut:
    identity: TrackIdentity
    state: TrackState
    freshness: Freshness
    #: Seconds since the report, at the same `now` as `freshness`.
    age_s: float


def live_picture(core: Core, principal: Principal, ageing: Ageing) -> list[TrackOut]:
    """Every track the principal's party may see: its own, and counterparts' inside shared areas."""
    viewer = principal.party_id
    if viewer is None:
        raise Forbidden("the live picture is per party: use a party token")
    with core.read() as repo:
        now = core.clock.now()
        core.tracks.follow(repo.session, now)
        disclosure = TrackDisclosure(viewer, core.book(repo), alias_key(core, repo.session))
    by_owner: dict[str, list[TrackState]] = {}
    for s in core.tracks.all(now):
        by_owner.setdefault(s.party_id, []).append(s)
    out: list[TrackOut] = []
    for owner, states in sorted(by_owner.items()):
        lat = np.array([s.lat_deg for s in states])
        lng = np.array([s.lng_deg for s in states])
        named = disclosure.named(owner, lat, lng)
        for s, seen, nm in zip(states, disclosure.visible(owner, lat, lng), named, strict=True):
            if seen:
                who = disclosure.identity(owner, s.aircraft_id, s.callsign, True, bool(nm))
                out.append(TrackOut(who, s, ageing.freshness(s, now), (now - s.at).total_seconds()))
    return out
