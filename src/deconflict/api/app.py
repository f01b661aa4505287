"""The application factory: nothing connects or reads files until `create_app` is called."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from deconflict import __version__
from deconflict.api import errors
from deconflict.api.deps import CoreDep
from deconflict.api.middleware import BodyGuard
from deconflict.api.routes import (
    agreements,
    alerts,
    audit,
    conflicts,
    hotline,
    operations,
    parties,
    stream,
    tracks,
    webhooks,
    zones,
)
from deconflict.api.schemas import Health
from deconflict.api.streaming import Broker, ReceiptBatcher
from deconflict.domain.alerts import Hysteresis
from deconflict.domain.clock import Clock, ReplayClock, SystemClock
from deconflict.domain.tactical import Thresholds
from deconflict.domain.tracks import Ageing
from deconflict.domain.volumes import Limits
from deconflict.domain.watch import WatchRules
from deconflict.services.audit import Signer
from deconflict.services.core import Core
from deconflict.services.live import LiveMonitor
from deconflict.services.scheduler import Ticker
from deconflict.services.webhooks import WebhookSender
from deconflict.settings import Settings
from deconflict.storage.database import make_engine, upgrade
from deconflict.web import site

log = logging.getLogger(__name__)


def build_core(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Core:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    limits = Limits(max_area_m2=settings.max_area_km2 * 1e6, max_vertices=settings.max_vertices)
    return Core(engine, clock or SystemClock(), limits, degraded_after_s=settings.degraded_after_s)


def build_monitor(core: Core, settings: Settings) -> LiveMonitor:
    core.tracks.drop_after_s = settings.track_drop_after_s
    rules = WatchRules(
        thresholds=Thresholds(warning_s=settings.alert_warning_s, caution_s=settings.alert_caution_s),
        same_party=settings.tactical_same_party,
        conformance_lateral_m=settings.conformance_lateral_m,
        conformance_vertical_m=settings.conformance_vertical_m,
    )
    return LiveMonitor(
        core,
        rules,
        Ageing(settings.track_stale_after_s, settings.track_drop_after_s),
        Hysteresis(settings.alert_hold_s, settings.alert_hold_s),
        settings.cycle_s,
    )


async def _every(period_s: float, work: Callable[[], object], what: str) -> None:
    """Run blocking `work` in a thread every `period_s` (start to start; a round that overruns is
    followed at once by the next); a failing round is logged, not fatal."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await run_in_threadpool(work)
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(max(0.0, period_s - (loop.time() - started)))


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
        broker: Broker = app.state.broker
        sender = WebhookSender(core, settings.webhook_timeout_s, settings.webhook_max_backoff_s)
        app.state.webhook_sender = sender

        def wake(parties: set[str]) -> None:
            sender.nudge()

        listeners = [broker.attach(asyncio.get_running_loop()), wake]
        core.listeners.extend(listeners)
        ticker = Ticker(core, app.state.signer, settings.checkpoint_interval_s, settings.track_retention_s)
        broker.receipts = ReceiptBatcher(core)
        tasks = [
            asyncio.ensure_future(_every(settings.tick_s, ticker.tick, "scheduler tick")),
            asyncio.ensure_future(sender.run()),
            asyncio.ensure_future(broker.receipts.run()),
        ]
        if not settings.replay:  # in replay mode, cycles follow the replayed reports instead
            tasks.append(asyncio.ensure_future(_every(settings.cycle_s, app.state.monitor.cycle, "live cycle")))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for listener in listeners:
                core.listeners.remove(listener)

    app = FastAPI(
        lifespan=lifespan,
        title="deconflict",
        version=__version__,
        summary="Open, multi-party airspace deconfliction: 4D filing and exact strategic conflict detection.",
    )
    app.state.settings = settings
    if clock is None and settings.replay:
        clock = ReplayClock()
    app.state.core = core or build_core(settings, clock)
    app.state.broker = Broker()
    app.state.signer = Signer.load_or_create(settings.signing_key_path())
    app.state.monitor = build_monitor(app.state.core, settings)
    errors.install(app)
    app.add_middleware(
        BodyGuard, max_bytes=settings.max_body_bytes, larger={"/api/v1/tracks": settings.max_track_body_bytes}
    )

    api = APIRouter(prefix="/api/v1")
    for module in (parties, agreements, operations, zones, conflicts, hotline, stream, webhooks, audit, tracks, alerts):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", tags=["health"])
    def healthz(core: CoreDep) -> Health:
        with core.read() as repo:
            repo.current_revision()  # the store answers
        return Health(status="ok", version=__version__, server_time=core.clock.now())

    site.mount(app)
    return app
