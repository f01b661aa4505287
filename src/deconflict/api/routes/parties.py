"""/api/v1/parties and /api/v1/tokens: parties (admin) and their credentials."""

from __future__ import annotations

from fastapi import APIRouter, status

from deconflict.api import schemas as s
from deconflict.api.deps import AdminPrincipal, CoreDep, CurrentPrincipal
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Role
from deconflict.services import parties

router = APIRouter(tags=["parties"])


@router.post("/parties", status_code=status.HTTP_201_CREATED)
def create_party(body: s.PartyCreate, core: CoreDep, admin: AdminPrincipal) -> s.PartyCreated:
    """Create a party with a first token (shown only in this response)."""
    party, token = parties.create_party(core, body.name, Role(body.role), actor=admin)
    return s.PartyCreated(party=s.PartyOut(id=party.id, name=party.name, created_at=party.created_at), token=token)


@router.get("/parties")
def list_parties(core: CoreDep, _admin: AdminPrincipal) -> list[s.PartyOut]:
    with core.read() as repo:
        return [s.PartyOut(id=p.id, name=p.name, created_at=p.created_at) for p in repo.parties()]


@router.get("/me")
def whoami(principal: CurrentPrincipal) -> dict[str, str | None]:
    """The caller's party and role."""
    return {"party_id": principal.party_id, "party": principal.party_name, "role": principal.role.value}


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def issue_token(body: s.TokenCreate, core: CoreDep, principal: CurrentPrincipal) -> s.TokenCreated:
    """Admins issue any token; a supervisor issues tokens of its own party up to its own role."""
    role = Role(body.role)
    allowed = principal.at_least(Role.SUPERVISOR) and body.party == principal.party_name and role is not Role.ADMIN
    if principal.role is not Role.ADMIN and not allowed:
        raise Forbidden("a supervisor can only issue non-admin tokens for its own party")
    token_id, token = parties.issue_token(core, body.party, role, body.label, actor=principal)
    return s.TokenCreated(id=token_id, token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: str, core: CoreDep, principal: CurrentPrincipal) -> None:
    if principal.role is Role.ADMIN:
        parties.revoke_token(core, token_id, actor=principal)
        return
    if not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("revoking tokens needs a supervisor or admin token")
    parties.revoke_token(core, token_id, party_id=principal.party_id, actor=principal)
