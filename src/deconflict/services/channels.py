"""Channel health: whether each party has a live connection, as its counterparts see it.

A party is "seen" while one of its stream connections (SSE or WebSocket) is open, through the
heartbeats those connections send, and when it polls `GET /events`. With no sign of life for
`Core.degraded_after_s` (default 2 min) its channel is `degraded`: counterparts are told, and
notices sent to it meanwhile are marked as sent into a degraded channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from deconflict.domain import hotline as h
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal
from deconflict.services.core import SYSTEM, Core
from deconflict.storage.tables import PartyRow

#: Built once: every filing asks (building the statement cost more than running it).
_LAST_SEEN = select(PartyRow.id, PartyRow.last_seen_at).where(PartyRow.id.in_(bindparam("ids", expanding=True)))


def channel_states(core: Core, session: Session, party_ids: Iterable[str], now: datetime) -> dict[str, h.ChannelState]:
    """The channel state of each party (one query)."""
    ids = list(party_ids)
    rows = session.connection().execute(_LAST_SEEN, {"ids": ids}) if ids else ()
    seen = {pid: last for pid, last in rows}
    return {p: h.channel_state(seen.get(p), now, core.degraded_after_s) for p in ids}


def touch(core: Core, party_id: str) -> None:
    """Record a sign of life (not audited: the state changes it causes are)."""
    with core.engine.begin() as conn:
        conn.execute(update(PartyRow).where(PartyRow.id == party_id).values(last_seen_at=core.clock.now()))


def list_channels(core: Core, principal: Principal) -> list[dict[str, Any]]:
    """Each channel the caller has (one per counterpart), with both ends' state."""
    if principal.party_id is None:
        raise Forbidden("channels belong to parties: use a party token")
    me = principal.party_id
    now = core.clock.now()
    with core.read() as repo:
        counterparts = core.book(repo).counterparts(me)
        rows = {r.id: r for r in repo.session.execute(select(PartyRow)).scalars() if r.id in counterparts | {me}}
    own = rows[me]
    out = []
    for pid in sorted(counterparts, key=lambda p: rows[p].name if p in rows else p):
        them = rows.get(pid)
        if them is None:
            continue
        out.append(
            {
                "counterpart": {"id": them.id, "name": them.name},
                "state": h.channel_state(them.last_seen_at, now, core.degraded_after_s).value,
                "counterpart_last_seen_at": _iso(them.last_seen_at),
                "own_state": h.channel_state(own.last_seen_at, now, core.degraded_after_s).value,
                "own_last_seen_at": _iso(own.last_seen_at),
            }
        )
    return out


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def refresh_states(core: Core) -> int:
    """Tell counterparts when a party's channel goes degraded or comes back; returns the changes."""
    now = core.clock.now()
    with core.read() as repo:
        changed = [
            r.id
            for r in repo.session.execute(select(PartyRow)).scalars()
            if h.channel_state(r.last_seen_at, now, core.degraded_after_s).value != r.channel_state
        ]
    if not changed:
        return 0
    count = 0
    with core.write(SYSTEM) as tx:
        for row in tx.repo.session.execute(select(PartyRow).where(PartyRow.id.in_(changed))).scalars():
            state = h.channel_state(row.last_seen_at, tx.now, core.degraded_after_s)
            if state.value == row.channel_state:
                continue
            row.channel_state = state.value
            doc = {"party_id": row.id, "party": row.name, "state": state.value, "last_seen_at": _iso(row.last_seen_at)}
            audience = {row.id} | tx.book.counterparts(row.id)
            for p in sorted(audience):
                tx.emit(p, "channel", doc)
            tx.audit(f"channel.{state.value}", ("party", row.id), doc, audience)
            count += 1
        if not count:
            tx.abandon()
    return count
