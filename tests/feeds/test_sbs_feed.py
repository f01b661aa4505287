"""The SBS feed against a stand-in receiver on a real socket: lines, malformed lines counted by reason,
a dropped and a refused connection, the bounded outbox, and the `deconflict feed sbs` command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.domain.clock import ManualClock, SystemClock
from deconflict.domain.sbs import Report, SbsError
from deconflict.feeds.client import Backoff, Sender, TrackPoster
from deconflict.feeds.sbs_feed import FeedLimits, Outbox, SbsFeed, Source, parse_source, reason_of
from tests.feeds.sbs_source import T0, FakeSource, ident, lines, position, velocity
from tests.live_server import free_port, running

DECONFLICT = [sys.executable, "-m", "deconflict.cli"]
FAST = {"reconnect_first_s": 0.05, "reconnect_max_s": 0.1, "flush_s": 0.05, "drain_s": 1.0}


class Posted:
    """The server across the network: an httpx MockTransport keeping what was posted."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.docs: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused")
        docs = json.loads(request.content)["reports"]
        self.docs.extend(docs)
        return httpx.Response(200, json={"accepted": len(docs), "rejected": []})


def make_feed(
    source: Source, posted: Posted, log: list[str], clock: ManualClock | None = None, **limits: Any
) -> SbsFeed:
    poster = TrackPoster("http://tracks.test", "tok", transport=httpx.MockTransport(posted))
    sender = Sender(poster, log.append, backoff=Backoff(0.05, 0.1))
    return SbsFeed(source, sender, FeedLimits(**(FAST | limits)), log.append, clock=clock or ManualClock(T0))


def run(feed: SbsFeed, stop: threading.Event | None = None, timeout_s: float = 10) -> None:
    stop = stop or threading.Event()
    thread = threading.Thread(target=feed.run, args=(stop,))
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        stop.set()
        thread.join(5)
        pytest.fail(f"the feed did not finish in {timeout_s} s")


def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("127.0.0.1:30003", Source("127.0.0.1", 30003)),
        ("radar.local:30003", Source("radar.local", 30003)),
        ("[::1]:30003", Source("::1", 30003)),
    ],
)
def test_sources(text: str, source: Source) -> None:
    assert parse_source(text) == source
    assert str(source) == text


@pytest.mark.parametrize("text", ["30003", "host", "host:", "host:port", "host:0", "host:70000", "::1:30003", ""])
def test_bad_sources_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|between 1 and 65535"):
        parse_source(text)


def test_malformed_lines_are_counted_by_kind_not_by_value() -> None:
    assert reason_of(SbsError("bad ICAO address 'ZZZZZZ'")) == "bad ICAO address"
    assert reason_of(SbsError("position out of range: 91.0, 2.0")) == "position out of range"
    assert reason_of(SbsError("a position needs both latitude and longitude")) == (
        "a position needs both latitude and longitude"
    )


def test_a_full_outbox_drops_its_oldest_reports_and_says_which() -> None:
    box = Outbox(3)
    reports = [Report("3c6444", None, T0.replace(second=s), 48, 2, 1000, 100, 90, 0) for s in range(5)]
    assert [box.put(r) for r in reports] == [True, True, True, False, False]
    assert box.dropped == 2
    assert box.dropped_span == (reports[0].at, reports[1].at)
    assert box.take(10, timeout_s=0) == reports[2:]
    assert box.take(1, timeout_s=0.01) == []


