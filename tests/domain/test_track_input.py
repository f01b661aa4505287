"""Per-report checks of position reports: each bad field named, good reports of the batch kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconflict.domain.tactical import FT_M, KT_MPS
from deconflict.domain.track_input import ReportLimits, check_reports

NOW = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)


def report(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "aircraft_id": "3c6444",
        "callsign": "DLH9U",
        "time": (NOW - timedelta(seconds=1)).isoformat(),
        "lat_deg": 48.5,
        "lng_deg": 2.5,
        "altitude_ft": 35000,
        "ground_speed_kt": 450,
        "track_deg": 270,
        "vertical_rate_fpm": 0,
    }
    base.update(change)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_good_report_becomes_a_state_in_si_units() -> None:
    checked = check_reports([report()], "p1", NOW, {})
    assert checked.rejected == []
    (state,) = checked.accepted
    assert state.party_id == "p1"
    assert state.alt_m == pytest.approx(35000 * FT_M)
    assert state.ground_speed_mps == pytest.approx(450 * KT_MPS)
    assert state.at == NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"aircraft_id": ...}, "aircraft_id: required"),
        ({"aircraft_id": "  "}, "aircraft_id: required"),
        ({"lat_deg": ...}, "lat_deg: required"),
        ({"lat_deg": float("nan")}, "lat_deg: must be finite"),
        ({"lat_deg": 91}, "lat_deg: 91 is outside [-90, 90]"),
        ({"lng_deg": "2.5"}, "lng_deg: must be a number, not str"),
        ({"track_deg": 360}, "track_deg: 360 is outside [0, 360)"),
        ({"ground_speed_kt": 5000}, "ground_speed_kt: 5000 is outside [0, 2000]"),
        ({"ground_speed_kt": -1}, "ground_speed_kt: -1 is outside"),
        ({"altitude_ft": True}, "altitude_ft: must be a number, not bool"),
        ({"vertical_rate_fpm": float("inf")}, "vertical_rate_fpm: must be finite"),
        ({"time": "yesterday"}, "is not an RFC 3339 timestamp"),
        ({"time": "2031-06-01T07:59:59"}, "has no UTC offset"),
        ({"time": (NOW + timedelta(seconds=60)).isoformat()}, "60.0 s ahead of server time"),
        ({"time": (NOW - timedelta(hours=1)).isoformat()}, "3600.0 s old"),
        ({"callsign": 7}, "callsign: at most 16 printable characters"),
        ({"callsign": "AB\x00C"}, "callsign: at most 16 printable characters"),
        ({"aircraft_id": "3c\x006444"}, "aircraft_id: at most 32 printable characters"),
        ({"altitude_ft": 10**400}, "altitude_ft: 1000000000000000000"),
        ({"time": "9999-12-31T23:59:59-01:00"}, "is out of range"),
    ],
)
def test_each_bad_field_is_named_and_the_good_report_beside_it_is_kept(change: dict[str, Any], reason: str) -> None:
    good = report(aircraft_id="good")
    checked = check_reports([report(**change), good], "p1", NOW, {})
    assert [s.aircraft_id for s in checked.accepted] == ["good"]
    (bad,) = checked.rejected
    assert bad.index == 0
    assert any(reason in r for r in bad.reasons), bad.reasons


def test_every_problem_of_one_report_is_listed() -> None:
    checked = check_reports([report(lat_deg=None, ground_speed_kt=float("nan"), time=None)], "p1", NOW, {})
    assert len(checked.rejected[0].reasons) == 3


def test_not_an_object() -> None:
    checked = check_reports(["3c6444", None], "p1", NOW, {})
    assert [r.reasons for r in checked.rejected] == [
        ("a report must be an object, not str",),
        ("a report must be an object, not NoneType",),
    ]


def test_duplicates_and_out_of_order_within_a_batch_and_against_the_stored_state() -> None:
    t = NOW - timedelta(seconds=10)
    first = report(time=t.isoformat())
    same = report(time=t.isoformat())
    older = report(time=(t - timedelta(seconds=1)).isoformat())
    later = report(time=(t + timedelta(seconds=1)).isoformat(), lng_deg=2.497)
    checked = check_reports([first, same, older, later], "p1", NOW, {})
    assert [r.index for r in checked.rejected] == [1, 2]
    assert "duplicate of" in checked.rejected[0].reasons[0]
    assert "older than" in checked.rejected[1].reasons[0]
    stored = {s.aircraft_id: s for s in checked.accepted[-1:]}
    again = check_reports([later], "p1", NOW, stored)
    assert "duplicate of" in again.rejected[0].reasons[0]


def test_a_position_jump_beyond_the_maximum_speed_is_rejected() -> None:
    t = NOW - timedelta(seconds=20)
    here = report(time=t.isoformat())
    # 1 degree of longitude at 48.5 N is ~74 km; in 10 s that is ~14,000 kt
    there = report(time=(t + timedelta(seconds=10)).isoformat(), lng_deg=3.5)
    checked = check_reports([here, there], "p1", NOW, {})
    assert [s.lng_deg for s in checked.accepted] == [2.5]
    assert checked.rejected[0].index == 1
    assert "kt)" in checked.rejected[0].reasons[0]


def test_limits_are_configurable() -> None:
    future = report(time=(NOW + timedelta(seconds=20)).isoformat())
    assert check_reports([future], "p1", NOW, {}).rejected
    assert not check_reports([future], "p1", NOW, {}, ReportLimits(max_future_s=30)).rejected


def test_a_rejected_glitch_is_not_the_reference_for_the_next_report() -> None:
    t = NOW - timedelta(seconds=30)
    good = report(time=t.isoformat())
    glitch = report(time=(t + timedelta(seconds=1)).isoformat(), lat_deg=10.0)
    next_good = report(time=(t + timedelta(seconds=2)).isoformat(), lng_deg=2.4985)
    checked = check_reports([good, glitch, next_good], "p1", NOW, {})
    assert [r.index for r in checked.rejected] == [1]
    assert [s.lng_deg for s in checked.accepted] == [2.5, 2.4985]


def test_times_are_kept_in_utc() -> None:
    checked = check_reports([report(time="2031-06-01T09:59:59+02:00")], "p1", NOW, {})
    assert checked.accepted[0].at.utcoffset() == timedelta(0)
