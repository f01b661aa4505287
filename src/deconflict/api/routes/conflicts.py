"""/api/v1/conflicts: the current conflicts of the caller's party, from its side."""

from __future__ import annotations

from fastapi import APIRouter

from deconflict.api import schemas as s
from deconflict.api.deps import CoreDep, PartyPrincipal
from deconflict.services import conflicts

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("")
def list_conflicts(core: CoreDep, principal: PartyPrincipal) -> list[s.ConflictOut]:
    with core.read() as repo:
        return [s.ConflictOut(**c) for c in conflicts.open_for_party(repo, principal.party_id or "")]
