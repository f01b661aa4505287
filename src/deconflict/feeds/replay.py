"""`deconflict replay`: recorded traffic sent to the tracks API in time order, paced to replayed time / speed.

A recording is the `traffic` library's sample format: a JSON array of records (or JSON lines), gzipped
or not, or CSV with the same columns: timestamp (ms since the epoch, or an ISO 8601 time with its
offset), icao24, callsign, latitude, longitude, altitude (ft), groundspeed (kt), track (deg),
vertical_rate (ft/min). Bad input (an unreadable time, a field that is not a number) stops the load
with the file, line or record, and field; a record without a position, altitude or velocity is
skipped and counted by reason; a missing vertical rate is taken as level flight.

The reports are grouped per `group_s` of replayed time, and each request carries one group (or a
part of one that exceeds `batch_size`). A group is sent when its last instant is due, `(end - first
report) / speed` after the start, so no report is sent before its time has come; a replay that fell
behind (the server was slow or away) sends the groups that are due back to back. Groups are never
merged, also at speed 0 (as fast as possible): a server in replay mode moves its clock and runs a
detection cycle per request, so the group is the replay's time resolution.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deconflict.domain.sbs import Report
from deconflict.feeds.client import MAX_BATCH, NO_SHIFT, Sender

COLUMNS = (
    "timestamp",
    "icao24",
    "callsign",
    "latitude",
    "longitude",
    "altitude",
    "groundspeed",
    "track",
    "vertical_rate",
)
_ICAO24 = re.compile(r"^[0-9a-f]{6}$")


class ReplayError(ValueError):
    """The recording cannot be read; the message names the file, where in it, and the field."""


@dataclass
class Recording:
    """The usable reports of a file in time order, and how many records were skipped for what."""

    path: Path
    reports: list[Report]
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def records(self) -> int:
        return len(self.reports) + sum(self.skipped.values())

    @property
    def aircraft(self) -> int:
        return len({r.icao24 for r in self.reports})

    def span(self) -> tuple[datetime, datetime] | None:
        return (self.reports[0].at, self.reports[-1].at) if self.reports else None


def load(path: Path) -> Recording:
    """Read a recording (format from the extension, else from the content); ReplayError on bad input."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ReplayError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    name = path.name.lower().removesuffix(".gz")
    head = text.lstrip()[:1]
    if name.endswith(".csv") or (not name.endswith((".json", ".jsonl")) and head not in ("[", "{")):
        rows, where = _csv_rows(path, text), f"{path}:{{}}"
    elif head == "{":
        rows, where = _json_lines(path, text), f"{path}:{{}}"
    else:
        rows, where = _json_array(path, text), f"{path}: record {{}}"
    recording = Recording(path, [])
    for place, row in rows:
        try:
            report = _report(row, recording.skipped)
        except _BadField as exc:
            raise ReplayError(f"{where.format(place)}: field {exc.field!r}: {exc.problem}") from None
        if report is not None:
            recording.reports.append(report)
    recording.reports.sort(key=lambda r: r.at)
    return recording


class _BadField(Exception):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem


def _json_array(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, list):
        raise ReplayError(f"{path}: expected a JSON array of records, found a {type(doc).__name__}")
    for i, record in enumerate(doc, start=1):
        if not isinstance(record, dict):
            raise ReplayError(f"{path}: record {i}: expected an object, found {json.dumps(record)[:40]}")
        yield i, record


