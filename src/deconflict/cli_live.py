"""`deconflict feed sbs` (a receiver's SBS-1 output, live) and `deconflict replay` (a recording): both post
position reports to a server's tracks API; the reading, batching and pacing live in `deconflict.feeds`."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from deconflict.cli_common import err, fail
from deconflict.domain.clock import SystemClock
from deconflict.domain.sbs import Report
from deconflict.feeds.client import MAX_BATCH, Backoff, Sender, ServerRefused, Tally, TrackPoster, parse_server
from deconflict.feeds.replay import Pace, Recording, ReplayError, load
from deconflict.feeds.replay import Progress as Reached
from deconflict.feeds.replay import replay as run_replay
from deconflict.feeds.sbs_feed import FeedLimits, SbsFeed, Source, parse_source

feed_app = typer.Typer(help="Feed live traffic to a server.", no_args_is_help=True)

ServerOption = Annotated[str, typer.Option(help="server URL, e.g. http://127.0.0.1:8000")]
TokenOption = Annotated[
    str, typer.Option(help="operator or supervisor token of the reporting party", envvar="DECONFLICT_TOKEN")
]
MaxBackoffOption = Annotated[
    float, typer.Option(min=0.1, help="longest wait (s) between retries of an unavailable server or source")
]


def _log(message: str) -> None:
    err.print(f"[dim]{SystemClock().now():%H:%M:%S}[/] {escape(message)}")


def _server(url: str) -> str:
    try:
        return parse_server(url)
    except ValueError as exc:
        fail(f"--server: {exc}")


def _source(text: str) -> Source:
    try:
        return parse_source(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C or SIGTERM (finish cleanly); a second one stops at once."""
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        _log(f"{signal.Signals(signum).name}: stopping (once more to quit at once)")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _summary(title: str, elapsed_s: float) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("seconds", f"{elapsed_s:,.1f}")
    return table


def _add_counts(table: Table, label: str, total: int, reasons: Counter[str]) -> None:
    table.add_row(label, f"{total:,}")
    for reason, n in reasons.most_common(10):
        table.add_row(f"  {escape(reason)}", f"{n:,}")
    if len(reasons) > 10:
        table.add_row(f"  … {len(reasons) - 10} other reasons", f"{sum(n for _, n in reasons.most_common()[10:]):,}")


def _add_tally(table: Table, tally: Tally) -> None:
    table.add_row("sent to the server", f"{tally.sent:,}")
    table.add_row("accepted", f"{tally.accepted:,}")
    _add_counts(table, "rejected", tally.rejected, tally.reasons)
    table.add_row("requests (retries)", f"{tally.requests:,} ({tally.retries:,})")


# -- feed sbs ---------------------------------------------------------------------------------------


@feed_app.command("sbs")
def sbs(
    source: Annotated[
        str, typer.Argument(metavar="HOST:PORT", help="SBS-1/BaseStation source, e.g. a receiver's port 30003")
    ],
    server: ServerOption,
    token: TokenOption,
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH, help="reports per request at most")] = 1000,
    flush: Annotated[float, typer.Option(min=0.01, help="longest wait (s) before a partial batch is sent")] = 0.5,
    buffer: Annotated[
        int, typer.Option(min=1, help="reports held while the server is unavailable; beyond, the oldest are dropped")
    ] = 100_000,
    max_reports: Annotated[int | None, typer.Option(min=1, help="stop after this many reports")] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="stop after this many seconds")] = None,
    receipt_time: Annotated[
        bool, typer.Option(help="stamp reports with their arrival time, not the receiver's message time")
    ] = False,
    drain: Annotated[float, typer.Option(min=0, help="seconds to deliver what is held after stopping")] = 5.0,
    stats_every: Annotated[float, typer.Option(min=0, help="seconds between statistics lines (0: none)")] = 10.0,
    max_backoff: MaxBackoffOption = 10.0,
) -> None:
    """Read a receiver's SBS-1 messages over TCP and post full position reports to the server, in batches.

    Reconnects to the source and retries the server with backoff; Ctrl-C or SIGTERM stops it with a summary.

    Exit 0, or 1 if any report was dropped or not delivered; 2 on errors.
    """
    where = _source(source)
    base = _server(server)
    limits = FeedLimits(
        batch_size=batch_size,
        flush_s=flush,
        buffer=buffer,
        max_reports=max_reports,
        duration_s=duration,
        drain_s=drain,
        stats_every_s=stats_every if stats_every > 0 else float("inf"),
        use_receipt_time=receipt_time,
        reconnect_max_s=max_backoff,
    )
    with TrackPoster(base, token) as poster:
        sender = Sender(poster, _log, backoff=Backoff(max_s=max_backoff))
        feed = SbsFeed(where, sender, limits, _log, on_stats=_StatsLine())
        _log(f"feeding SBS source {where} to {base} (batches of up to {batch_size:,}, every {flush:g} s)")
        started = time.monotonic()
        refused: ServerRefused | None = None
        with _stop_on_signals() as stop:
            try:
                feed.run(stop)
            except ServerRefused as exc:
                refused = exc
        _print_feed_summary(feed, time.monotonic() - started)
    if refused is not None:
        fail(str(refused))
    if feed.outbox.dropped or feed.undelivered:
        raise typer.Exit(1)


