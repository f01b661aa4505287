"""Live delivery plumbing: waking connections on commit, reading a party's stream by sequence,
and an event-stream response whose sends cannot block forever.

Nothing is queued in memory per client: each connection reads the `events` table after its
last sequence number, so a slow client costs a cursor, not a buffer. A client that stops
reading fills the socket buffer; the next send then waits at most `send_timeout_s` before the
connection is closed. It resumes with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from deconflict.domain.parties import Principal
from deconflict.services import channels
from deconflict.services.core import Core
from deconflict.services.messages import Delivery, receipt_ids, record_delivery, stamp_deliveries
from deconflict.services.webhooks import event_doc
from deconflict.storage import journal
from deconflict.storage.tables import EventRow

log = logging.getLogger(__name__)

PAGE = 500


class Broker:
    """Wakes this process's stream connections when their party has new events."""

    def __init__(self, recent: int = 512) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connections = 0
        # The newest events of each party, read once and shared by all its connections: ten consoles
        # of one party woken by a commit make one query, not ten.
        self._recent: dict[str, list[EventRow]] = {}
        self._readers: dict[str, asyncio.Lock] = {}
        self._keep = recent
        self.store_reads = 0
        #: Set by the app: stream receipts are stamped in batches while it runs.
        self.receipts: ReceiptBatcher | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> Callable[[set[str]], None]:
        self._loop = loop
        return self.notify

    def subscribe(self, party_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters.setdefault(party_id, set()).add(event)
        self.connections += 1
        return event

    def unsubscribe(self, party_id: str, event: asyncio.Event) -> None:
        self._waiters.get(party_id, set()).discard(event)
        self.connections -= 1

    def notify(self, party_ids: set[str]) -> None:
        """Called from any thread after a commit."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._set, set(party_ids))

    def _set(self, party_ids: set[str]) -> None:
        for p in party_ids:
            for event in self._waiters.get(p, ()):
                event.set()

    async def read(self, core: Core, party_id: str, after_seq: int, limit: int = PAGE) -> list[EventRow]:
        """The party's events after `after_seq`, from the shared recent rows when they cover it."""
        hit = self._from_recent(party_id, after_seq, limit)
        if hit:
            return hit
        lock = self._readers.setdefault(party_id, asyncio.Lock())
        async with lock:
            hit = self._from_recent(party_id, after_seq, limit)  # another connection just read them
            if hit:
                return hit
            rows = await asyncio.to_thread(read_events, core, party_id, after_seq, limit)
            self.store_reads += 1
            self._remember(party_id, after_seq, rows)
            return rows

    def _from_recent(self, party_id: str, after_seq: int, limit: int) -> list[EventRow]:
        recent = self._recent.get(party_id)
        if not recent or not recent[0].seq <= after_seq + 1 <= recent[-1].seq:
            return []
        start = after_seq + 1 - recent[0].seq  # the rows are contiguous by seq
        return recent[start : start + limit]

    def _remember(self, party_id: str, after_seq: int, rows: list[EventRow]) -> None:
        if not rows:
            return
        recent = self._recent.get(party_id, [])
        if recent and rows[0].seq == recent[-1].seq + 1:
            recent = recent + rows
        elif not recent or rows[0].seq > recent[-1].seq:
            recent = rows  # a fresh start past what was kept
        else:
            return  # an old reader catching up: keep the newer rows
        self._recent[party_id] = recent[-self._keep :]


def read_events(core: Core, party_id: str, after_seq: int, limit: int = PAGE) -> list[EventRow]:
    with core.read() as repo:
        return journal.events_after(repo.session, party_id, after_seq, limit)


class ReceiptBatcher:
    """Collects the delivery receipts of every stream connection and stamps them together, one
    write transaction per `period_s` instead of one per connection and event (each an fsync under
    the global write lock that filings wait behind). A receipt is stamped within about `period_s`."""

    def __init__(self, core: Core, period_s: float = 0.1) -> None:
        self.core = core
        self.period_s = period_s
        self._pending: dict[tuple[str, str], tuple[Principal, set[str], set[str]]] = {}
        self.running = False

    def add(self, principal: Principal, rows: list[EventRow]) -> None:
        assert principal.party_id is not None
        messages, notices = receipt_ids(rows)
        if not (messages or notices):
            return
        key = (principal.party_id, principal.token_id)
        _, m, n = self._pending.setdefault(key, (principal, set(), set()))
        m.update(messages)
        n.update(notices)

    async def run(self) -> None:
        self.running = True
        try:
            while True:
                await asyncio.sleep(self.period_s)
                await self.flush()
        finally:
            self.running = False
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        deliveries = [Delivery(p, party_id, sorted(m), sorted(n)) for (party_id, _), (p, m, n) in sorted(batch.items())]
        try:
            await asyncio.to_thread(stamp_deliveries, self.core, deliveries)
        except Exception:
            log.exception("stamping %d delivery receipts failed", len(deliveries))


def acknowledge_receipt(core: Core, principal: Principal, rows: list[EventRow]) -> None:
    """The party has received these events: messages and notices among them count as delivered."""
    assert principal.party_id is not None
    messages, notices = receipt_ids(rows)
    if messages or notices:
        record_delivery(core, principal, principal.party_id, messages, notices)


async def party_events(
    core: Core,
    broker: Broker,
    principal: Principal,
    after_seq: int,
    heartbeat_s: float,
    poll_s: float,
) -> AsyncGenerator[EventRow | None, None]:
    """The party's events after `after_seq`, forever; None marks a heartbeat. Marks the party seen."""
    assert principal.party_id is not None
    party_id = principal.party_id
    wake = broker.subscribe(party_id)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(channels.touch, core, party_id)
        last_beat = loop.time()
        cursor = after_seq
        while True:
            wake.clear()
            rows = await broker.read(core, party_id, cursor)
            for row in rows:
                yield row
                cursor = row.seq
            if rows:
                if broker.receipts is not None and broker.receipts.running:
                    broker.receipts.add(principal, rows)
                else:
                    await asyncio.to_thread(acknowledge_receipt, core, principal, rows)
            if loop.time() - last_beat >= heartbeat_s:  # also while working through a backlog
                if not rows:
                    yield None
                await asyncio.to_thread(channels.touch, core, party_id)
                last_beat = loop.time()
            if rows:
                continue
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that arrives as the inner wait completes, and the stream would outlive its client.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(poll_s, heartbeat_s)):
                    await wake.wait()
    finally:
        broker.unsubscribe(party_id, wake)