def test_lines_are_assembled_posted_and_the_feed_reconnects_after_a_drop() -> None:
    a, b = "3C6444", "4CA1FA"
    first = (
        lines(
            ident(a, "DLH9U"),
            velocity(a, 1),
            position(a, 1.5, lat=48.1),
            "garbage",
            position("ZZZZZZ", 2),
            position(a, 2.5, lat=48.2),
        )
        + b"MSG,3,1,1,3C6444,1,2026/11"
    )  # cut off by the drop
    second = lines(velocity(b, 3, gs_kt=300), position(b, 3.5), position(a, 4, lat=48.3), end="\r\n")
    log: list[str] = []
    posted = Posted()
    with FakeSource([(first, False), (second, True)]) as source:
        feed = make_feed(parse_source(source.address), posted, log, max_reports=4)
        run(feed)
    assert [(d["aircraft_id"], d["time"], d["lat_deg"]) for d in posted.docs] == [
        ("3c6444", "2026-11-25T10:00:01.500Z", 48.1),
        ("3c6444", "2026-11-25T10:00:02.500Z", 48.2),
        ("4ca1fa", "2026-11-25T10:00:03.500Z", 48.85),
        ("3c6444", "2026-11-25T10:00:04.000Z", 48.3),
    ]
    assert posted.docs[0]["callsign"] == "DLH9U"
    assert posted.docs[2]["ground_speed_kt"] == 300
    assert feed.stats.malformed == {
        "not an SBS MSG line with 22 fields": 1,
        "bad ICAO address": 1,
        "line cut off by the connection's end": 1,
    }
    assert (feed.stats.reports, feed.stats.connections, feed.stats.drops) == (4, 2, 1)
    assert feed.sender.tally.accepted == 4
    assert (feed.outbox.dropped, feed.undelivered) == (0, 0)
    assert log[0] == f"connected to SBS source {source.address}"
    assert f"SBS source {source.address} closed the connection after 6 lines; reconnecting in 0.1 s" in log
    assert f"reconnected to SBS source {source.address}" in log


def test_a_refused_source_is_retried_until_it_listens() -> None:
    port = free_port()
    log: list[str] = []
    posted = Posted()
    feed = make_feed(Source("127.0.0.1", port), posted, log, max_reports=1)
    thread = threading.Thread(target=feed.run, args=(threading.Event(),))
    thread.start()
    wait_until(lambda: feed.stats.failed_connects >= 2)
    with FakeSource([(lines(velocity("3C6444", 1), position("3C6444", 2)), True)], port=port):
        thread.join(10)
    assert not thread.is_alive()
    assert log[0] == f"cannot connect to SBS source 127.0.0.1:{port}: Connection refused; retrying in 0.1 s"
    assert f"connected to SBS source 127.0.0.1:{port}" in log
    assert len(posted.docs) == 1


def test_a_duration_ends_the_feed_and_what_was_read_is_delivered() -> None:
    posted = Posted()
    script = lines(velocity("3C6444", 0), position("3C6444", 1), position("3C6444", 2))
    with FakeSource([(script, True)]) as source:
        feed = make_feed(parse_source(source.address), posted, [], duration_s=0.3, flush_s=5)
        started = time.monotonic()
        run(feed)
    assert time.monotonic() - started < 3  # the source never ends, the feed does; the partial batch goes out
    assert len(posted.docs) == 2
    assert feed.undelivered == 0


def test_while_the_server_is_down_the_outbox_is_bounded_and_every_report_is_accounted_for() -> None:
    n = 40
    script = lines(velocity("3C6444", 0), *(position("3C6444", 1 + i / 10) for i in range(n)))
    log: list[str] = []
    posted = Posted(up=False)
    with FakeSource([(script, True)]) as source:
        feed = make_feed(parse_source(source.address), posted, log, max_reports=n, buffer=5, batch_size=5, drain_s=0.3)
        run(feed)
    assert feed.stats.reports == n
    assert feed.sender.tally.sent == 0
    assert feed.outbox.dropped >= n - 10  # the outbox holds 5, the batch being retried 5
    assert feed.outbox.dropped + feed.undelivered == n
    assert feed.outbox.dropped_span is not None
    assert any(m.startswith("outbox full (5 reports waiting for the server)") for m in log)
    assert any("connection refused; holding 5 reports" in m for m in log)


