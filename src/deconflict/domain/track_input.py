"""Position reports as parties send them, checked one by one so that a bad report never sinks its batch.

The wire uses the units of ADS-B and of the `traffic` library: degrees, feet, knots, feet per
minute. A report is turned into a `TrackState` (SI units) or rejected with every reason found:

- a missing, non-numeric or non-finite field; a latitude, longitude, track, altitude, ground speed
  or vertical rate outside its physical range (`ReportLimits`);
- a time more than `max_future_s` ahead of the server clock, or older than `max_age_s`;
- a duplicate (same aircraft, same time as a report already kept) or an out-of-order report
  (older than the aircraft's latest), within the batch or against the stored state;
- a position jump from the aircraft's latest report that would need more than the maximum speed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from deconflict.domain.geodesy import GEOD
from deconflict.domain.tactical import FPM_MPS, FT_M, KT_MPS
from deconflict.domain.tracks import TrackState

MAX_ID_CHARS = 32
MAX_CALLSIGN_CHARS = 16


@dataclass(frozen=True)
class ReportLimits:
    max_future_s: float = 5.0
    max_age_s: float = 300.0
    #: About Mach 3 at altitude: faster is a corrupt report, not an aircraft.
    max_ground_speed_kt: float = 2_000.0
    max_vertical_rate_fpm: float = 60_000.0
    min_altitude_ft: float = -2_000.0
    max_altitude_ft: float = 150_000.0
    #: A jump between consecutive reports may imply up to this much more than the maximum speed
    #: (position noise and rounding of report times).
    jump_slack: float = 1.5


@dataclass(frozen=True)
class Rejected:
    index: int
    aircraft_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    accepted: list[TrackState]
    rejected: list[Rejected]


_RANGES = (
    ("lat_deg", -90.0, 90.0),
    ("lng_deg", -180.0, 180.0),
    ("track_deg", 0.0, 360.0),
)


def check_reports(
    reports: Sequence[Any],
    party_id: str,
    now: datetime,
    latest: Mapping[str, TrackState],
    limits: ReportLimits = ReportLimits(),
) -> Checked:
    """Every report of the batch accepted as a state or rejected with its reasons.

    `latest` is the party's latest state per aircraft before this batch.
    """
    accepted: list[TrackState] = []
    accepted_index: list[int] = []
    rejected: list[Rejected] = []
    newest: dict[str, TrackState] = {}
    bounds = (
        *_RANGES,
        ("altitude_ft", limits.min_altitude_ft, limits.max_altitude_ft),
        ("ground_speed_kt", 0.0, limits.max_ground_speed_kt),
        ("vertical_rate_fpm", -limits.max_vertical_rate_fpm, limits.max_vertical_rate_fpm),
    )
    for index, raw in enumerate(reports):
        aircraft_id = raw.get("aircraft_id") if isinstance(raw, dict) else None
        state, reasons = _one(raw, party_id, now, limits, bounds)
        if state is not None:
            before = newest.get(state.aircraft_id) or latest.get(state.aircraft_id)
            if before is not None and state.at <= before.at:
                what = "duplicate of" if state.at == before.at else "older than"
                reasons.append(f"time: {what} the aircraft's latest report ({before.at.isoformat()})")
        if reasons:
            rejected.append(Rejected(index, aircraft_id if isinstance(aircraft_id, str) else None, tuple(reasons)))
            continue
        assert state is not None
        newest[state.aircraft_id] = state
        accepted.append(state)
        accepted_index.append(index)
    jumped = _impossible_jumps(accepted, latest, limits)
    if not jumped:
        return Checked(accepted, rejected)
    kept = [s for k, s in enumerate(accepted) if k not in jumped]
    rejected += [Rejected(accepted_index[k], accepted[k].aircraft_id, (reason,)) for k, reason in jumped.items()]
    rejected.sort(key=lambda r: r.index)
    return Checked(kept, rejected)


def _one(
    raw: Any, party_id: str, now: datetime, limits: ReportLimits, bounds: tuple[tuple[str, float, float], ...]
) -> tuple[TrackState | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"a report must be an object, not {type(raw).__name__}"]
    reasons: list[str] = []
    aircraft_id = raw.get("aircraft_id")
    if not isinstance(aircraft_id, str) or not aircraft_id.strip():
        reasons.append("aircraft_id: required, a non-empty string")
    elif len(aircraft_id) > MAX_ID_CHARS or not aircraft_id.isprintable():
        reasons.append(f"aircraft_id: at most {MAX_ID_CHARS} printable characters")
    callsign = raw.get("callsign")
    if callsign is not None and (
        not isinstance(callsign, str) or len(callsign.strip()) > MAX_CALLSIGN_CHARS or not callsign.isprintable()
    ):
        reasons.append(f"callsign: at most {MAX_CALLSIGN_CHARS} printable characters, or null")
    values: dict[str, float] = {}
    for name, low, high in bounds:
        raw_value = raw.get(name, _MISSING)
        kind = type(raw_value)
        if kind is float or (kind is int and -1e15 < raw_value < 1e15):  # fast path (NaN fails below)
            quick = float(raw_value)
            if low <= quick < high or (quick == high and name != "track_deg"):
                values[name] = quick
                continue
        value = _number(raw_value, name, reasons)
        if value is None:
            continue
        if not low <= value <= high or (name == "track_deg" and value == high):
            interval = "[0, 360)" if name == "track_deg" else f"[{low:g}, {high:g}]"
            reasons.append(f"{name}: {value:g} is outside {interval}")
        values[name] = value
    at = _time(raw.get("time"), now, limits, reasons)
    if reasons:
        return None, reasons
    assert isinstance(aircraft_id, str)
    assert at is not None
    return (
        TrackState(
            party_id=party_id,
            aircraft_id=aircraft_id.strip(),
            callsign=(callsign.strip() or None) if isinstance(callsign, str) else None,
            at=at,
            lat_deg=values["lat_deg"],
            lng_deg=values["lng_deg"],
            alt_m=values["altitude_ft"] * FT_M,
            ground_speed_mps=values["ground_speed_kt"] * KT_MPS,
            track_deg=values["track_deg"],
            vertical_rate_mps=values["vertical_rate_fpm"] * FPM_MPS,
        ),
        reasons,
    )


_MISSING = object()


def _number(value: Any, name: str, reasons: list[str]) -> float | None:
    if value is _MISSING or value is None:
        reasons.append(f"{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        reasons.append(f"{name}: must be a number, not {type(value).__name__}")
        return None
    try:
        number = float(value)
    except OverflowError:
        reasons.append(f"{name}: {str(value)[:20]}... is out of range")
        return None
    if not math.isfinite(number):
        reasons.append(f"{name}: must be finite, not {value}")
        return None
    return number


def report_time(value: Any) -> datetime | str:
    """A report's time in UTC, or the reason it is not one."""
    if not isinstance(value, str):
        return "time: required, an RFC 3339 UTC timestamp"
    try:
        at = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return f"time: {value[:40]!r} is not an RFC 3339 timestamp"
    if at.tzinfo is None:
        return f"time: {value[:40]!r} has no UTC offset"
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return f"time: {value[:40]!r} is out of range"


