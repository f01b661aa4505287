"""/api/v1/audit: the entries a party is party to, the signed checkpoints, and verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from deconflict.api.deps import CoreDep, CurrentPrincipal
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Role
from deconflict.services import audit
from deconflict.storage.journal import MAX_CHECKPOINT_ID, MAX_SEQ

router = APIRouter(prefix="/audit", tags=["audit"])


def _signer(request: Request) -> audit.Signer:
    signer: audit.Signer = request.app.state.signer
    return signer


@router.get("")
def my_entries(
    core: CoreDep,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="entries after this sequence number")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The chain entries that concern the caller's party (all, for an admin), with their hashes.
    Keep them with a later checkpoint: together they prove what the record said."""
    entries = audit.entries_for(core, principal, after, limit)
    return {"entries": [e.to_doc() for e in entries], "next_after": entries[-1].seq if entries else after}


@router.get("/key")
def public_key(request: Request) -> dict[str, str]:
    """The service's Ed25519 public key: checkpoint signatures verify against it."""
    signer = _signer(request)
    return {"algorithm": "Ed25519", "public_key_hex": signer.public_key_hex, "key_id": signer.key_id}


@router.get("/checkpoints")
def checkpoints(
    core: CoreDep,
    _principal: CurrentPrincipal,
    after_id: Annotated[int, Query(ge=0, le=MAX_CHECKPOINT_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[dict[str, Any]]:
    return [cp.to_doc() for cp in audit.list_checkpoints(core, after_id, limit)]


@router.post("/checkpoints", status_code=status.HTTP_201_CREATED)
def make_checkpoint(request: Request, core: CoreDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Sign the chain head now (supervisors and admins)."""
    if not (principal.role is Role.ADMIN or principal.at_least(Role.SUPERVISOR)):
        raise Forbidden("an on-demand checkpoint needs a supervisor or admin token")
    cp = audit.checkpoint(core, _signer(request), principal)
    assert cp is not None
    return cp.to_doc()


@router.get("/verify")
async def verify(request: Request, core: CoreDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Recompute the whole chain and check every checkpoint signature (supervisors and admins)."""
    if not (principal.role is Role.ADMIN or principal.at_least(Role.SUPERVISOR)):
        raise Forbidden("verifying the whole chain needs a supervisor or admin token")
    verdict = await run_in_threadpool(audit.verify, core, _signer(request).public_key_hex)
    return audit.verdict_doc(verdict)