def sse_frame(row: EventRow | None) -> str:
    """The SSE frame of an event, formatted once however many of the party's consoles it goes to."""
    if row is None:
        return ": heartbeat\n\n"
    frame: str | None = row.__dict__.get("_sse_frame")
    if frame is None:
        data = json.dumps(event_doc(row), separators=(",", ":"))
        frame = row.__dict__["_sse_frame"] = f"id: {row.seq}\nevent: {row.kind}\ndata: {data}\n\n"
    return frame


class EventStreamResponse(Response):
    """`text/event-stream` from an async iterator of frames; closes when a send blocks too long."""

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[str], send_timeout_s: float) -> None:
        # Like Starlette's StreamingResponse: no `body`, hence no Content-Length.
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-store", "x-accel-buffering": "no"})
        self.frames = frames
        self.send_timeout_s = send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(_until_disconnect(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and not pump.cancelled() and pump.exception() is not None:
                log.error("event stream failed", exc_info=pump.exception())
        finally:
            for task in (pump, watch):
                task.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
            aclose = getattr(self.frames, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _pump(self, send: Send) -> None:
        async for frame in self.frames:
            message: dict[str, Any] = {"type": "http.response.body", "body": frame.encode(), "more_body": True}
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    await send(message)
            except TimeoutError:
                log.warning("stream client stopped reading for %.0f s: disconnecting it", self.send_timeout_s)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
