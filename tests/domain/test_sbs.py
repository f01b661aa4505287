"""SBS-1 / BaseStation lines as dump1090 writes them, good and bad, and their assembly into reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deconflict.domain.sbs import Assembler, SbsError, parse_line

DAY = "2026/11/25"
ID = f"MSG,1,1,1,3C6586,1,{DAY},10:00:00.000,{DAY},10:00:00.000,DLH4AB  ,,,,,,,,,,,0"
POSITION = f"MSG,3,1,1,3C6586,1,{DAY},10:00:01.500,{DAY},10:00:01.510,,37000,,,48.85341,2.34880,,,0,0,0,0"
VELOCITY = f"MSG,4,1,1,3C6586,1,{DAY},10:00:01.000,{DAY},10:00:01.010,,,452.3,87.2,,,-64,,,,,0"
NOW = datetime(2026, 11, 25, 10, 0, 2, tzinfo=UTC)


def test_each_message_type_carries_its_fields() -> None:
    ident, pos, vel = parse_line(ID), parse_line(POSITION), parse_line(VELOCITY)
    assert (ident.transmission, ident.icao24, ident.callsign) == (1, "3c6586", "DLH4AB")
    assert (pos.altitude_ft, pos.lat_deg, pos.lon_deg) == (37000.0, 48.85341, 2.3488)
    assert pos.at == datetime(2026, 11, 25, 10, 0, 1, 500000, tzinfo=UTC)
    assert (vel.ground_speed_kt, vel.track_deg, vel.vertical_rate_fpm) == (452.3, 87.2, -64.0)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM",  # not a MSG
        POSITION.replace("3C6586", "3C65"),  # short address
        POSITION.replace("3C6586", "ZZZZZZ"),
        POSITION.replace("48.85341", "north"),
        POSITION.replace("48.85341", "91.0"),
        POSITION.replace(",2.34880,", ",,"),  # latitude without longitude
        POSITION.replace("37000", "nan"),
        POSITION.replace("MSG,3", "MSG,x"),
        POSITION.replace("10:00:01.500", "25:61:00"),
        POSITION[:40],  # truncated mid-line
    ],
)
def test_malformed_lines_are_refused_with_a_reason(line: str) -> None:
    with pytest.raises(SbsError):
        parse_line(line)


def test_a_report_needs_a_position_and_a_known_velocity() -> None:
    asm = Assembler()
    assert asm.add(parse_line(ID), NOW) is None
    assert asm.add(parse_line(POSITION), NOW) is None  # no velocity yet
    assert asm.add(parse_line(VELOCITY), NOW) is None  # no new position
    report = asm.add(parse_line(POSITION), NOW)
    assert report is not None
    assert (report.icao24, report.callsign, report.altitude_ft) == ("3c6586", "DLH4AB", 37000.0)
    assert (report.ground_speed_kt, report.track_deg, report.vertical_rate_fpm) == (452.3, 87.2, -64.0)
    assert report.at == datetime(2026, 11, 25, 10, 0, 1, 500000, tzinfo=UTC)
    other = POSITION.replace("3C6586", "4CA1FA")
    assert asm.add(parse_line(other), NOW) is None  # velocity is per aircraft


def test_a_message_without_a_time_takes_the_reception_time() -> None:
    asm = Assembler()
    asm.add(parse_line(VELOCITY), NOW)
    untimed = POSITION.replace(f"{DAY},10:00:01.500", ",")
    report = asm.add(parse_line(untimed), NOW)
    assert report is not None
    assert report.at == NOW
