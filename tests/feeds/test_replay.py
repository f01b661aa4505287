"""Replaying recordings: the formats, skipped records, errors that say where, grouping and pacing, and
the `deconflict replay` command."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.domain.sbs import Report
from deconflict.feeds.client import Sender, TrackPoster
from deconflict.feeds.replay import COLUMNS, Pace, ReplayError, batches, load, replay
from tests.live_server import LiveServer, running

DECONFLICT = [sys.executable, "-m", "deconflict.cli"]
T0 = datetime(2021, 10, 7, 12, 0, 1, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def record(t_s: float, icao24: str = "3c6444", **fields: Any) -> dict[str, Any]:
    """One record as the traffic library's sample has it (with its extra columns)."""
    return {
        "timestamp": T0_MS + round(t_s * 1000),
        "icao24": icao24,
        "callsign": "AFR1234",
        "latitude": 48.5,
        "longitude": 2.5,
        "altitude": 30000.0,
        "groundspeed": 420.0,
        "track": 271.5,
        "vertical_rate": -64.0,
        "onground": False,
        "squawk": "1000",
    } | fields


RECORDS = [record(2.0, "4ca1fa", callsign=None), record(0.0), record(1.0, vertical_rate=None)]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    """The records in the format the file's name says (.json: array, .jsonl: lines, .csv; .gz: gzipped)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv") or name == "csv-without-extension":
        out = _csv_text(records)
    elif name.endswith(".jsonl"):
        out = "".join(json.dumps(r) + "\n" for r in records)
    else:
        out = json.dumps(records)
    data = out.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _csv_text(records: list[dict[str, Any]]) -> str:
    lines: list[str] = []

    class Sink:
        def write(self, line: str) -> None:
            lines.append(line)

    writer = csv.DictWriter(Sink(), fieldnames=list(records[0]) if records else list(COLUMNS))
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in records)
    return "".join(lines)


def report(t_s: float, icao24: str = "3c6444") -> Report:
    return Report(icao24, None, T0 + timedelta(seconds=t_s), 48.5, 2.5, 30000, 420, 271.5, 0)


@pytest.mark.parametrize(
    "name",
    [
        "rec.json.gz",
        "rec.json",
        "rec.jsonl",
        "rec.csv",
        "rec.csv.gz",
        "json-without-extension",
        "csv-without-extension",
    ],
)
def test_every_format_gives_the_same_reports_in_time_order(tmp_path: Path, name: str) -> None:
    recording = load(write(tmp_path / name, RECORDS))
    assert [(r.icao24, r.at) for r in recording.reports] == [
        ("3c6444", T0),
        ("3c6444", T0 + timedelta(seconds=1)),
        ("4ca1fa", T0 + timedelta(seconds=2)),
    ]
    first = recording.reports[0]
    assert (first.callsign, first.lat_deg, first.lon_deg, first.altitude_ft) == ("AFR1234", 48.5, 2.5, 30000)
    assert (first.ground_speed_kt, first.track_deg, first.vertical_rate_fpm) == (420, 271.5, -64)
    assert recording.reports[1].vertical_rate_fpm == 0  # missing: level flight
    assert recording.reports[2].callsign is None
    assert (recording.records, recording.aircraft, recording.skipped) == (3, 2, {})
    assert recording.span() == (T0, T0 + timedelta(seconds=2))


@pytest.mark.parametrize("name", ["rec.json", "rec.csv"])
def test_records_without_position_altitude_or_velocity_are_skipped_and_counted(tmp_path: Path, name: str) -> None:
    records = [
        record(0),
        record(1, latitude=None),
        record(2, longitude=float("nan")),
        record(3, altitude=None, onground=True),
        record(4, groundspeed=None),
        record(5, track=None),
        record(6),
    ]
    recording = load(write(tmp_path / name, records))
    assert len(recording.reports) == 2
    assert recording.skipped == {"no position": 2, "no altitude": 1, "no velocity": 2}
    assert recording.records == 7


@pytest.mark.parametrize(
    ("name", "records", "says"),
    [
        ("rec.csv", [record(0), record(1, latitude="north")], ":3: field 'latitude': 'north' is not a number"),
        ("rec.json", [record(0), record(1, timestamp="yesterday")], ": record 2: field 'timestamp': 'yesterday' is"),
        ("rec.json", [record(0, timestamp=None)], ": record 1: field 'timestamp': no value"),
        ("rec.jsonl", [record(0), record(1, icao24="XYZ")], ":2: field 'icao24': 'XYZ' is not a 24-bit address"),
        (
            "rec.csv",
            [record(0, timestamp="2021-10-07 12:00:00")],
            ":2: field 'timestamp': '2021-10-07 12:00:00' has no",
        ),
        ("rec.json", [record(0, altitude=True)], ": record 1: field 'altitude': True is not a number"),
        ("rec.json", [record(0, groundspeed=float("inf"))], "field 'groundspeed': inf is not a finite number"),
        ("rec.json", [record(0, callsign=12)], "field 'callsign': 12 is not text"),
        ("rec.json", [record(0, altitude=10**400)], "field 'altitude': 10000000000000000000... is out of range"),
    ],
)
def test_bad_input_names_the_file_the_place_and_the_field(
    tmp_path: Path, name: str, records: list[dict[str, Any]], says: str
) -> None:
    path = write(tmp_path / name, records)
    with pytest.raises(ReplayError) as caught:
        load(path)
    assert str(caught.value).startswith(str(path))
    assert says in str(caught.value)


def test_files_that_are_not_recordings_say_why(tmp_path: Path) -> None:
    cases = {
        "bad.json": ('[{"timestamp": 1,', "bad.json:1:18: not valid JSON"),
        "object.json": ('{"a": [1,\n 2]}', "object.json:1:"),
        "columns.csv": ("timestamp,icao24\n1,3c6444\n", "columns.csv:1: no column callsign, latitude"),
        "ragged.csv": (_csv_text([record(0)]) + "1,2,3,4,5,6,7,8,9,10,11,12\n", "ragged.csv:3: more fields"),
        "binary.json.gz": ("\x00\xff", "not UTF-8"),
        "numbers.json": ("[1, 2]", "record 1: expected an object"),
    }
    for name, (content, says) in cases.items():
        path = tmp_path / name
        path.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode())
        with pytest.raises(ReplayError) as caught:
            load(path)
        assert says in str(caught.value), name


def test_times_may_be_iso_8601_with_their_offset(tmp_path: Path) -> None:
    records = [record(0, timestamp="2021-10-07T12:00:01Z"), record(1, timestamp="2021-10-07 14:00:02+02:00")]
    recording = load(write(tmp_path / "iso.csv", records))
    assert [r.at for r in recording.reports] == [T0, T0 + timedelta(seconds=1)]


@pytest.mark.skipif(importlib.util.find_spec("traffic") is None, reason="the traffic package (its samples) is absent")
def test_the_traffic_quickstart_sample_loads() -> None:
    spec = importlib.util.find_spec("traffic")
    assert spec is not None
    assert spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data/samples/collections/quickstart.json.gz"
    recording = load(path)
    assert recording.records == 284_505
    assert len(recording.reports) + sum(recording.skipped.values()) == recording.records
    assert len(recording.reports) > 200_000
    assert recording.aircraft > 200
    assert all(a.at <= b.at for a, b in zip(recording.reports, recording.reports[1:], strict=False))


# -- grouping and pacing ------------------------------------------------------------------------------


def test_groups_are_due_at_their_end_divided_by_the_speed() -> None:
    reports = [report(t) for t in (0, 0.4, 1.0, 1.7, 5.2)]
    got = [(due, [r.at for r in b]) for due, b in batches(reports, Pace(speed=2, group_s=1))]
    assert got == [
        (0.5, [reports[0].at, reports[1].at]),
        (1.0, [reports[2].at, reports[3].at]),
        (3.0, [reports[4].at]),
    ]
    fast = list(batches(reports, Pace(speed=0, batch_size=1)))  # still one group per request, or less
    assert [(due, len(b)) for due, b in fast] == [(0.0, 1)] * 5
    assert [len(b) for _, b in batches(reports, Pace(speed=0, group_s=2))] == [4, 1]
    split = list(batches([report(0.1 * i) for i in range(5)], Pace(group_s=1, batch_size=3)))
    assert [(due, len(b)) for due, b in split] == [(1.0, 3), (1.0, 2)]


@pytest.mark.parametrize(
    ("kw", "says"), [({"speed": -1}, "speed"), ({"group_s": 0}, "group"), ({"batch_size": 0}, "batch")]
)
def test_a_bad_pace_is_refused(kw: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Pace(**kw)  # type: ignore[arg-type]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def replayed(
    reports: list[Report],
    pace: Pace,
    server_delay_s: Callable[[int], float] = lambda _n: 0.0,
    stop_after: int | None = None,
    shift: timedelta = timedelta(0),
) -> tuple[list[tuple[float, list[str]]], int]:
    """Replay on a fake clock to a fake server; ([(when sent, [times])], reports done)."""
    clock, sent, stop = FakeTime(), [], threading.Event()

    def server(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["reports"]
        sent.append((round(clock.now, 6), [d["time"] for d in docs]))
        clock.now += server_delay_s(len(sent))
        if stop_after is not None and len(sent) >= stop_after:
            stop.set()
        return httpx.Response(200, json={"accepted": len(docs), "rejected": []})

    sender = Sender(TrackPoster("http://tracks.test", "tok", transport=httpx.MockTransport(server)), print)
    progress = replay(reports, sender, pace, stop, shift=shift, monotonic=clock.monotonic, sleep=clock.sleep)
    return sent, progress.done


def test_reports_are_sent_when_due_and_never_early() -> None:
    sent, done = replayed([report(t) for t in (0, 0.4, 1.0, 1.7, 5.2)], Pace(speed=2))
    assert sent == [
        (0.5, ["2021-10-07T12:00:01.000Z", "2021-10-07T12:00:01.400Z"]),
        (1.0, ["2021-10-07T12:00:02.000Z", "2021-10-07T12:00:02.700Z"]),
        (3.0, ["2021-10-07T12:00:06.200Z"]),
    ]
    assert done == 5


def test_a_replay_that_fell_behind_sends_what_is_due_back_to_back() -> None:
    slow_first = {1: 3.0}
    sent, done = replayed(
        [report(t) for t in (0, 1.5, 2.5, 3.5, 10)], Pace(speed=1), server_delay_s=lambda n: slow_first.get(n, 0.0)
    )
    assert [(when, len(times)) for when, times in sent] == [(1.0, 1), (4.0, 1), (4.0, 1), (4.0, 1), (11.0, 1)]
    assert done == 5


def test_as_fast_as_possible_sends_group_after_group_without_waiting() -> None:
    sent, done = replayed([report(t / 2) for t in range(7)], Pace(speed=0))
    assert [(when, len(times)) for when, times in sent] == [(0.0, 2), (0.0, 2), (0.0, 2), (0.0, 1)]
    assert done == 7


def test_shifted_times_and_a_stop_midway() -> None:
    sent, done = replayed([report(t) for t in range(5)], Pace(speed=1), stop_after=2, shift=timedelta(days=1826))
    assert [times for _, times in sent] == [["2026-10-07T12:00:01.000Z"], ["2026-10-07T12:00:02.000Z"]]
    assert done == 2


# -- the command ------------------------------------------------------------------------------------


def test_bad_recordings_and_options_are_clear_errors(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", [record(0), record(1, latitude="north")])
    good = write(tmp_path / "good.json", [record(0)])
    cases = [
        ([str(bad)], f"{bad}:3: field 'latitude': 'north' is not a number"),
        ([str(tmp_path / "missing.json")], "does not exist"),
        ([str(good), "--shift-to-now", "--speed", "2"], "--shift-to-now replays in real time"),
        ([str(good), "--server", "localhost"], "--server: 'localhost' is not a server URL"),
    ]
    for args, says in cases:
        r = subprocess.run(
            [*DECONFLICT, "replay", "--server", "http://127.0.0.1:9", "--token", "t", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert r.returncode == 2, r.stderr
        assert says in " ".join(r.stderr.split()), r.stderr
        assert "Traceback" not in r.stderr


# -- end to end: the command and a real `deconflict serve` ------------------------------------------


def run_replay(live: LiveServer, token: str, path: Path, *args: str) -> tuple[int, str]:
    cmd = [*DECONFLICT, "replay", str(path), "--server", live.url, "--token", token, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert "Traceback" not in r.stderr
    return r.returncode, " ".join(r.stderr.split())


def test_a_server_on_the_wall_clock_refuses_an_old_recording_unless_it_is_shifted_to_now(tmp_path: Path) -> None:
    records = [
        record(t / 2, icao24, latitude=48.5 + t / 1000, longitude=2.5 + k)
        for t in range(4)
        for k, icao24 in enumerate(("3c6444", "4ca1fa"))
    ]
    path = write(tmp_path / "exercise.json", records)
    with running(tmp_path) as live:
        token = live.add_party("Blue")
        rc, err = run_replay(live, token, path, "--speed", "0")
        assert rc == 0
        assert "the recording is from 2021-10-07 12:00 UTC: unless the server runs with --replay" in err
        assert "accepted │ 0" in err
        assert "time: … s old (at most … s) │ 8" in err
        assert live.request("GET", "/api/v1/tracks", token).json() == []

        rc, err = run_replay(live, "not-a-token", path, "--speed", "0")
        assert rc == 2
        assert f"error: {live.url} refused the token (401)" in err

        rc, err = run_replay(live, token, path, "--shift-to-now")
        picture = live.request("GET", "/api/v1/tracks", token).json()
    assert rc == 0
    assert "accepted │ 8" in err
    assert "2021-10-07 12:00:01–12:00:02 UTC (2 s) as 20" in err  # the span it was moved to
    assert {t["aircraft_id"] for t in picture} == {"3c6444", "4ca1fa"}
    assert all(t["freshness"] == "live" and t["age_s"] < 30 for t in picture)
    assert {t["lat_deg"] for t in picture} == {48.503}


@pytest.mark.skipif(importlib.util.find_spec("traffic") is None, reason="the traffic package (its samples) is absent")
def test_the_quickstart_sample_replayed_as_fast_as_possible_to_a_server_in_replay_mode(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("traffic")
    assert spec is not None
    assert spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data/samples/collections/quickstart.json.gz"
    with running(tmp_path, DECONFLICT_REPLAY="1") as live:
        token = live.add_party("Blue")
        rc, err = run_replay(live, token, path, "--speed", "0", "--duration", "300")
        picture = live.request("GET", "/api/v1/tracks", token).json()
    assert rc == 0
    sent = int(err.split("sent to the server │ ")[1].split()[0].replace(",", ""))
    assert sent > 1000
    assert f"accepted │ {sent:,}" in err
    assert "not sent │ 0" in err
    assert len(picture) > 10
    end = max(datetime.fromisoformat(t["time"]) for t in picture)
    assert T0 + timedelta(seconds=290) < end < T0 + timedelta(seconds=300)  # the server's clock followed the replay
    assert all(t["age_s"] <= 300 for t in picture)
