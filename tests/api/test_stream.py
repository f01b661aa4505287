"""Live delivery against a real `deconflict serve`: SSE with Last-Event-ID, WebSocket, polling, a
SIGKILL mid-stream; and the event-stream response with a client that never reads."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Message
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from deconflict.api.streaming import EventStreamResponse
from tests.live_server import LiveServer, auth, running, sse_events, wait_until

_suffixes = itertools.count()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the tests that each make their own parties."""
    with running(tmp_path_factory.mktemp("stream")) as server:
        yield server


@pytest.fixture
def parties(live: LiveServer) -> tuple[str, str]:
    """Fresh Blue and Red tokens on the shared server."""
    return live.blue_and_red(f"-{next(_suffixes)}")


def read_sse(
    url: str, token: str, until: Callable[[list[dict[str, Any]]], bool], last_event_id: str | None = None
) -> list[dict[str, Any]]:
    """Read the stream until `until(events)`; each event is {seq, kind, doc} from its id, event and data."""
    headers = auth(token) | ({"Last-Event-ID": last_event_id} if last_event_id is not None else {})
    events: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{url}/api/v1/stream", headers=headers, timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for ev in sse_events(response):
            if ev is not None:
                assert ev.id is not None
                assert ev.event is not None
                events.append({"seq": int(ev.id), "kind": ev.event, "doc": ev.json()})
            if until(events):
                return events
    pytest.fail("the stream ended")


def reached(seq: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: bool(events) and events[-1]["seq"] >= seq


# -- SSE ------------------------------------------------------------------------------------------


def test_red_hears_blue_file_an_operation(live: LiveServer, parties: tuple[str, str]) -> None:
    blue, red = parties
    filed: list[str] = []
    headers = auth(red)
    with httpx.stream("GET", f"{live.url}/api/v1/stream", headers=headers, timeout=5) as response:
        assert response.status_code == 200
        r = live.file(blue)  # filed while Red is connected
        assert r.status_code == 201, r.text
        filed.append(r.json()["operation"]["id"])
        for ev in sse_events(response):
            if ev is not None and ev.event == "notice":
                notice = ev.json()
                break
    assert ev is not None
    assert ev.id == str(notice["seq"])
    assert notice["kind"] == "notice"
    assert notice["data"]["operation_id"] == filed[0]
    assert notice["data"]["to_party_id"] == live.party_ids[red]
    assert notice["data"]["from_party_id"] == live.party_ids[blue]


def test_sse_is_gapless_ordered_and_resumes_exactly_after_last_event_id(
    live: LiveServer, parties: tuple[str, str]
) -> None:
    blue, red = parties
    for _ in range(4):
        assert live.file(blue).status_code == 201
    last = live.all_events(red)[-1]["seq"]
    got = read_sse(live.url, red, reached(last))
    seqs = [e["seq"] for e in got]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e["kind"] for e in got].count("notice") == 4
    polled = live.all_events(red)
    assert [e["doc"] for e in got] == polled[: len(got)]
    assert all(e["kind"] == e["doc"]["kind"] and e["seq"] == e["doc"]["seq"] for e in got)

    resumed = read_sse(live.url, red, reached(last), last_event_id="2")
    assert [e["seq"] for e in resumed] == list(range(3, resumed[-1]["seq"] + 1))
    assert resumed[: len(got) - 2] == got[2:]

    # From the end: nothing is repeated, and the next filing is the next number.
    tail_from = live.all_events(red)[-1]["seq"]
    with httpx.stream(
        "GET", f"{live.url}/api/v1/stream", headers=auth(red) | {"Last-Event-ID": str(tail_from)}, timeout=5
    ) as response:
        assert live.file(blue).status_code == 201
        first = next(ev for ev in sse_events(response) if ev is not None)
    assert first.id == str(tail_from + 1)


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", str(2**63), "9" * 400])
def test_bad_last_event_id_is_a_problem(live: LiveServer, parties: tuple[str, str], bad: str) -> None:
    _blue, red = parties
    r = httpx.get(f"{live.url}/api/v1/stream", headers=auth(red) | {"Last-Event-ID": bad}, timeout=5)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "Last-Event-ID"


