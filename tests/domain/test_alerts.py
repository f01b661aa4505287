"""Alert lifecycle with hysteresis, driven cycle by cycle on explicit times."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, timedelta

from deconflict.domain.alerts import Change, Hysteresis, OpenAlert, advance

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
KEY = ("loss", "AFR123", "VIPER11")


def _run(levels: list[int | None], hysteresis: Hysteresis = Hysteresis()) -> list[tuple[int, str, int]]:
    """One cycle per second; None means the condition is not observed. Returns (second, change, level)."""
    open_alerts: dict[Hashable, OpenAlert] = {}
    log = []
    for second, level in enumerate(levels):
        observed = {} if level is None else {KEY: level}
        open_alerts, changes = advance(open_alerts, observed, T0 + timedelta(seconds=second), hysteresis)
        log += [(second, c.change.value, c.alert.level) for c in changes]
    return log


def test_raise_upgrade_at_once_downgrade_and_clear_after_holding() -> None:
    levels: list[int | None] = [1, 1, 3, 3, 2, 2, 2, 2, 2, 2, 2, None, None, None, None, None, None]
    assert _run(levels) == [
        (0, "raised", 1),
        (2, "updated", 3),  # worse: at once
        (9, "updated", 2),  # better: only once it held for 5 s (seconds 4..9)
        (15, "cleared", 2),  # gone: only once unseen for 5 s (last seen at 10)
    ]


def test_a_blinking_condition_keeps_one_alert_open() -> None:
    levels: list[int | None] = [2, None, 2, None, 2, None, 2, None, 2]
    assert _run(levels) == [(0, "raised", 2)]


def test_a_level_that_dips_briefly_does_not_downgrade() -> None:
    levels: list[int | None] = [3, 3, 2, 2, 3, 2, 2, 2, 3, 3]
    assert _run(levels) == [(0, "raised", 3)]


def test_zero_hysteresis_reports_every_change() -> None:
    levels: list[int | None] = [1, 2, 1, None, 1]
    assert _run(levels, Hysteresis(0.0, 0.0)) == [
        (0, "raised", 1),
        (1, "updated", 2),
        (2, "updated", 1),
        (3, "cleared", 1),
        (4, "raised", 1),
    ]


def test_transitions_carry_the_previous_level_and_times() -> None:
    first, _ = advance({}, {KEY: 1}, T0)
    later = T0 + timedelta(seconds=3)
    after, (change,) = advance(first, {KEY: 3}, later)
    assert change.change is Change.UPDATED
    assert change.previous_level == 1
    assert (change.alert.raised_at, change.alert.updated_at) == (T0, later)
    assert after[KEY].level == 3
