"""Dependencies: the service core, the clock's `now`, and the authenticated principal.

All are `async`: FastAPI runs a plain `def` dependency in its thread pool, a hand-over to a worker thread
and back per dependency and request (0.3-0.6 ms on a two-core virtual machine, where the other thread's
CPU has often gone idle). `get_principal` reads the store: on SQLite, a local file, it does so on the
event loop (one indexed lookup, well under a millisecond); a PostgreSQL server may be a network round
trip away, so there it still hands the lookup to the thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from deconflict.api.errors import Unauthorized
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal, Role
from deconflict.services.core import Core
from deconflict.services.parties import authenticate
from deconflict.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="a party or admin token issued by `deconflict party add`")


async def get_core(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CoreDep = Annotated[Core, Depends(get_core)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(
    core: CoreDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    token, admin_token = credentials.credentials, settings.admin_token
    if core.engine.dialect.name == "sqlite":
        principal = authenticate(core, token, admin_token)
    else:
        principal = await run_in_threadpool(authenticate, core, token, admin_token)
    if principal is None:
        raise Unauthorized("unknown or revoked token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_party_principal(principal: CurrentPrincipal) -> Principal:
    if principal.party_id is None:
        raise Forbidden("this endpoint needs a party token, not an admin token")
    return principal


async def get_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.ADMIN:
        raise Forbidden("this endpoint needs an admin token")
    return principal


PartyPrincipal = Annotated[Principal, Depends(get_party_principal)]
AdminPrincipal = Annotated[Principal, Depends(get_admin)]