def test_stream_needs_a_party_token(live: LiveServer) -> None:
    missing = httpx.get(f"{live.url}/api/v1/stream", timeout=5)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    unknown = httpx.get(f"{live.url}/api/v1/stream", headers=auth("dcf_nope"), timeout=5)
    assert unknown.status_code == 401
    admin = httpx.get(f"{live.url}/api/v1/stream", headers=auth(live.env["DECONFLICT_ADMIN_TOKEN"]), timeout=5)
    assert admin.status_code == 403


# -- polling --------------------------------------------------------------------------------------


def test_polling_pages_by_after_and_limit(live: LiveServer, parties: tuple[str, str]) -> None:
    blue, red = parties
    for _ in range(3):
        assert live.file(blue).status_code == 201
    everything = live.all_events(red)
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    r = live.request("GET", "/api/v1/events", red, params={"after": 1, "limit": 2})
    assert r.status_code == 200
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [2, 3]
    assert body["last_seq"] >= everything[-1]["seq"]
    end = live.request("GET", "/api/v1/events", red, params={"after": body["last_seq"]}).json()
    # Only what came after (a channel change may have arrived meanwhile), from the next number on.
    assert [e["seq"] for e in end["events"]] == list(range(body["last_seq"] + 1, end["last_seq"] + 1))
    for params in ({"after": -1}, {"after": "x"}, {"after": 2**63}, {"limit": 0}, {"limit": 1001}):
        bad = live.request("GET", "/api/v1/events", red, params=params)
        assert bad.status_code == 422, params
        assert bad.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{live.url}/api/v1/events", timeout=5).status_code == 401


# -- WebSocket ------------------------------------------------------------------------------------


def ws_url(live: LiveServer, after: int = 0) -> str:
    return f"ws://127.0.0.1:{live.port}/api/v1/stream/ws?after={after}"


