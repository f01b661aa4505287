"""Webhooks: URL checks, the sender against an in-process receiver (both backends, injected clock),
and a real `deconflict serve` posting to a real local HTTP receiver that is down, failing or slow."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.services import operations, webhooks
from deconflict.services.core import Core
from deconflict.services.webhooks import WebhookSender
from deconflict.storage import journal
from tests.live_server import LiveServer, free_port, running, wait_until
from tests.services.helpers import circle_draft, setup_parties

BAD_URLS = [
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "example.com/hook",
    "http://",
    "https:///path-only",
    "https://user:secret@example.com/hook",
    "https://token@example.com/hook",
    "https://example.com/" + "a" * 2_000,
]


def verify(secret: str, headers: Any, body: bytes) -> bool:
    """The receiver's side of the signature, written from the documented scheme."""
    signed = headers["X-Deconflict-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Deconflict-Signature"])


# -- service level --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", BAD_URLS)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhooks.check_url(url)
    assert caught.value.field == "url"


def test_check_url_accepts_http_and_https() -> None:
    assert webhooks.check_url(" https://hooks.example.com:8443/deconflict?x=1 ") == (
        "https://hooks.example.com:8443/deconflict?x=1"
    )
    assert webhooks.check_url("http://10.0.0.7/hook") == "http://10.0.0.7/hook"


def test_backoff_doubles_up_to_the_cap(core: Core) -> None:
    sender = WebhookSender(core, max_backoff_s=60.0)
    assert [sender.backoff_s(n) for n in range(0, 9)] == [1, 1, 2, 4, 8, 16, 32, 60, 60]
    assert WebhookSender(core, max_backoff_s=1.0).backoff_s(30) == 1.0


