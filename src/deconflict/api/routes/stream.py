"""/api/v1/stream (Server-Sent Events), /api/v1/stream/ws (WebSocket) and /api/v1/events (polling).

One ordered stream per party; every event has the party's next sequence number. Resume after a
disconnect with `Last-Event-ID` (SSE), `after` (WebSocket, polling): nothing lost, nothing repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from asyncio import FIRST_COMPLETED
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from deconflict.api.deps import CoreDep, PartyPrincipal, SettingsDep
from deconflict.api.streaming import (
    Broker,
    EventStreamResponse,
    acknowledge_receipt,
    party_events,
    read_events,
    sse_frame,
)
from deconflict.domain.errors import InvalidInput
from deconflict.services import channels
from deconflict.services.parties import authenticate
from deconflict.services.webhooks import event_doc
from deconflict.storage import journal
from deconflict.storage.journal import MAX_SEQ

router = APIRouter(tags=["stream"])


def _broker(request: Request | WebSocket) -> Broker:
    broker: Broker = request.app.state.broker
    return broker


def _after(value: str | None, name: str) -> int:
    if value is None or value == "":
        return 0
    try:
        seq = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an event sequence number, not {value!r}", field=name) from None
    if not 0 <= seq <= MAX_SEQ:
        raise InvalidInput(f"{name} must be between 0 and {MAX_SEQ}", field=name)
    return seq


@router.get("/stream", response_class=EventStreamResponse, response_model=None, status_code=200)
async def stream(
    request: Request,
    core: CoreDep,
    settings: SettingsDep,
    principal: PartyPrincipal,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="start after this sequence (if no Last-Event-ID)")
    ] = None,
) -> EventStreamResponse:
    """Server-Sent Events: `id` is the sequence number, `event` the kind, `data` the event JSON."""
    start = _after(last_event_id, "Last-Event-ID") if last_event_id is not None else (after or 0)
    events = party_events(core, _broker(request), principal, start, settings.stream_heartbeat_s, settings.stream_poll_s)

    async def frames() -> Any:
        try:
            yield "retry: 2000\n\n"
            async for row in events:
                yield sse_frame(row)
        finally:  # closing the frames (send timeout, disconnect) ends the subscription now
            await events.aclose()

    return EventStreamResponse(frames(), settings.stream_send_timeout_s)


@router.websocket("/stream/ws")
async def stream_ws(websocket: WebSocket, after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0) -> None:
    """WebSocket: send `Authorization: Bearer` on the upgrade, or `{"token": "..."}` as the first
    message (browsers cannot set headers). Each event is one JSON text message."""
    core = websocket.app.state.core
    settings = websocket.app.state.settings
    await websocket.accept()
    token = None
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    try:
        if token is None:
            first = await asyncio.wait_for(websocket.receive_json(), 10.0)
            token = str(first.get("token", "")) if isinstance(first, dict) else ""
        principal = await run_in_threadpool(authenticate, core, token, settings.admin_token)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):  # KeyError: a binary first frame
        await _close(websocket, 4401, "send the token first")
        return
    if principal is None or principal.party_id is None:
        await _close(websocket, 4401, "unknown or revoked party token")
        return
    events = party_events(
        core, _broker(websocket), principal, after, settings.stream_heartbeat_s, settings.stream_poll_s
    )
    reader = asyncio.ensure_future(_drain(websocket))
    try:
        async for row in events:
            doc = {"kind": "heartbeat"} if row is None else event_doc(row)
            send = asyncio.ensure_future(websocket.send_text(json.dumps(doc, separators=(",", ":"))))
            await asyncio.wait({send, reader}, timeout=settings.stream_send_timeout_s, return_when=FIRST_COMPLETED)
            if not send.done():  # the client stopped reading (or left): give up on it
                send.cancel()
                break
            send.result()  # a failed send (the client is gone) ends the loop
            if reader.done():
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        reader.cancel()
        await events.aclose()
        await _close(websocket, 1000, "bye")


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError):  # the client may be gone already
        await websocket.close(code, reason)


@router.get("/events")
def poll_events(
    core: CoreDep,
    principal: PartyPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="return events after this sequence")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Polling clients: the events after `after`, and the party's last sequence number."""
    assert principal.party_id is not None
    channels.touch(core, principal.party_id)
    rows = read_events(core, principal.party_id, after, limit)
    acknowledge_receipt(core, principal, rows)
    with core.read() as repo:
        last = journal.last_event_seq(repo.session, principal.party_id)
    return {"events": [event_doc(r) for r in rows], "last_seq": last}
