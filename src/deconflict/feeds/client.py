"""Posting position reports to `POST /api/v1/tracks`: the wire form, one batch's outcome, retry with backoff.

The server keeps the good reports of a batch and lists the bad ones with reasons (200). A batch it
cannot take whole (413, or 422) is split: the reports a 422 names are counted as rejected with the
server's message and the rest is posted again; otherwise the batch is halved until each part goes
in or is a single refused report. An unreachable, overloaded (429) or failing (5xx) server is worth
retrying; a refused token or role is not. Delivery is at least once: a batch whose answer was lost
(a timeout after the server stored it) is sent again.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deconflict.domain.sbs import Report

#: The most reports the server takes in one request.
MAX_BATCH = 10_000
TRACKS_PATH = "/api/v1/tracks"
NO_SHIFT = timedelta(0)

Log = Callable[[str], None]


class FeedError(Exception):
    """Base of the feeds' errors; the message is for the person running the feed."""


class ServerUnavailable(FeedError):
    """Worth retrying: the server is unreachable, timed out, overloaded (429) or failing (5xx)."""


class ServerRefused(FeedError):
    """Not worth retrying: the token or its role was refused, or the server does not speak this API."""


def parse_server(url: str) -> str:
    """The server's base URL ('http://host:port[/prefix]', no trailing slash); ValueError saying what is wrong."""
    text = url.strip()
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{url!r} is not a URL ({exc})") from None
    bad_port = parsed.port is not None and not 1 <= parsed.port <= 65535
    if parsed.scheme not in ("http", "https") or not parsed.host or bad_port or parsed.query or parsed.fragment:
        raise ValueError(f"{url!r} is not a server URL such as http://127.0.0.1:8000")
    return text.rstrip("/")


def rfc3339(at: datetime) -> str:
    """'2026-11-25T06:00:01.500Z': UTC, in milliseconds (what receivers and recordings carry), or in
    microseconds when the time has them (two reports of one aircraft may be under a millisecond apart)."""
    spec = "milliseconds" if at.microsecond % 1000 == 0 else "microseconds"
    return at.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def report_doc(report: Report, shift: timedelta = NO_SHIFT) -> dict[str, Any]:
    """One report as the API takes it; `shift` moves its time (a replay started "now")."""
    return {
        "aircraft_id": report.icao24,
        "callsign": report.callsign,
        "time": rfc3339(report.at + shift),
        "lat_deg": report.lat_deg,
        "lng_deg": report.lon_deg,
        "altitude_ft": report.altitude_ft,
        "ground_speed_kt": report.ground_speed_kt,
        "track_deg": report.track_deg,
        "vertical_rate_fpm": report.vertical_rate_fpm,
    }


@dataclass(frozen=True)
class Rejection:
    """A report the server refused; `index` is its place in the batch as the caller gave it."""

    index: int
    aircraft_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What the server made of one batch, over however many requests it took."""

    sent: int
    accepted: int
    rejected: tuple[Rejection, ...] = ()
    requests: int = 1


class TrackPoster:
    """Posts batches to one server with one token; `post` makes one delivery attempt."""

    def __init__(
        self, server: str, token: str, *, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.server = parse_server(server)
        self._url = self.server + TRACKS_PATH
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._http = httpx.Client(headers=headers, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TrackPoster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def post(self, reports: Sequence[Report], shift: timedelta = NO_SHIFT) -> Outcome:
        """Deliver one batch; raises ServerUnavailable (retry it) or ServerRefused (give up)."""
        if len(reports) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} reports, not {len(reports)}")
        return self._post_docs([report_doc(r, shift) for r in reports])

    def _post_docs(self, docs: list[dict[str, Any]]) -> Outcome:
        if not docs:
            return Outcome(0, 0, (), 0)
        response = self._send(docs)
        if response.status_code == 200:
            return self._outcome(response, docs)
        if response.status_code in (413, 422):
            return self._split(docs, response)
        raise self._refusal(response)

    def _send(self, docs: list[dict[str, Any]]) -> httpx.Response:
        body = json.dumps({"reports": docs}, separators=(",", ":")).encode()
        try:
            response = self._http.post(self._url, content=body)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"cannot reach {self.server}: {_transport_reason(exc)}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ServerUnavailable(f"{self.server} answered {response.status_code}: {_detail(response)}")
        return response

    def _outcome(self, response: httpx.Response, docs: list[dict[str, Any]]) -> Outcome:
        try:
            body = response.json()
            accepted = int(body["accepted"])
            rejected = tuple(
                Rejection(int(r["index"]), r.get("aircraft_id"), tuple(str(s) for s in r.get("reasons") or ()))
                for r in body["rejected"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerRefused(
                f"{self.server} answered 200 with an unexpected body ({exc}): {response.text[:200]}"
            ) from None
        return Outcome(len(docs), accepted, rejected)

    def _split(self, docs: list[dict[str, Any]], response: httpx.Response) -> Outcome:
        named = _named_reports(response, len(docs))
        if named:
            keep = [i for i in range(len(docs)) if i not in named]
            rest = self._post_docs([docs[i] for i in keep])
            rejected = [Rejection(i, docs[i]["aircraft_id"], tuple(named[i])) for i in named]
            rejected += [Rejection(keep[r.index], r.aircraft_id, r.reasons) for r in rest.rejected]
            return Outcome(len(docs), rest.accepted, tuple(sorted(rejected, key=lambda r: r.index)), rest.requests + 1)
        if len(docs) == 1:
            reason = f"refused by the server ({response.status_code}): {_detail(response)}"
            return Outcome(1, 0, (Rejection(0, docs[0]["aircraft_id"], (reason,)),))
        half = len(docs) // 2
        first, second = self._post_docs(docs[:half]), self._post_docs(docs[half:])
        moved = tuple(Rejection(r.index + half, r.aircraft_id, r.reasons) for r in second.rejected)
        return Outcome(
            len(docs),
            first.accepted + second.accepted,
            first.rejected + moved,
            1 + first.requests + second.requests,
        )

    def _refusal(self, response: httpx.Response) -> ServerRefused:
        what = {
            401: "refused the token",
            403: "refused the token's role (an operator or supervisor token may post tracks)",
            404: f"has no {TRACKS_PATH}",
        }.get(response.status_code, "gave an unexpected answer")
        return ServerRefused(f"{self.server} {what} ({response.status_code}): {_detail(response)}")


_REPORT_FIELD = re.compile(r"^reports\[(\d+)\](?:\.(.+))?$")


def _named_reports(response: httpx.Response, n: int) -> dict[int, list[str]]:
    """{index: reasons} when every error of a 422 problem names one of the batch's reports, else {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    errors = body.get("errors") or [{"field": body.get("field"), "message": body.get("detail")}]
    named: dict[int, list[str]] = {}
    for error in errors:
        m = _REPORT_FIELD.match(str(error.get("field") or "")) if isinstance(error, dict) else None
        if m is None or int(m.group(1)) >= n:
            return {}
        message = str(error.get("message") or "invalid")
        named.setdefault(int(m.group(1)), []).append(f"{m.group(2)}: {message}" if m.group(2) else message)
    return named


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return response.text.strip()[:200]


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\] ", "", text)