class Receiver:
    """An in-process receiver for httpx.MockTransport: answers with `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[httpx.Request] = []
        self.accepted: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 0:
            raise httpx.ConnectError("connection refused", request=request)
        if 200 <= status < 300:
            self.accepted.append(request)
        return httpx.Response(status)

    def deliver(self, sender: WebhookSender) -> int:
        async def go() -> int:
            async with httpx.AsyncClient(transport=httpx.MockTransport(self)) as client:
                return await sender.deliver_due(client)

        return asyncio.run(go())


def _hook(core: Core, principal: Principal) -> dict[str, Any]:
    [doc] = webhooks.list_for(core, principal)
    return doc


def test_sender_posts_every_event_in_order_signed_and_remembers(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    red_id = p["Red"].party_id
    assert red_id is not None
    doc, secret = webhooks.create(core, p["Red"], "https://red.example/hook", from_seq=0)
    for lat in (48.0, 48.5, 49.0):
        operations.file_operation(core, p["Blue"], circle_draft(lat, 2.0))
    receiver = Receiver()
    sender = WebhookSender(core)
    sent = receiver.deliver(sender)
    with core.read() as repo:
        stored = journal.events_after(repo.session, red_id, 0, 1000)
    assert sent == len(stored) >= 3
    assert [int(r.headers["X-Deconflict-Seq"]) for r in receiver.requests] == [e.seq for e in stored]
    for request, event in zip(receiver.requests, stored, strict=True):
        assert str(request.url) == "https://red.example/hook"
        assert verify(secret, request.headers, request.content)
        assert json.loads(request.content) == webhooks.event_doc(event)
        assert request.headers["X-Deconflict-Event"] == event.kind
    assert not verify("another secret", receiver.requests[0].headers, receiver.requests[0].content)
    assert _hook(core, p["Red"])["delivered_seq"] == stored[-1].seq
    assert receiver.deliver(sender) == 0  # the cursor is persisted: nothing again
    assert len(receiver.requests) == len(stored)
    # The receiver's 2xx delivered the notices: Blue hears so.
    blue_id = p["Blue"].party_id
    assert blue_id is not None
    with core.read() as repo:
        blue_kinds = [e.kind for e in journal.events_after(repo.session, blue_id, 0, 1000)]
    assert blue_kinds.count("notice.delivered") == 3
    assert doc["delivered_seq"] == 0


def test_a_failing_receiver_is_retried_after_backoff_from_where_it_failed(core: Core, clock: ManualClock) -> None:
    p = setup_parties(core, "Blue", "Red")
    webhooks.create(core, p["Red"], "https://red.example/hook", from_seq=0)
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    operations.file_operation(core, p["Blue"], circle_draft(48.5, 2.0))
    sender = WebhookSender(core, max_backoff_s=60.0)
    receiver = Receiver([200, 500, 0, 503])
    assert receiver.deliver(sender) == 1  # the second event got a 500
    hook = _hook(core, p["Red"])
    assert (hook["delivered_seq"], hook["attempts"], hook["last_error"]) == (1, 1, "HTTP 500")
    assert receiver.deliver(sender) == 0  # not due yet: nothing is sent
    assert len(receiver.requests) == 2
    clock.advance(1)
    assert receiver.deliver(sender) == 0  # refused connection
    hook = _hook(core, p["Red"])
    assert hook["attempts"] == 2
    assert hook["last_error"].startswith("ConnectError")
    clock.advance(1.5)
    assert receiver.deliver(sender) == 0  # 2 s backoff after two failures: not yet
    clock.advance(0.5)
    assert receiver.deliver(sender) == 0  # 503
    clock.advance(4)
    sent = receiver.deliver(sender)
    assert sent >= 1
    seqs = [int(r.headers["X-Deconflict-Seq"]) for r in receiver.requests]
    assert seqs[:5] == [1, 2, 2, 2, 2]
    accepted = [int(r.headers["X-Deconflict-Seq"]) for r in receiver.accepted]
    assert accepted == list(range(1, len(accepted) + 1))
    hook = _hook(core, p["Red"])
    assert (hook["attempts"], hook["last_error"]) == (0, None)


def test_create_checks_who_and_from_seq_and_delete(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    red_id = p["Red"].party_id
    operator = Principal("op", red_id, "Red", Role.OPERATOR)
    with pytest.raises(Forbidden):
        webhooks.create(core, operator, "https://red.example/hook")
    with pytest.raises(InvalidInput):
        webhooks.create(core, p["Red"], "ftp://red.example/hook")
    with pytest.raises(InvalidInput) as caught:
        webhooks.create(core, p["Red"], "https://red.example/hook", from_seq=10_000)
    assert caught.value.field == "from_seq"
    doc, _ = webhooks.create(core, p["Red"], "https://red.example/hook")
    with pytest.raises(NotFound):
        webhooks.delete(core, p["Blue"], doc["id"])
    webhooks.delete(core, p["Red"], doc["id"])
    assert webhooks.list_for(core, p["Red"]) == []
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    receiver = Receiver()
    assert receiver.deliver(WebhookSender(core)) == 0
    assert receiver.requests == []


# -- a real server and a real receiver ------------------------------------------------------------


class RealReceiver:
    """http.server in a thread. `answer(seq)` gives the status for each POST (it may sleep)."""

    def __init__(self, port: int, answer: Callable[[int], int] = lambda seq: 200) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hook"
        self.answer = answer
        self.posts: list[tuple[int, int, dict[str, str], bytes]] = []  # (seq, status, headers, body)
        self.in_flight = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seq = int(self.headers["X-Deconflict-Seq"])
                receiver.in_flight += 1
                try:
                    status = receiver.answer(seq)
                finally:
                    receiver.in_flight -= 1
                receiver.posts.append((seq, status, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def accepted(self) -> list[tuple[int, dict[str, str], bytes]]:
        return [(seq, h, b) for seq, status, h, b in self.posts if 200 <= status < 300]


_suffixes = itertools.count()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("webhooks")) as server:
        yield server


@pytest.fixture
def receivers() -> Iterator[list[RealReceiver]]:
    made: list[RealReceiver] = []
    yield made
    for r in made:
        r.stop()


def add_webhook(live: LiveServer, token: str, url: str) -> dict[str, Any]:
    r = live.request("POST", "/api/v1/webhooks", token, json={"url": url})
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    return doc


def hook_state(live: LiveServer, token: str) -> dict[str, Any]:
    [doc] = live.request("GET", "/api/v1/webhooks", token).json()
    assert isinstance(doc, dict)
    return doc


def all_delivered(live: LiveServer, token: str, receiver: RealReceiver) -> Callable[[], bool]:
    def done() -> bool:
        accepted = receiver.accepted()
        last = live.request("GET", "/api/v1/events", token, params={"limit": 1}).json()["last_seq"]
        return bool(accepted) and accepted[-1][0] >= last

    return done


def check_deliveries(live: LiveServer, token: str, receiver: RealReceiver, secret: str, after: int) -> None:
    accepted = receiver.accepted()
    seqs = [seq for seq, _, _ in accepted]
    assert seqs == list(range(after + 1, after + 1 + len(seqs))), "out of order, a gap or a repeat"
    stored = {e["seq"]: e for e in live.all_events(token)}
    for seq, headers, body in accepted:
        assert verify(secret, headers, body)
        assert json.loads(body) == stored[seq]


def test_api_refuses_bad_webhook_urls(live: LiveServer) -> None:
    _blue, red = live.blue_and_red(f"-{next(_suffixes)}")
    for url in BAD_URLS:
        r = live.request("POST", "/api/v1/webhooks", red, json={"url": url})
        assert r.status_code == 422, url
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "url"
    assert live.request("GET", "/api/v1/webhooks", red).json() == []
    assert httpx.post(f"{live.url}/api/v1/webhooks", json={"url": "https://x.example/"}).status_code == 401


def test_receiver_down_then_up_gets_every_event_once_in_order_signed(
    live: LiveServer, receivers: list[RealReceiver]
) -> None:
    blue, red = live.blue_and_red(f"-{next(_suffixes)}")
    receiver = RealReceiver(free_port())  # nothing listens there yet
    receivers.append(receiver)
    hook = add_webhook(live, red, receiver.url)
    for _ in range(3):
        assert live.file(blue).status_code == 201
    wait_until(lambda: hook_state(live, red)["attempts"] >= 2, what="failed attempts while the receiver is down")
    state = hook_state(live, red)
    assert state["delivered_seq"] == hook["delivered_seq"]
    assert state["last_error"]
    receiver.start()
    for _ in range(2):
        assert live.file(blue).status_code == 201
    wait_until(all_delivered(live, red, receiver), what="every event at the receiver")
    check_deliveries(live, red, receiver, hook["secret"], after=hook["delivered_seq"])
    kinds = [json.loads(body)["kind"] for _, _, body in receiver.accepted()]
    assert kinds.count("notice") == 5
    state = hook_state(live, red)
    assert (state["attempts"], state["last_error"]) == (0, None)


def test_receiver_answering_500_is_retried(live: LiveServer, receivers: list[RealReceiver]) -> None:
    blue, red = live.blue_and_red(f"-{next(_suffixes)}")
    failures = {"left": 2}

    def answer(seq: int) -> int:
        if failures["left"] > 0:
            failures["left"] -= 1
            return 500
        return 204

    receiver = RealReceiver(free_port(), answer)
    receiver.start()
    receivers.append(receiver)
    hook = add_webhook(live, red, receiver.url)
    assert live.file(blue).status_code == 201
    wait_until(all_delivered(live, red, receiver), what="delivery after two 500s")
    first = hook["delivered_seq"] + 1
    assert [(seq, status) for seq, status, _, _ in receiver.posts[:3]] == [(first, 500), (first, 500), (first, 204)]
    check_deliveries(live, red, receiver, hook["secret"], after=hook["delivered_seq"])


def test_a_slow_receiver_blocks_neither_filings_nor_other_receivers(
    live: LiveServer, receivers: list[RealReceiver]
) -> None:
    blue, red = live.blue_and_red(f"-{next(_suffixes)}")
    green, yellow = live.blue_and_red(f"-{next(_suffixes)}")
    calls = itertools.count()

    def slowly(seq: int) -> int:
        # The first answer comes after DECONFLICT_WEBHOOK_TIMEOUT_S=1 (a timeout); then 0.4 s each.
        time.sleep(2.0 if next(calls) == 0 else 0.4)
        return 200

    slow, fast = RealReceiver(free_port(), slowly), RealReceiver(free_port())
    for r in (slow, fast):
        r.start()
        receivers.append(r)
    add_webhook(live, red, slow.url)
    fast_hook = add_webhook(live, yellow, fast.url)
    for _ in range(6):
        assert live.file(blue).status_code == 201
    wait_until(lambda: slow.in_flight > 0, what="the slow receiver to hold a request")
    took = []
    for token in (blue, green, blue):
        started = time.monotonic()
        assert live.file(token).status_code == 201
        took.append(time.monotonic() - started)
    assert slow.in_flight > 0
    assert max(took) < 1.0, took  # the sender waits on the receiver, the filings do not
    # While the slow receiver works through its backlog, the other party's receiver is served.
    wait_until(lambda: len(slow.posts) >= 2, what="the slow receiver's backlog to start")
    started = time.monotonic()
    assert live.file(green).status_code == 201
    wait_until(all_delivered(live, yellow, fast), timeout_s=10, what="the other party's receiver")
    assert time.monotonic() - started < 1.5
    assert slow.in_flight > 0
    check_deliveries(live, yellow, fast, fast_hook["secret"], after=fast_hook["delivered_seq"])


def test_only_one_sender_holds_a_webhooks_lease(core: Core, clock: ManualClock) -> None:
    """Two replicas' senders: the second finds the lease taken and leaves the webhook alone."""
    p = setup_parties(core, "Blue", "Red")
    webhooks.create(core, p["Red"], "https://red.example/hook", from_seq=0)
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    first, second = WebhookSender(core), WebhookSender(core)
    leased = first._lease_due(set())
    assert len(leased) == 1
    assert second._lease_due(set()) == []
    clock.advance(first.lease_s + 1)  # a lease that was never settled (a crashed replica) expires
    assert second._lease_due(set()) == leased
    assert WebhookSender(core, timeout_s=20.0).lease_s == 80.0  # a batch plus one request fits inside
