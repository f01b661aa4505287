"""`deconflict replay`: recorded traffic sent to the tracks API in time order, paced to replayed time / speed.

A recording is the `traffic` library's sample format: a JSON array of records (or JSON lines), gzipped
or not, or CSV with the same columns: timestamp (ms since the epoch, or an ISO 8601 time with its
offset), icao24, callsign, latitude, longitude, altitude (ft), groundspeed (kt), track (deg),
vertical_rate (ft/min). Bad input (an unreadable time, a field that is not a number) stops the load
with the file, line or record, and field; a record without a position, altitude or velocity is
skipped and counted by reason; a missing vertical rate is taken as level flight.

The reports are grouped per `group_s` of replayed time; a group is sent when its last instant is due,
`(end - first report) / speed` after the start, so a report is never sent before its time has come.
Groups that are due together (speed 0, or catching up after an outage) are merged up to `batch_size`.
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
from collections.abc import Callable, Iterable, Iterator, Mapping
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
        rows = _csv_rows(path, text)
    elif head == "{":
        rows = _json_lines(path, text)
    else:
        rows = _json_array(path, text)
    recording = Recording(path, [])
    for where, row in rows:
        report = _report(row, where, recording.skipped)
        if report is not None:
            recording.reports.append(report)
    recording.reports.sort(key=lambda r: r.at)
    return recording


def _json_array(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, list):
        raise ReplayError(f"{path}: expected a JSON array of records, found a {type(doc).__name__}")
    for i, record in enumerate(doc, start=1):
        if not isinstance(record, dict):
            raise ReplayError(f"{path}: record {i}: expected an object, found {json.dumps(record)[:40]}")
        yield f"{path}: record {i}", record


def _json_lines(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayError(f"{path}:{n}:{exc.colno}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ReplayError(f"{path}:{n}: expected an object, found {line.strip()[:40]}")
        yield f"{path}:{n}", record


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
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
            yield f"{path}:{reader.line_num}", row
    except csv.Error as exc:
        raise ReplayError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None


def _report(row: Mapping[str, Any], where: str, skipped: Counter[str]) -> Report | None:
    at = _time(row.get("timestamp"), where)
    icao24 = row.get("icao24")
    if not isinstance(icao24, str) or not _ICAO24.match(icao24.strip().lower()):
        raise ReplayError(f"{where}: field 'icao24': {icao24!r} is not a 24-bit address in hex (e.g. 3c6444)")
    callsign = row.get("callsign")
    if callsign is not None and not isinstance(callsign, str):
        raise ReplayError(f"{where}: field 'callsign': {callsign!r} is not text")
    lat, lon = _number(row, "latitude", where), _number(row, "longitude", where)
    altitude = _number(row, "altitude", where)
    speed, track = _number(row, "groundspeed", where), _number(row, "track", where)
    vertical_rate = _number(row, "vertical_rate", where)
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
        icao24=icao24.strip().lower(),
        callsign=(callsign or "").strip() or None,
        at=at,
        lat_deg=lat,
        lon_deg=lon,
        altitude_ft=altitude,
        ground_speed_kt=speed,
        track_deg=track,
        vertical_rate_fpm=vertical_rate or 0.0,
    )


def _number(row: Mapping[str, Any], name: str, where: str) -> float | None:
    """None for a missing value (null, empty, NaN); ReplayError for one that is not a number."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and value.strip() in ("", "nan", "NaN", "NA")):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ReplayError(f"{where}: field {name!r}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ReplayError(f"{where}: field {name!r}: {value!r} is not a number") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ReplayError(f"{where}: field {name!r}: {value!r} is not a finite number")
    return number


def _time(value: Any, where: str) -> datetime:
    """Milliseconds since the epoch (a number, or digits), or an ISO 8601 time with its offset."""
    problem = "no value"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return _from_ms(value, where)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d*)?", text):
            return _from_ms(float(text), where)
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
    raise ReplayError(f"{where}: field 'timestamp': {problem}")


def _from_ms(ms: float, where: str) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise ReplayError(f"{where}: field 'timestamp': {ms!r} ms since the epoch is out of range") from None


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


def batches(reports: list[Report], pace: Pace) -> Iterable[tuple[float, list[Report]]]:
    """(wall seconds after the start when due, batch) in time order, for the pace's groups.

    Each batch is one group, or the part of it that fits a batch; with speed 0 everything is due at
    once and batches are full. Merging of groups that are late is the sender's business (`replay`).
    """
    if not reports:
        return
    t0 = reports[0].at
    i = 0
    while i < len(reports):
        k = math.floor((reports[i].at - t0).total_seconds() / pace.group_s)
        group_end = t0 + timedelta(seconds=(k + 1) * pace.group_s)
        j = i
        while j < len(reports) and j - i < pace.batch_size and (pace.speed == 0 or reports[j].at < group_end):
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
    """Send `reports` (in time order) paced by `pace` until done or `stop` is set; returns how far it got.

    A batch that is due while an earlier one is still being sent or retried is merged with the next
    ones that are also due, up to the batch size, so a replay that fell behind catches up quickly.
    """
    wait: Callable[[float], object] = sleep or stop.wait
    progress = Progress()
    start = monotonic()
    pending: list[Report] = []
    pending_due = 0.0
    for due, batch in batches(reports, pace):
        if pending and (due > monotonic() - start or len(pending) + len(batch) > pace.batch_size):
            if not _send(pending, sender, stop, shift, progress, on_progress):
                return progress
            pending = []
        if not pending:
            pending_due = due
        pending.extend(batch)
        while not stop.is_set() and (left := start + pending_due - monotonic()) > 0:
            wait(min(left, 0.25))
        if stop.is_set():
            return progress
    if pending:
        _send(pending, sender, stop, shift, progress, on_progress)
    return progress


def _send(
    batch: list[Report],
    sender: Sender,
    stop: threading.Event,
    shift: timedelta,
    progress: Progress,
    on_progress: Callable[[Progress], None],
) -> bool:
    if not sender.deliver(batch, stop.is_set, shift=shift):
        return False
    progress.done += len(batch)
    progress.at = batch[-1].at
    on_progress(progress)
    return True