class _StatsLine:
    """One line of counters per call, with the report rate since the previous one."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), 0)

    def __call__(self, feed: SbsFeed) -> None:
        now, reports = time.monotonic(), feed.stats.reports
        rate = (reports - self._last[1]) / max(now - self._last[0], 1e-9)
        self._last = (now, reports)
        s, t = feed.stats, feed.sender.tally
        _log(
            f"lines {s.lines:,} (malformed {sum(s.malformed.values()):,}) · reports {s.reports:,} ({rate:,.0f}/s) · "
            f"accepted {t.accepted:,} · rejected {t.rejected:,} · held {feed.held:,} · "
            f"dropped {feed.outbox.dropped:,} · source drops {s.drops:,}"
        )


def _print_feed_summary(feed: SbsFeed, elapsed_s: float) -> None:
    s, tally = feed.stats, feed.sender.tally
    table = _summary(f"SBS feed from {feed.source}", elapsed_s)
    table.add_row("lines read", f"{s.lines:,}")
    _add_counts(table, "malformed lines", sum(s.malformed.values()), s.malformed)
    table.add_row("reports assembled", f"{s.reports:,}")
    _add_tally(table, tally)
    dropped = f"{feed.outbox.dropped:,}"
    if feed.outbox.dropped_span is not None:
        first, last = feed.outbox.dropped_span
        dropped += f" (oldest first: {first:%H:%M:%S}–{last:%H:%M:%S} UTC)"
    table.add_row("dropped, outbox full", dropped)
    table.add_row("not delivered at stop", f"{feed.undelivered:,}")
    table.add_row("connections (drops, failed)", f"{s.connections:,} ({s.drops:,}, {s.failed_connects:,})")
    table.add_row("reports/s", f"{tally.sent / max(elapsed_s, 1e-9):,.0f}")
    err.print(table)
    if feed.outbox.dropped or feed.undelivered:
        err.print(
            f"[yellow]warning:[/] {feed.outbox.dropped + feed.undelivered:,} reports never reached the server "
            "(see 'dropped' and 'not delivered')"
        )


# -- replay -------------------------------------------------------------------------------------------


def replay(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="FILE",
            help="traffic recording: JSON array or JSON lines (.gz or not), or CSV",
        ),
    ],
    server: ServerOption,
    token: TokenOption,
    speed: Annotated[
        float, typer.Option(min=0, help="replayed seconds per wall-clock second; 0: as fast as possible")
    ] = 1.0,
    shift_to_now: Annotated[
        bool,
        typer.Option(
            help="move all times so the recording starts now (needs --speed 1), for a server on the wall clock"
        ),
    ] = False,
    group: Annotated[
        float, typer.Option(min=0.001, help="seconds of replayed time per request (a --replay server's time step)")
    ] = 1.0,
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="reports per request at most (a larger group is split)")
    ] = MAX_BATCH,
    max_reports: Annotated[int | None, typer.Option(min=1, help="replay only the first N reports")] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="replay only the first S seconds of the recording")
    ] = None,
    max_backoff: MaxBackoffOption = 10.0,
) -> None:
    """Replay recorded traffic to the server in time order, paced to its own time divided by --speed.

    Columns: timestamp (ms), icao24, callsign, latitude, longitude, altitude (ft), groundspeed, track, vertical_rate.

    Records without a position, altitude or velocity are skipped and counted.

    To a server started with `serve --replay` send the recorded times; to one on the wall clock, use --shift-to-now.

    Exit 0, or 1 if stopped before all was sent; 2 on errors.
    """
    base = _server(server)
    try:
        pace = Pace(speed=speed, group_s=group, batch_size=batch_size)
    except ValueError as exc:
        fail(str(exc))
    if shift_to_now and speed != 1:
        fail(
            "--shift-to-now replays in real time (--speed 1): on a server that follows the wall clock, a faster "
            "or slower replay would send reports from the future or the past; use a server started with --replay"
        )
    with err.status(f"reading {file}"):
        try:
            recording = load(file)
        except ReplayError as exc:
            fail(str(exc))
    _print_loaded(recording)
    reports = recording.reports
    if duration is not None and reports:
        end = reports[0].at + timedelta(seconds=duration)
        reports = [r for r in reports if r.at < end]
    reports = reports[:max_reports] if max_reports is not None else reports
    if not reports:
        fail(f"{file}: nothing to replay")
    now = SystemClock().now()
    shift = now - reports[0].at if shift_to_now else timedelta(0)
    if not shift_to_now and abs((now - reports[0].at).total_seconds()) > 3600:
        err.print(
            f"[yellow]note:[/] the recording is from {reports[0].at:%Y-%m-%d %H:%M} UTC: unless the server runs with "
            "--replay, it refuses reports that old (--shift-to-now moves them to now)"
        )
    _log(
        f"replaying {len(reports):,} reports, {_span(reports[0].at, reports[-1].at)}"
        + (f" as {_span(reports[0].at + shift, reports[-1].at + shift)}" if shift_to_now else "")
        + (f" at {speed:g}x" if speed else " as fast as possible")
        + f" to {base}"
    )
    with TrackPoster(base, token) as poster:
        sender = Sender(poster, _log, backoff=Backoff(max_s=max_backoff))
        started = time.monotonic()
        with _stop_on_signals() as stop:
            try:
                done = _replay_with_progress(reports, sender, pace, stop, shift)
            except ServerRefused as exc:
                _print_replay_summary(recording, sender.tally, len(reports), None, time.monotonic() - started)
                fail(str(exc))
        _print_replay_summary(recording, sender.tally, len(reports), done, time.monotonic() - started)
    if done < len(reports):
        raise typer.Exit(1)


def _replay_with_progress(
    reports: list[Report], sender: Sender, pace: Pace, stop: threading.Event, shift: timedelta
) -> int:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("reports · replayed {task.fields[at]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("replay", total=len(reports), at="--:--:--")

        def show(p: Reached) -> None:
            bar.update(task, completed=p.done, at=f"{p.at:%H:%M:%S}" if p.at else "--:--:--")

        return run_replay(reports, sender, pace, stop, shift=shift, on_progress=show).done


def _span(first: datetime, last: datetime) -> str:
    return f"{first:%Y-%m-%d %H:%M:%S}–{last:%H:%M:%S} UTC ({(last - first).total_seconds():,.0f} s)"


def _print_loaded(recording: Recording) -> None:
    span = recording.span()
    what = f"{len(recording.reports):,} reports of {recording.aircraft:,} aircraft"
    if span is not None:
        what += f", {_span(*span)}"
    skipped = sum(recording.skipped.values())
    if skipped:
        what += " · skipped " + ", ".join(f"{n:,} {reason}" for reason, n in recording.skipped.most_common())
    _log(f"{recording.path}: {recording.records:,} records: {what}")


def _print_replay_summary(recording: Recording, tally: Tally, planned: int, done: int | None, elapsed_s: float) -> None:
    table = _summary(f"replay of {recording.path.name}", elapsed_s)
    table.add_row("records read", f"{recording.records:,}")
    _add_counts(table, "skipped records", sum(recording.skipped.values()), recording.skipped)
    table.add_row("reports to replay", f"{planned:,}")
    _add_tally(table, tally)
    not_sent = planned - (done if done is not None else tally.sent)
    table.add_row("not sent", f"{not_sent:,}")
    table.add_row("reports/s", f"{tally.sent / max(elapsed_s, 1e-9):,.0f}")
    err.print(table)
