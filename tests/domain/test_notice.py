"""Minimum notice on server time: messages name the right extent; late notices merge per agreement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, LatePolicy
from deconflict.domain.errors import NoticeTooLate
from deconflict.domain.notice import check_notice, format_duration, merge_late
from deconflict.domain.operations import LateNotice
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _book(policy: LatePolicy) -> AgreementBook:
    rules = Agreement(
        "ag", "pact", frozenset({"a", "b"}), None, 3600.0, Buffers(0, 0, 0), policy, AgreementState.ACTIVE
    )
    return AgreementBook([rules])


def _starting_in(minutes: float) -> Volume4D:
    start = NOW + timedelta(minutes=minutes)
    return Volume4D(
        circle_outline(LatLng(0, 0), 1000, Limits()),
        AltitudeBand(0, 100),
        TimeWindow(start, start + timedelta(hours=1)),
    )


def test_reject_names_the_extent_by_its_position_in_the_request() -> None:
    with pytest.raises(NoticeTooLate) as caught:
        check_notice("a", [_starting_in(30)], NOW, _book(LatePolicy.REJECT), positions=[3])
    assert caught.value.field == "extents[3].time_start"
    assert "extent 3 starts in 30 min 00 s" in caught.value.detail
    assert caught.value.extra["late_by_s"] == pytest.approx(1800.0)


def test_flag_keeps_the_latest_per_agreement() -> None:
    flagged = check_notice("a", [_starting_in(50), _starting_in(10)], NOW, _book(LatePolicy.FLAG))
    assert flagged == (LateNotice("ag", 3600.0, 600.0),)
    assert check_notice("a", [_starting_in(61)], NOW, _book(LatePolicy.REJECT)) == ()


def test_merge_late_keeps_every_agreement_and_the_larger_lateness() -> None:
    earlier = (LateNotice("x", 3600.0, 600.0), LateNotice("y", 1800.0, 1700.0))
    later = (LateNotice("y", 1800.0, 100.0), LateNotice("z", 60.0, 0.0))
    assert merge_late(earlier, later) == (
        LateNotice("x", 3600.0, 600.0),
        LateNotice("y", 1800.0, 100.0),
        LateNotice("z", 60.0, 0.0),
    )


def test_format_duration() -> None:
    assert format_duration(3723) == "1 h 02 min 03 s"
    assert format_duration(59.6) == "1 min 00 s"
    assert format_duration(5) == "5 s"
