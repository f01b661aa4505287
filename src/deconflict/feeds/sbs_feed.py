"""`deconflict feed sbs`: SBS-1 lines from a receiver over TCP, assembled into reports, posted in batches.

Two threads. The reader connects to the source (and reconnects with backoff whenever it refuses or
drops the connection), splits the bytes into lines, parses and assembles them (`domain/sbs.py`) and
puts each full report in the outbox; a line that cannot be used is counted by reason and skipped.
The caller's thread takes a batch from the outbox as soon as `batch_size` reports wait or after
`flush_s`, and delivers it, retrying while the server is unavailable.

The outbox is bounded. When it is full the oldest report is dropped to make room, since a newer
position of the same aircraft is worth more; every drop is counted, with the time span dropped, and
the feed says when dropping starts and ends. On stop (a signal, `max_reports`, `duration_s`) reading
ends at once, the outbox is delivered for up to `drain_s`, and whatever is left is counted as not
delivered.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from deconflict.domain.clock import Clock, SystemClock
from deconflict.domain.sbs import Assembler, Report, SbsError, parse_line
from deconflict.feeds.client import Backoff, Log, Sender

#: Longer lines are not SBS (a real one is under 200 bytes); they are skipped up to the next newline.
MAX_LINE_BYTES = 1024
#: A source whose message times are further than this from the feed's clock gets one warning.
SKEW_WARN_S = 120.0
#: How often a blocked reader or sender looks whether it should stop.
POLL_S = 0.25


@dataclass(frozen=True)
class Source:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]/]+)):(?P<port>\d{1,5})$")


def parse_source(text: str) -> Source:
    """'host:port' or '[ipv6]:port'; ValueError saying what is wrong."""
    m = _HOST_PORT.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:30003")
    port = int(m.group("port"))
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} in {text!r} is not between 1 and 65535")
    return Source(m.group("v6") or m.group("host"), port)


def reason_of(exc: SbsError) -> str:
    """The kind of a malformed line, without the values ('bad ICAO address'), to count lines by."""
    return re.split(r"[:'\"]", str(exc), maxsplit=1)[0].strip() or "malformed"


class Outbox:
    """Reports waiting to be posted, oldest first, at most `capacity`: beyond it the oldest is dropped."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the outbox needs room for at least one report")
        self.capacity = capacity
        self.dropped = 0
        self.dropped_span: tuple[datetime, datetime] | None = None
        self._items: deque[Report] = deque()
        self._cond = threading.Condition()
        self._want = 1
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, report: Report) -> bool:
        """Add a report; False when the oldest had to be dropped for it."""
        with self._cond:
            room = len(self._items) < self.capacity
            if not room:
                old = self._items.popleft()
                self.dropped += 1
                span = self.dropped_span or (old.at, old.at)
                self.dropped_span = (min(span[0], old.at), max(span[1], old.at))
            self._items.append(report)
            if len(self._items) >= self._want:
                self._cond.notify()
            return room

    def take(self, n: int, timeout_s: float) -> list[Report]:
        """Up to `n` reports: as soon as `n` wait, or what waits after `timeout_s` (at once once closed)."""
        with self._cond:
            self._want = n
            self._cond.wait_for(lambda: len(self._items) >= n or self._closed, timeout_s)
            return [self._items.popleft() for _ in range(min(n, len(self._items)))]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class ReaderStats:
    """What the reader saw; written by the reader thread only."""

    lines: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    connections: int = 0
    drops: int = 0
    failed_connects: int = 0


@dataclass(frozen=True)
class FeedLimits:
    batch_size: int = 1000
    flush_s: float = 0.5
    buffer: int = 100_000
    max_reports: int | None = None
    duration_s: float | None = None
    drain_s: float = 5.0
    stats_every_s: float = 10.0
    use_receipt_time: bool = False
    connect_timeout_s: float = 5.0
    reconnect_first_s: float = 0.5
    reconnect_max_s: float = 10.0