def _time(value: Any, now: datetime, limits: ReportLimits, reasons: list[str]) -> datetime | None:
    at = report_time(value)
    if isinstance(at, str):
        reasons.append(at)
        return None
    ahead_s = (at - now).total_seconds()
    if ahead_s > limits.max_future_s:
        reasons.append(f"time: {ahead_s:.1f} s ahead of server time (at most {limits.max_future_s:g} s)")
    elif -ahead_s > limits.max_age_s:
        reasons.append(f"time: {-ahead_s:.1f} s old (at most {limits.max_age_s:g} s)")
    else:
        return at
    return None


def _impossible_jumps(
    accepted: list[TrackState], latest: Mapping[str, TrackState], limits: ReportLimits
) -> dict[int, str]:
    """Reports whose distance from the aircraft's last kept report needs more than the maximum speed.

    Checked in rounds: first each aircraft's first report of the batch against its stored state, then
    its second against whichever report was kept last, and so on, so a rejected glitch is never the
    reference for the next report. Each round is one vectorised geodesic computation.
    """
    previous: dict[str, TrackState] = dict(latest)
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for k, state in enumerate(accepted):
        r = seen.get(state.aircraft_id, 0)
        seen[state.aircraft_id] = r + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(k)
    max_mps = limits.max_ground_speed_kt * KT_MPS * limits.jump_slack
    out: dict[int, str] = {}
    for members in rounds:
        pairs = [
            (k, previous[accepted[k].aircraft_id], accepted[k]) for k in members if accepted[k].aircraft_id in previous
        ]
        for k in members:
            previous[accepted[k].aircraft_id] = accepted[k]
        if not pairs:
            continue
        n = len(pairs)
        lng1 = np.fromiter((p[1].lng_deg for p in pairs), float, n)
        lat1 = np.fromiter((p[1].lat_deg for p in pairs), float, n)
        lng2 = np.fromiter((p[2].lng_deg for p in pairs), float, n)
        lat2 = np.fromiter((p[2].lat_deg for p in pairs), float, n)
        dt_s = np.fromiter(((p[2].at - p[1].at).total_seconds() for p in pairs), float, n)
        _, _, dist = GEOD.inv(lng1, lat1, lng2, lat2)
        dist_m = np.asarray(dist)
        for b in np.flatnonzero(dist_m > max_mps * dt_s + 100.0).tolist():  # 100 m: position noise
            k, before, _ = pairs[b]
            d, dt = float(dist_m[b]), float(dt_s[b])
            out[k] = f"position: {d:.0f} m from the previous report {dt:.1f} s earlier ({d / dt / KT_MPS:.0f} kt)"
            previous[accepted[k].aircraft_id] = before  # the glitch is not the next report's reference
    return out
