"""Posting batches: the wire form, outcomes, splitting what the server cannot take whole, retry with backoff.

The server is somebody else across the network here, so an httpx MockTransport plays it; the real
server is used by the end-to-end tests of the feeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deconflict.domain.sbs import Report
from deconflict.feeds.client import (
    Backoff,
    Sender,
    ServerRefused,
    ServerUnavailable,
    TrackPoster,
    parse_server,
    reason_kind,
    report_doc,
)

T0 = datetime(2026, 11, 25, 6, 0, 1, 500000, tzinfo=UTC)
SERVER = "http://tracks.test:8000"


def report(n: int = 0, lat: float = 48.1) -> Report:
    return Report(
        f"3c64{n:02x}", "DLH9U" if n % 2 == 0 else None, T0 + timedelta(seconds=n), lat, 2.3, 35000, 450, 270, 0
    )


Handler = Callable[[httpx.Request], httpx.Response]


def poster(handler: Handler) -> TrackPoster:
    return TrackPoster(SERVER, "tok", transport=httpx.MockTransport(handler))


def docs_of(request: httpx.Request) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(request.content)["reports"]
    return docs


def accept_all(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"accepted": len(docs_of(request)), "rejected": []})


class FakeTime:
    """monotonic() and sleep() for the retry loop, without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_report_doc_is_the_wire_form() -> None:
    assert report_doc(report(0)) == {
        "aircraft_id": "3c6400",
        "callsign": "DLH9U",
        "time": "2026-11-25T06:00:01.500Z",
        "lat_deg": 48.1,
        "lng_deg": 2.3,
        "altitude_ft": 35000,
        "ground_speed_kt": 450,
        "track_deg": 270,
        "vertical_rate_fpm": 0,
    }
    assert report_doc(report(1), timedelta(days=1))["time"] == "2026-11-26T06:00:02.500Z"
    assert report_doc(report(1))["callsign"] is None
    assert report_doc(report(0), timedelta(microseconds=1))["time"] == "2026-11-25T06:00:01.500001Z"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "https://dcf.example.org/", "http://[::1]:8000/base"])
