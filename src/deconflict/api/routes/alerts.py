"""/api/v1/alerts: open and recent alerts of the live picture, as the party may see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from deconflict.api import schemas as s
from deconflict.api.deps import CoreDep, PartyPrincipal
from deconflict.services import alerts

router = APIRouter(prefix="/alerts", tags=["live picture"])


@router.get("")
def list_alerts(
    core: CoreDep,
    principal: PartyPrincipal,
    open_only: Annotated[bool, Query(description="only alerts still open")] = False,
    recent_s: Annotated[float, Query(gt=0, le=7 * 86400, description="also those cleared this recently")] = 3600.0,
) -> list[s.AlertOut]:
    """Loss-of-separation, intrusion and non-conformance alerts that concern the party, newest first.

    `detail` holds the latest numbers (time to loss, distances at CPA, time to entry, how far outside)."""
    return [s.AlertOut.model_validate(doc) for doc in alerts.list_alerts(core, principal, recent_s, open_only)]
