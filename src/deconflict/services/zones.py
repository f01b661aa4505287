"""Restricted zones ("red lines"): declared by a party's supervisor, checked against others' operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deconflict.domain.conflicts import Conflict
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import Volume4D
from deconflict.domain.zones import Zone, ZoneKind
from deconflict.services import conflicts as conflict_store
from deconflict.services.core import Core, WriteTx, new_id, new_version
from deconflict.services.views import volume_doc


@dataclass(frozen=True)
class ZoneResult:
    zone: Zone
    conflicts: list[Conflict]


def _supervisor(principal: Principal) -> str:
    if principal.party_id is None or not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("declaring and removing zones needs a supervisor token")
    return principal.party_id


def create_zone(core: Core, principal: Principal, name: str, kind: ZoneKind, volume: Volume4D) -> ZoneResult:
    party_id = _supervisor(principal)
    if not name.strip() or len(name) > 200:
        raise InvalidInput("zone name must be 1-200 characters", field="name")
    with core.write(principal) as tx:
        zone = Zone(new_id(), party_id, name.strip(), kind, volume, new_version(), tx.now)
        tx.repo.save_zone(zone, tx.revision)
        _announce(tx, "zone.declared", zone)
        found = conflict_store.refresh_zone(core, tx, zone, True)
        tx.reindex_zone(zone, True)
    return ZoneResult(zone, found)


def zone_doc(zone: Zone) -> dict[str, Any]:
    """A zone as every party bound to its owner sees it (zones are public within agreements)."""
    return {
        "id": zone.id,
        "party_id": zone.party_id,
        "name": zone.name,
        "kind": zone.kind.value,
        "volume": volume_doc(zone.volume),
        "version": zone.version,
    }


def _announce(tx: WriteTx, action: str, zone: Zone) -> None:
    parties = {zone.party_id} | tx.book.counterparts(zone.party_id)
    doc = zone_doc(zone)
    tx.audit(action, ("zone", zone.id), doc, parties)
    for party in sorted(parties):
        tx.emit(party, action, doc)


def delete_zone(core: Core, principal: Principal, zone_id: str) -> None:
    party_id = _supervisor(principal)
    with core.write(principal) as tx:
        found = tx.repo.zone(zone_id)
        if found is None or found[0].party_id != party_id or not found[1]:
            raise NotFound(f"no zone {zone_id}", field="zone_id")
        zone = found[0]
        tx.repo.save_zone(zone, tx.revision, active=False)
        _announce(tx, "zone.removed", zone)
        conflict_store.refresh_zone(core, tx, zone, False)
        tx.reindex_zone(zone, False)


def list_zones(core: Core, principal: Principal) -> list[Zone]:
    """The caller's zones and those of parties it shares an agreement with (zones are public to them)."""
    if principal.party_id is None:
        raise Forbidden("listing zones needs a party token")
    with core.read() as repo:
        book = core.book(repo)
        visible = {principal.party_id} | book.counterparts(principal.party_id)
        return [z for z, _ in repo.zones(party_ids=visible)]