def test_server_urls(url: str) -> None:
    assert parse_server(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host", "http://", "http://host:99999", "http://h/?q=1", ""])
def test_bad_server_urls_say_so(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        parse_server(url)


def test_a_batch_goes_in_one_request_with_the_token_and_its_outcome_is_counted() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "accepted": 2,
                "rejected": [{"index": 1, "aircraft_id": "3c6401", "reasons": ["time is in the future", "bad"]}],
            },
        )

    sender = Sender(poster(server), print)
    assert sender.deliver([report(0), report(1), report(2)], give_up=lambda: False)
    (request,) = seen
    assert request.url == f"{SERVER}/api/v1/tracks"
    assert request.headers["authorization"] == "Bearer tok"
    assert [d["aircraft_id"] for d in docs_of(request)] == ["3c6400", "3c6401", "3c6402"]
    t = sender.tally
    assert (t.sent, t.accepted, t.rejected, t.batches, t.requests, t.retries) == (3, 2, 1, 1, 1, 0)
    assert t.reasons == {"time is in the future": 1, "bad": 1}


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("time: 312.5 s old (at most 300 s)", "time: … s old (at most … s)"),
        ("lat_deg: 98.1 is outside [-90, 90]", "lat_deg: … is outside […, …]"),
        (
            "time: duplicate of the aircraft's latest report (2026-11-25T06:00:01+00:00)",
            "time: duplicate of the aircraft's latest report (…)",
        ),
        ("time: '2026-13-01' is not an RFC 3339 timestamp", "time: '…' is not an RFC 3339 timestamp"),
        ("aircraft_id: required, a non-empty string", "aircraft_id: required, a non-empty string"),
    ],
)
def test_reasons_are_counted_by_kind_without_their_values(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def test_rejections_that_differ_only_in_their_values_count_as_one_kind() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        rejected = [
            {"index": i, "aircraft_id": None, "reasons": [f"time: {400 + i}.5 s old (at most 300 s)"]} for i in range(3)
        ]
        return httpx.Response(200, json={"accepted": 0, "rejected": rejected})

    sender = Sender(poster(server), print)
    assert sender.deliver([report(0), report(1), report(2)], give_up=lambda: False)
    assert sender.tally.reasons == {"time: … s old (at most … s)": 3}


def test_an_unavailable_server_is_retried_with_backoff_until_it_answers() -> None:
    answers: list[Exception | int] = [
        httpx.ConnectError("connection refused"),
        503,
        429,
        httpx.ReadTimeout("slow"),
        200,
    ]

    def server(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == 200:
            return accept_all(request)
        return httpx.Response(answer, json={"detail": "busy"})

    clock, log = FakeTime(), []
    sender = Sender(poster(server), log.append, backoff=Backoff(0.5, 2.0), sleep=clock.sleep, monotonic=clock.monotonic)
    ticks: list[float] = []
    assert sender.deliver([report()], give_up=lambda: False, tick=lambda: ticks.append(clock.now))
    assert sender.tally.retries == 4
    assert sender.tally.accepted == 1
    assert clock.now == pytest.approx(0.5 + 1 + 2 + 2)  # doubling, capped
    assert ticks  # the caller's statistics go on while retrying
    assert "connection refused" in log[0]
    assert "holding 1 reports, retrying in 0.5 s" in log[0]
    assert "503: busy" in log[1]
    assert "429" in log[2]
    assert log[-1] == f"server {SERVER} is back after 5.5 s"
    # the next outage starts again from the first delay
    answers[:] = [httpx.ConnectError("refused"), 200]
    assert sender.deliver([report()], give_up=lambda: False)
    assert "retrying in 0.5 s" in log[-2]


def test_giving_up_while_retrying_leaves_the_batch_undelivered() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    clock = FakeTime()
    sender = Sender(poster(down), lambda _m: None, sleep=clock.sleep, monotonic=clock.monotonic)
    assert not sender.deliver([report()], give_up=lambda: clock.now > 3)
    assert sender.tally.sent == 0
    assert sender.tally.retries >= 2


@pytest.mark.parametrize(
    ("status", "says"), [(401, "refused the token"), (403, "role"), (404, "has no /api/v1/tracks"), (400, "unexpected")]
)
def test_a_refused_token_or_role_is_not_retried(status: int, says: str) -> None:
    calls = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json={"detail": "token is revoked"})

    with pytest.raises(ServerRefused, match=says) as caught:
        Sender(poster(server), print).deliver([report()], give_up=lambda: False)
    assert "token is revoked" in str(caught.value)
    assert len(calls) == 1


def test_reports_a_422_names_are_rejected_and_the_rest_is_posted_again() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        docs = docs_of(request)
        bad = [i for i, d in enumerate(docs) if d["lat_deg"] > 90]
        if bad:
            errors = [{"field": f"reports[{i}].lat_deg", "message": "must be at most 90"} for i in bad]
            return httpx.Response(422, json={"detail": "invalid", "errors": errors})
        return accept_all(request)

    batch = [report(0), report(1, lat=95), report(2), report(3, lat=91), report(4)]
    outcome = poster(server).post(batch)
    assert (outcome.sent, outcome.accepted, outcome.requests) == (5, 3, 2)
    assert [(r.index, r.aircraft_id, r.reasons) for r in outcome.rejected] == [
        (1, "3c6401", ("lat_deg: must be at most 90",)),
        (3, "3c6403", ("lat_deg: must be at most 90",)),
    ]


def test_a_batch_the_server_cannot_take_whole_is_halved_until_each_part_goes_in() -> None:
    sizes: list[int] = []

    def server(request: httpx.Request) -> httpx.Response:
        docs = docs_of(request)
        sizes.append(len(docs))
        if len(docs) > 3:
            return httpx.Response(413, json={"detail": "too many reports"})
        if any(d["lat_deg"] > 90 for d in docs):
            return httpx.Response(422, json={"detail": "body is not valid"})  # names no report
        return accept_all(request)

    batch = [report(i, lat=99 if i == 5 else 48.0) for i in range(8)]
    outcome = poster(server).post(batch)
    assert (outcome.sent, outcome.accepted) == (8, 7)
    (rejected,) = outcome.rejected
    assert (rejected.index, rejected.aircraft_id) == (5, "3c6405")
    assert rejected.reasons == ("refused by the server (422): body is not valid",)
    assert outcome.requests == len(sizes)
    assert sum(n for n in sizes if n <= 3) >= 8


def test_an_unexpected_answer_is_not_mistaken_for_success() -> None:
    with pytest.raises(ServerRefused, match="unexpected body"):
        poster(lambda _r: httpx.Response(200, json={"ok": True})).post([report()])
    with pytest.raises(ServerUnavailable, match="500"):
        poster(lambda _r: httpx.Response(500, text="boom")).post([report()])
    with pytest.raises(ValueError, match="at most 10000"):
        poster(accept_all).post([report()] * 10_001)
