"""Restricted zones ("red lines"): declared by a party's supervisor, checked against others' operations."""

from __future__ import annotations

from dataclasses import dataclass

from deconflict.domain.conflicts import Conflict
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import Volume4D
from deconflict.domain.zones import Zone, ZoneKind
from deconflict.services import conflicts as conflict_store
from deconflict.services.core import Core, new_id, new_version


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
    with core.write() as tx:
        zone = Zone(new_id(), party_id, name.strip(), kind, volume, new_version(), tx.now)
        tx.repo.save_zone(zone, tx.revision)
        found = conflict_store.refresh_zone(core, tx, zone, True)
        tx.reindex_zone(zone, True)
    return ZoneResult(zone, found)


def delete_zone(core: Core, principal: Principal, zone_id: str) -> None:
    party_id = _supervisor(principal)
    with core.write() as tx:
        found = tx.repo.zone(zone_id)
        if found is None or found[0].party_id != party_id or not found[1]:
            raise NotFound(f"no zone {zone_id}", field="zone_id")
        zone = found[0]
        tx.repo.save_zone(zone, tx.revision, active=False)
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
