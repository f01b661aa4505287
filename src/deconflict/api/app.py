"""The application factory: nothing connects or reads files until `create_app` is called."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from deconflict import __version__
from deconflict.api import errors
from deconflict.api.deps import CoreDep
from deconflict.api.middleware import BodyGuard
from deconflict.api.routes import agreements, conflicts, operations, parties, zones
from deconflict.api.schemas import Health
from deconflict.domain.clock import Clock, SystemClock
from deconflict.domain.volumes import Limits
from deconflict.services.core import Core
from deconflict.settings import Settings
from deconflict.storage.database import make_engine, upgrade


def build_core(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Core:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    limits = Limits(max_area_m2=settings.max_area_km2 * 1e6, max_vertices=settings.max_vertices)
    return Core(engine, clock or SystemClock(), limits)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, core: Core | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        core: Core = app.state.core
        await run_in_threadpool(core.warm_up)
        # The loaded index is millions of long-lived objects: keep them out of the cyclic GC's
        # full collections, which would otherwise pause a filing for seconds on a large store.
        gc.freeze()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="deconflict",
        version=__version__,
        summary="Open, multi-party airspace deconfliction: 4D filing and exact strategic conflict detection.",
    )
    app.state.settings = settings
    app.state.core = core or build_core(settings, clock)
    errors.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)

    api = APIRouter(prefix="/api/v1")
    for module in (parties, agreements, operations, zones, conflicts):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", tags=["health"])
    def healthz(core: CoreDep) -> Health:
        with core.read() as repo:
            repo.current_revision()  # the store answers
        return Health(status="ok", version=__version__, server_time=core.clock.now())

    return app