def ws_events(ws: ClientConnection, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while not until(events):
        doc = json.loads(ws.recv(timeout=5))
        if doc["kind"] != "heartbeat":
            events.append(doc)
    return events


def test_websocket_with_the_token_in_a_header(live: LiveServer, parties: tuple[str, str]) -> None:
    blue, red = parties
    with connect(ws_url(live), additional_headers=auth(red), open_timeout=5) as ws:
        for _ in range(3):
            assert live.file(blue).status_code == 201
        got = ws_events(ws, lambda evs: [e["kind"] for e in evs].count("notice") == 3)
    assert [e["seq"] for e in got] == list(range(1, len(got) + 1))
    assert got == live.all_events(red)[: len(got)]


def test_websocket_with_the_token_as_first_message_resumes_after(live: LiveServer, parties: tuple[str, str]) -> None:
    blue, red = parties
    for _ in range(2):
        assert live.file(blue).status_code == 201
    last = live.all_events(red)[-1]["seq"]
    with connect(ws_url(live, after=1), open_timeout=5) as ws:
        ws.send(json.dumps({"token": red}))
        got = ws_events(ws, reached(last))
    assert [e["seq"] for e in got] == list(range(2, got[-1]["seq"] + 1))


@pytest.mark.parametrize("how", ["header", "message", "not json", "admin"])
def test_websocket_bad_token_closes_4401(live: LiveServer, how: str) -> None:
    headers = auth("dcf_nope") if how == "header" else {}
    with connect(ws_url(live), additional_headers=headers, open_timeout=5) as ws:
        if how == "message":
            ws.send(json.dumps({"token": "dcf_nope"}))
        elif how == "not json":
            ws.send("hello")
        elif how == "admin":
            ws.send(json.dumps({"token": live.env["DECONFLICT_ADMIN_TOKEN"]}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


# -- a server killed mid-stream -------------------------------------------------------------------


class ResumingReader(threading.Thread):
    """An SSE client that reconnects after any failure, sending the last complete event's id."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.events: list[dict[str, Any]] = []
        self.resumed_from: list[str | None] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0

    def run(self) -> None:
        while not self.halt.is_set():
            last_id = str(self.last_seq) if self.events else None
            headers = auth(self.token) | ({"Last-Event-ID": last_id} if last_id else {})
            try:
                with httpx.stream("GET", f"{self.url}/api/v1/stream", headers=headers, timeout=3) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPError(f"HTTP {response.status_code}")
                    self.resumed_from.append(last_id)
                    for ev in sse_events(response):
                        if ev is not None:
                            assert ev.id is not None
                            self.events.append({"seq": int(ev.id), "kind": ev.event, "doc": ev.json()})
                        if self.halt.is_set():
                            return
            except httpx.HTTPError as exc:
                self.failures.append(type(exc).__name__)
                time.sleep(0.05)


class Filer(threading.Thread):
    """Blue files operations back to back; failures (server down) are counted, not fatal."""

    def __init__(self, live: LiveServer, token: str) -> None:
        super().__init__(daemon=True)
        self.live, self.token = live, token
        self.filed = 0
        self.failed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                if self.live.file(self.token).status_code == 201:
                    self.filed += 1
            except httpx.HTTPError:
                self.failed += 1
            time.sleep(0.02)


def test_sigkill_mid_stream_then_resume_by_last_event_id(live: LiveServer, parties: tuple[str, str]) -> None:
    """Kills the shared server and restarts it on the same database file (a start saved)."""
    blue, red = parties
    reader: ResumingReader | None = None
    filer: Filer | None = None
    try:
        for _ in range(2):
            assert live.file(blue).status_code == 201
        reader = ResumingReader(live.url, red)
        filer = Filer(live, blue)
        reader.start()
        filer.start()
        wait_until(lambda: filer is not None and filer.filed >= 3, what="filings before the kill")
        wait_until(lambda: reader is not None and len(reader.events) >= 4, what="events read before the kill")
        live.kill()
        read_at_kill = reader.last_seq
        filed_at_kill = filer.filed
        wait_until(lambda: filer is not None and filer.failed >= 2, what="filings refused while down")
        live.start()
        wait_until(lambda: filer is not None and filer.filed >= filed_at_kill + 3, what="filings after the restart")
        filer.halt.set()
        filer.join(10)
        last = live.all_events(red)[-1]["seq"]
        wait_until(lambda: reader is not None and reader.last_seq >= last, what=f"the reader to reach {last}")
        reader.halt.set()
        reader.join(10)
        stored = live.all_events(red)  # what the killed-and-restarted server's file holds
    finally:
        for thread in (filer, reader):
            if thread is not None:
                thread.halt.set()
        if live.proc is None or live.proc.poll() is not None:
            live.start()  # for the tests after this one
    assert read_at_kill > 0
    assert reader.failures, "the kill was never noticed by the reader"
    assert len(reader.resumed_from) >= 2
    assert reader.resumed_from[0] is None
    assert all(int(r or 0) >= read_at_kill for r in reader.resumed_from[1:])
    seqs = [e["seq"] for e in reader.events]
    assert seqs == list(range(1, len(seqs) + 1)), "a gap or a duplicate"
    assert seqs[-1] >= last
    assert [e["doc"] for e in reader.events] == stored[: len(seqs)]
    notices = [e["doc"]["data"]["operation_id"] for e in reader.events if e["kind"] == "notice"]
    assert len(notices) == len(set(notices)) >= 2 + filed_at_kill + 3


# -- a client that never reads --------------------------------------------------------------------


def test_event_stream_response_disconnects_a_client_that_never_reads() -> None:
    closed = threading.Event()
    body_sends: list[Message] = []

    async def frames() -> AsyncIterator[str]:
        try:
            for n in itertools.count():
                yield f"id: {n}\ndata: {'x' * 1000}\n\n"
        finally:
            closed.set()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            body_sends.append(message)
            await asyncio.Event().wait()  # the socket buffer is full and stays full

    async def receive() -> Message:
        await asyncio.Event().wait()  # nor does the client hang up
        return {"type": "http.disconnect"}

    async def go() -> float:
        response = EventStreamResponse(frames(), send_timeout_s=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(response({"type": "http"}, receive, send), 5)
        return loop.time() - started

    elapsed = asyncio.run(go())
    assert 0.2 <= elapsed < 1.0
    assert len(body_sends) == 1, "frames were produced beyond the blocked send"
    assert closed.is_set(), "the frame source was not closed"


def test_event_stream_response_ends_when_the_client_hangs_up() -> None:
    closed = threading.Event()

    async def frames() -> AsyncIterator[str]:
        try:
            while True:
                await asyncio.sleep(0.01)
                yield ": heartbeat\n\n"
        finally:
            closed.set()

    async def send(message: Message) -> None:
        return None

    async def receive() -> Message:
        await asyncio.sleep(0.1)
        return {"type": "http.disconnect"}

    async def go() -> None:
        await asyncio.wait_for(EventStreamResponse(frames(), 30.0)({"type": "http"}, receive, send), 5)

    asyncio.run(go())
    assert closed.is_set()
