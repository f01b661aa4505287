"""The SBS-1 / BaseStation text format (dump1090, readsb: TCP port 30003), parsed into track reports.

Each line is one comma-separated message about one aircraft (its ICAO 24-bit address, in hex); a
message carries only some fields: identification (type 1: callsign), airborne position (type 3:
altitude, latitude, longitude), airborne velocity (type 4: ground speed, track, vertical rate), and
others. `Assembler` keeps the latest of each per aircraft and emits a full report whenever a new
position arrives for an aircraft whose velocity is known.

Units as on the wire: altitude in feet, ground speed in knots, track in degrees, vertical rate in
feet per minute. Times are UTC (dump1090 writes the receiver's clock; the caller decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime


class SbsError(ValueError):
    """A line that is not a usable SBS message (the reader counts these and goes on)."""


@dataclass(frozen=True)
class SbsMessage:
    transmission: int
    icao24: str
    at: datetime | None
    callsign: str | None = None
    altitude_ft: float | None = None
    ground_speed_kt: float | None = None
    track_deg: float | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    vertical_rate_fpm: float | None = None


def parse_line(line: str) -> SbsMessage:
    parts = line.strip().split(",")
    if len(parts) < 22 or parts[0] != "MSG":
        raise SbsError(f"not an SBS MSG line with 22 fields: {line.strip()[:80]!r}")
    try:
        transmission = int(parts[1])
    except ValueError:
        raise SbsError(f"bad transmission type {parts[1]!r}") from None
    icao24 = parts[4].strip().lower()
    if len(icao24) != 6 or any(c not in "0123456789abcdef" for c in icao24):
        raise SbsError(f"bad ICAO address {parts[4]!r}")
    msg = SbsMessage(
        transmission=transmission,
        icao24=icao24,
        at=_time(parts[6], parts[7]),
        callsign=parts[10].strip() or None,
        altitude_ft=_number(parts[11], "altitude"),
        ground_speed_kt=_number(parts[12], "ground speed"),
        track_deg=_number(parts[13], "track"),
        lat_deg=_number(parts[14], "latitude"),
        lon_deg=_number(parts[15], "longitude"),
        vertical_rate_fpm=_number(parts[16], "vertical rate"),
    )
    if (msg.lat_deg is None) != (msg.lon_deg is None):
        raise SbsError("a position needs both latitude and longitude")
    lat, lon = msg.lat_deg, msg.lon_deg
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SbsError(f"position out of range: {lat}, {lon}")
    return msg


def _number(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise SbsError(f"bad {what} {text!r}") from None
    if not math.isfinite(value):
        raise SbsError(f"bad {what} {text!r}")
    return value


def _time(date: str, time: str) -> datetime | None:
    if not date.strip() or not time.strip():
        return None
    try:
        return datetime.strptime(f"{date.strip()} {time.strip()}", "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        raise SbsError(f"bad date/time {date!r} {time!r}") from None


@dataclass(frozen=True)
class Report:
    """One full position report, as `POST /api/v1/tracks` takes it (wire units)."""

    icao24: str
    callsign: str | None
    at: datetime
    lat_deg: float
    lon_deg: float
    altitude_ft: float
    ground_speed_kt: float
    track_deg: float
    vertical_rate_fpm: float


@dataclass
class _Known:
    callsign: str | None = None
    altitude_ft: float | None = None
    ground_speed_kt: float | None = None
    track_deg: float | None = None
    vertical_rate_fpm: float = 0.0


@dataclass
class Assembler:
    """Merges partial messages per aircraft into full reports."""

    known: dict[str, _Known] = field(default_factory=dict)

    def add(self, msg: SbsMessage, received_at: datetime) -> Report | None:
        k = self.known.setdefault(msg.icao24, _Known())
        updates = {
            "callsign": msg.callsign,
            "altitude_ft": msg.altitude_ft,
            "ground_speed_kt": msg.ground_speed_kt,
            "track_deg": msg.track_deg,
            "vertical_rate_fpm": msg.vertical_rate_fpm,
        }
        for name, value in updates.items():
            if value is not None:
                setattr(k, name, value)
        if msg.lat_deg is None or msg.lon_deg is None:
            return None
        if k.altitude_ft is None or k.ground_speed_kt is None or k.track_deg is None:
            return None  # a position without a known velocity cannot be projected yet
        return Report(
            icao24=msg.icao24,
            callsign=k.callsign,
            at=msg.at or received_at,
            lat_deg=msg.lat_deg,
            lon_deg=msg.lon_deg,
            altitude_ft=k.altitude_ft,
            ground_speed_kt=k.ground_speed_kt,
            track_deg=k.track_deg,
            vertical_rate_fpm=k.vertical_rate_fpm,
        )
