"""/api/v1/zones: restricted zones ("red lines")."""

from __future__ import annotations

from fastapi import APIRouter, status

from deconflict.api import convert
from deconflict.api import schemas as s
from deconflict.api.deps import CoreDep, PartyPrincipal
from deconflict.domain.zones import ZoneKind
from deconflict.services import zones

router = APIRouter(prefix="/zones", tags=["zones"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_zone(body: s.ZoneCreate, core: CoreDep, principal: PartyPrincipal) -> s.ZoneCreated:
    """Declare a zone (supervisor). Time bounds may be omitted for a standing zone."""
    volume = convert.volume(body.volume, core.clock.now(), core.limits, "volume", open_ended=True)
    result = zones.create_zone(core, principal, body.name, ZoneKind(body.kind), volume)
    z = result.zone
    return s.ZoneCreated(
        zone=convert.zone_out(z),
        conflicts=[convert.conflict_out(c, "zone", z.id, z.party_id) for c in result.conflicts],
    )


@router.get("")
def list_zones(core: CoreDep, principal: PartyPrincipal) -> list[s.ZoneOut]:
    return [convert.zone_out(z) for z in zones.list_zones(core, principal)]


@router.delete("/{zone_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_zone(zone_id: str, core: CoreDep, principal: PartyPrincipal) -> None:
    zones.delete_zone(core, principal, zone_id)