def _json_lines(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayError(f"{path}:{n}:{exc.colno}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ReplayError(f"{path}:{n}: expected an object, found {line.strip()[:40]}")
        yield n, record


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        found = ", ".join(header[:12]) or "nothing"
        raise ReplayError(f"{path}:1: no column {', '.join(missing)} in the header (found: {found})")
    try:
        for row in reader:
            if None in row:
                raise ReplayError(f"{path}:{reader.line_num}: more fields than the header has columns")
            yield reader.line_num, row
    except csv.Error as exc:
        raise ReplayError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None


def _report(row: Mapping[str, Any], skipped: Counter[str]) -> Report | None:
    at = _time(row.get("timestamp"))
    icao24 = row.get("icao24")
    if not isinstance(icao24, str) or not _ICAO24.match(icao24 := icao24.strip().lower()):
        raise _BadField("icao24", f"{row.get('icao24')!r} is not a 24-bit address in hex (e.g. 3c6444)")
    callsign = row.get("callsign")
    if callsign is not None and not isinstance(callsign, str):
        raise _BadField("callsign", f"{callsign!r} is not text")
    lat, lon = _number(row.get("latitude"), "latitude"), _number(row.get("longitude"), "longitude")
    altitude = _number(row.get("altitude"), "altitude")
    speed, track = _number(row.get("groundspeed"), "groundspeed"), _number(row.get("track"), "track")
    vertical_rate = _number(row.get("vertical_rate"), "vertical_rate")
    if lat is None or lon is None:
        skipped["no position"] += 1
        return None
    if altitude is None:
        skipped["no altitude"] += 1
        return None
    if speed is None or track is None:
        skipped["no velocity"] += 1
        return None
    return Report(
        icao24=icao24,
        callsign=(callsign or "").strip() or None,
        at=at,
        lat_deg=lat,
        lon_deg=lon,
        altitude_ft=altitude,
        ground_speed_kt=speed,
        track_deg=track,
        vertical_rate_fpm=vertical_rate or 0.0,
    )


_MISSING = ("", "nan", "NaN", "NA")


def _number(value: Any, name: str) -> float | None:
    """None for a missing value (null, empty, NaN); _BadField for one that is not a number."""
    if type(value) is float:  # the common case first: JSON numbers
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return None
        raise _BadField(name, f"{value!r} is not a finite number")
    if value is None:
        return None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise _BadField(name, f"{str(value)[:20]}... is out of range") from None
    if not isinstance(value, str):
        raise _BadField(name, f"{value!r} is not a number")
    text = value.strip()
    if text in _MISSING:
        return None
    try:
        number = float(text)
    except ValueError:
        raise _BadField(name, f"{value!r} is not a number") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise _BadField(name, f"{value!r} is not a finite number")
    return number


def _time(value: Any) -> datetime:
    """Milliseconds since the epoch (a number, or digits), or an ISO 8601 time with its offset."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return _from_ms(value)
    problem = "no value"
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d*)?", text):
            return _from_ms(float(text))
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            problem = f"{text!r} is neither milliseconds since the epoch nor an ISO 8601 time"
        else:
            if at.tzinfo is not None:
                return at.astimezone(UTC)
            problem = f"{text!r} has no UTC offset (write e.g. 2021-10-07T12:00:00Z)"
    elif value is not None:
        problem = f"{value!r} is not a time"
    raise _BadField("timestamp", problem)


def _from_ms(ms: float) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise _BadField("timestamp", f"{ms!r} ms since the epoch is out of range") from None


@dataclass(frozen=True)
class Pace:
    """How to replay: `speed` replayed seconds per wall second (0: as fast as possible), groups of
    `group_s` replayed seconds, at most `batch_size` reports per request."""

    speed: float = 1.0
    group_s: float = 1.0
    batch_size: int = MAX_BATCH

    def __post_init__(self) -> None:
        if self.speed < 0 or not math.isfinite(self.speed):
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {self.speed}")
        if self.group_s <= 0:
            raise ValueError(f"the group must be a positive number of seconds, not {self.group_s}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} reports, not {self.batch_size}")


def batches(reports: list[Report], pace: Pace) -> Iterator[tuple[float, list[Report]]]:
    """(wall seconds after the start when due, batch) in time order: each group, or the parts of a
    group that exceeds the batch size; with speed 0 everything is due at once."""
    if not reports:
        return
    t0 = reports[0].at
    i = 0
    while i < len(reports):
        k = math.floor((reports[i].at - t0).total_seconds() / pace.group_s)
        group_end = t0 + timedelta(seconds=(k + 1) * pace.group_s)
        j = i
        while j < len(reports) and j - i < pace.batch_size and reports[j].at < group_end:
            j += 1
        yield (0.0 if pace.speed == 0 else (k + 1) * pace.group_s / pace.speed), reports[i:j]
        i = j


@dataclass
class Progress:
    """Where a replay is: reports handed to the server, and the replayed time reached."""

    done: int = 0
    at: datetime | None = None


def replay(
    reports: list[Report],
    sender: Sender,
    pace: Pace,
    stop: threading.Event,
    *,
    shift: timedelta = NO_SHIFT,
    on_progress: Callable[[Progress], None] = lambda _p: None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> Progress:
    """Send `reports` (in time order) paced by `pace` until done or `stop` is set; returns how far it got."""
    wait: Callable[[float], object] = sleep or stop.wait
    progress = Progress()
    start = monotonic()
    for due, batch in batches(reports, pace):
        while not stop.is_set() and (left := start + due - monotonic()) > 0:
            wait(min(left, 0.25))
        if stop.is_set() or not sender.deliver(batch, stop.is_set, shift=shift):
            break
        progress.done += len(batch)
        progress.at = batch[-1].at
        on_progress(progress)
    return progress