_VALUES = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?"  # a time
    r"|(?<![A-Za-z])'[^']*'"  # a quoted value (not an apostrophe)
    r"|(?<![A-Z] )(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"  # a number (not in a name such as RFC 3339)
)


def reason_kind(reason: str) -> str:
    """A server's reason without its values, to count reasons by kind:
    'time: 312.5 s old (at most 300 s)' -> 'time: … s old (at most … s)'."""
    return _VALUES.sub(lambda m: "'…'" if m.group().startswith(("'", '"')) else "…", reason)


@dataclass
class Tally:
    """What the server made of everything delivered so far; `reasons` counts each kind of reason
    (`reason_kind`) once per report."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    requests: int = 0
    retries: int = 0

    def add(self, outcome: Outcome) -> None:
        self.sent += outcome.sent
        self.accepted += outcome.accepted
        self.rejected += len(outcome.rejected)
        for r in outcome.rejected:
            self.reasons.update({reason_kind(reason) for reason in r.reasons} or {"no reason given"})
        self.batches += 1
        self.requests += outcome.requests


@dataclass
class Backoff:
    """Delays that double from `first_s` up to `max_s`; `reset` after a success."""

    first_s: float = 0.5
    max_s: float = 10.0
    _next_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next_s = self.first_s

    def next_delay(self) -> float:
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self.first_s


def _nothing() -> None:
    pass


class Sender:
    """Delivers batches through a poster, retrying with backoff while the server is unavailable and
    saying so (once when it goes, at each retry, and when it is back); keeps the `tally`."""

    def __init__(
        self,
        poster: TrackPoster,
        log: Log,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poster = poster
        self.log = log
        self.backoff = backoff or Backoff()
        self.tally = Tally()
        self._sleep = sleep
        self._monotonic = monotonic
        self._down_since: float | None = None

    def deliver(
        self,
        batch: Sequence[Report],
        give_up: Callable[[], bool],
        tick: Callable[[], None] = _nothing,
        shift: timedelta = NO_SHIFT,
    ) -> bool:
        """True once the server has answered for the batch; False if `give_up()` turned true while
        retrying (the batch was then not delivered). ServerRefused goes to the caller."""
        while True:
            try:
                outcome = self.poster.post(batch, shift)
            except ServerUnavailable as exc:
                self.tally.retries += 1
                delay = self.backoff.next_delay()
                if self._down_since is None:
                    self._down_since = self._monotonic()
                self.log(f"{exc}; holding {len(batch)} reports, retrying in {delay:.1f} s")
                if not self._pause(delay, give_up, tick):
                    return False
                continue
            if self._down_since is not None:
                self.log(f"server {self.poster.server} is back after {self._monotonic() - self._down_since:.1f} s")
                self._down_since = None
            self.backoff.reset()
            self.tally.add(outcome)
            return True

    def _pause(self, delay_s: float, give_up: Callable[[], bool], tick: Callable[[], None]) -> bool:
        end = self._monotonic() + delay_s
        while (left := end - self._monotonic()) > 0:
            if give_up():
                return False
            tick()
            self._sleep(min(left, 0.1))
        return not give_up()