def test_message_times_far_from_the_clock_are_warned_about_or_replaced_by_the_arrival_time() -> None:
    late = ManualClock(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))  # an hour after the messages' times
    script = lines(velocity("3C6444", 0), position("3C6444", 1), position("3C6444", 2))
    for receipt_time in (False, True):
        log: list[str] = []
        posted = Posted()
        with FakeSource([(script, True)]) as source:
            feed = make_feed(
                parse_source(source.address), posted, log, late, max_reports=2, use_receipt_time=receipt_time
            )
            run(feed)
        times = [d["time"] for d in posted.docs]
        warnings = [m for m in log if "stamps messages -3599 s from this machine's clock" in m]
        if receipt_time:
            assert times == ["2026-11-25T11:00:00.000Z"] * 2
            assert not warnings
        else:
            assert times == ["2026-11-25T10:00:01.000Z", "2026-11-25T10:00:02.000Z"]
            assert len(warnings) == 1


# -- the command ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["radar.local", "--server", "http://127.0.0.1:8000"], "HOST:PORT"),
        (["127.0.0.1:30003", "--server", "127.0.0.1:8000"], "--server: '127.0.0.1:8000' is not a server URL"),
        (["127.0.0.1:30003", "--server", "http://127.0.0.1:8000", "--batch-size", "20000"], "batch-size"),
    ],
)
def test_bad_arguments_are_clear_errors(args: list[str], says: str) -> None:
    r = subprocess.run(
        [*DECONFLICT, "feed", "sbs", *args, "--token", "t"], capture_output=True, text=True, timeout=30, check=False
    )
    assert r.returncode == 2
    assert says in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr


def test_sigterm_stops_the_feed_with_a_summary_of_what_never_reached_the_server() -> None:
    script = lines(velocity("3C6444", 0), position("3C6444", 1), position("3C6444", 2))
    unreachable = f"http://127.0.0.1:{free_port()}"
    with FakeSource([(script, True)]) as source:
        cmd = [*DECONFLICT, "feed", "sbs", source.address, "--server", unreachable, "--token", "t", "--drain", "0.2"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: source.accepted == 1, timeout_s=20)
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
    assert proc.returncode == 1, err
    assert "SIGTERM: stopping" in err
    assert "cannot reach" in err
    assert "not delivered at stop" in err
    assert "2 reports never reached the server" in err
    assert "Traceback" not in err
    assert out == ""


# -- end to end: the command, a stand-in receiver, a real `deconflict serve` ---------------------------


def test_feed_sbs_to_a_real_server_puts_the_aircraft_on_the_live_picture(tmp_path: Path) -> None:
    a, b, c = "3C6444", "4CA1FA", "A0B1C2"
    base = SystemClock().now() - timedelta(seconds=10)

    def at(s: float) -> datetime:
        return base + timedelta(seconds=s)

    first = (
        lines(
            ident(a, "DLH9U", at(0)),
            velocity(a, at(1)),
            position(a, at(1.5), lat=48.1),
            "garbage",
            position(a, at(2.5), lat=48.101),
        )
        + b"MSG,3,1,1,3C6444,1,"
    )  # cut off by the drop
    second = lines(
        velocity(b, at(3), gs_kt=300),
        position(b, at(3.5), lat=47.5),
        velocity(c, at(3)),
        position(c, at(3.6), alt_ft=200_000),  # a good line, but no aircraft flies there: the server says no
        position(a, at(4), lat=48.102),
    )
    with running(tmp_path) as live, FakeSource([(first, False), (second, True)]) as source:
        token = live.add_party("Blue")
        cmd = [*DECONFLICT, "feed", "sbs", source.address, "--server", live.url, "--token", token, "--max-reports", "5"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        picture = live.request("GET", "/api/v1/tracks", token).json()
    err = " ".join(r.stderr.split())
    assert r.returncode == 0, r.stderr
    assert "reconnected to SBS source" in err
    assert "malformed lines │ 2" in err
    assert "rejected │ 1" in err
    assert "altitude_ft: … is outside […, …] │ 1" in err
    assert "accepted │ 4" in err
    tracks = {t["aircraft_id"]: t for t in picture}
    assert set(tracks) == {"3c6444", "4ca1fa"}
    assert (tracks["3c6444"]["callsign"], tracks["3c6444"]["lat_deg"]) == ("DLH9U", 48.102)
    assert tracks["4ca1fa"]["ground_speed_kt"] == 300