class SbsFeed:
    """One source, one server. `run` blocks until stopped or a limit is reached; the counters stay
    readable afterwards, also when `run` ended with ServerRefused."""

    def __init__(
        self,
        source: Source,
        sender: Sender,
        limits: FeedLimits,
        log: Log,
        on_stats: Callable[[SbsFeed], None] = lambda _feed: None,
        clock: Clock | None = None,
    ) -> None:
        self.source = source
        self.sender = sender
        self.limits = limits
        self.log = log
        self.on_stats = on_stats
        self.clock: Clock = clock or SystemClock()
        self.stats = ReaderStats()
        self.outbox = Outbox(limits.buffer)
        self.undelivered = 0
        self.in_flight = 0
        self.assembler = Assembler()
        self._stop = threading.Event()
        self._reader_done = threading.Event()
        self._finished = threading.Event()
        self._deadline: float | None = None
        self._drain_until: float | None = None
        self._next_stats = 0.0
        self._dropping_since = 0
        self._warned_skew = False

    # -- the caller's thread: batches and delivery --------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        started = time.monotonic()
        self._deadline = started + self.limits.duration_s if self.limits.duration_s is not None else None
        self._next_stats = started + self.limits.stats_every_s
        reader = threading.Thread(target=self._read, name="sbs-reader", daemon=True)
        reader.start()
        try:
            while not self._give_up():
                batch = self.outbox.take(self.limits.batch_size, self._until_flush())
                if not batch:
                    if self._reader_done.is_set() and not len(self.outbox):
                        break
                    self._tick()
                    continue
                self.in_flight = len(batch)
                if not self.sender.deliver(batch, self._give_up, self._tick):
                    break
                self.in_flight = 0
                self._tick()
        finally:
            self._finished.set()
            reader.join(timeout=5)
            self.undelivered = self.in_flight + len(self.outbox)
            self.in_flight = 0

    @property
    def held(self) -> int:
        """Reports read but not yet answered for by the server."""
        return len(self.outbox) + self.in_flight

    def _until_flush(self) -> float:
        return 0.0 if self._reader_done.is_set() else self.limits.flush_s

    def _give_up(self) -> bool:
        """After reading ended: True once the drain time is over."""
        if not self._reader_done.is_set():
            return False
        now = time.monotonic()
        if self._drain_until is None:
            self._drain_until = now + self.limits.drain_s
        return now >= self._drain_until

    def _tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + self.limits.stats_every_s
            self.on_stats(self)

    # -- the reader thread ---------------------------------------------------------------------------

    def _ending(self) -> bool:
        if self._stop.is_set() or self._finished.is_set():
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _read(self) -> None:
        backoff = Backoff(self.limits.reconnect_first_s, self.limits.reconnect_max_s)
        try:
            while not self._ending():
                try:
                    sock = socket.create_connection(
                        (self.source.host, self.source.port), timeout=self.limits.connect_timeout_s
                    )
                except OSError as exc:
                    self.stats.failed_connects += 1
                    delay = backoff.next_delay()
                    self.log(
                        f"cannot connect to SBS source {self.source}: {_os_reason(exc)}; retrying in {delay:.1f} s"
                    )
                    self._wait(delay)
                    continue
                again = self.stats.connections > 0
                self.stats.connections += 1
                self.log(f"{'reconnected' if again else 'connected'} to SBS source {self.source}")
                with sock:
                    lines, why = self._read_lines(sock)
                if self._ending():
                    break
                self.stats.drops += 1
                if lines:
                    backoff.reset()
                delay = backoff.next_delay()
                self.log(f"SBS source {self.source} {why} after {lines} lines; reconnecting in {delay:.1f} s")
                self._wait(delay)
        finally:
            self._reader_done.set()
            self.outbox.close()

    def _wait(self, delay_s: float) -> None:
        end = time.monotonic() + delay_s
        while not self._ending() and (left := end - time.monotonic()) > 0:
            self._stop.wait(min(left, POLL_S))

    def _read_lines(self, sock: socket.socket) -> tuple[int, str]:
        """Read until the source closes or fails, or the feed ends: (lines read, why it ended)."""
        sock.settimeout(POLL_S)
        pending = b""
        skipping = False  # inside an over-long line, up to its newline
        lines = 0
        why = "stopped"
        while not self._ending():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                why = f"failed ({_os_reason(exc)})"
                break
            if not chunk:
                why = "closed the connection"
                break
            received_at = self.clock.now()
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()
            if skipping and parts:
                parts.pop(0)
                skipping = False
            for raw in parts:
                self._line(raw, received_at)
                if self._finished.is_set():
                    return lines, why
            lines += len(parts)
            if len(pending) > MAX_LINE_BYTES:
                if not skipping:
                    self.stats.lines += 1
                    self.stats.malformed["line too long"] += 1
                pending, skipping = b"", True
        if pending and not skipping:
            self.stats.lines += 1
            self.stats.malformed["line cut off by the connection's end"] += 1
        return lines, why

    def _line(self, raw: bytes, received_at: datetime) -> None:
        self.stats.lines += 1
        try:
            msg = parse_line(raw.decode("ascii"))
        except UnicodeDecodeError:
            self.stats.malformed["not ASCII text"] += 1
            return
        except SbsError as exc:
            self.stats.malformed[reason_of(exc)] += 1
            return
        report = self.assembler.add(msg, received_at)
        if report is None:
            return
        if self.limits.use_receipt_time:
            report = replace(report, at=received_at)
        elif not self._warned_skew and abs((report.at - received_at).total_seconds()) > SKEW_WARN_S:
            self._warned_skew = True
            self.log(
                f"SBS source {self.source} stamps messages {(report.at - received_at).total_seconds():+.0f} s from "
                "this machine's clock (a receiver writing local time?); --receipt-time stamps them on arrival"
            )
        self.stats.reports += 1
        self._keep(report)
        if self.limits.max_reports is not None and self.stats.reports >= self.limits.max_reports:
            self._finished.set()

    def _keep(self, report: Report) -> None:
        if self.outbox.put(report):
            if self._dropping_since:
                n = self.outbox.dropped - self._dropping_since + 1
                self.log(f"outbox has room again; {n} reports were dropped while it was full")
                self._dropping_since = 0
        elif not self._dropping_since:
            self._dropping_since = self.outbox.dropped
            self.log(
                f"outbox full ({self.outbox.capacity} reports waiting for the server): "
                "dropping the oldest report for each new one"
            )


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
