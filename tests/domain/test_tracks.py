"""Track ageing and dead reckoning, checked against pyproj's geodesic inverse (an independent path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pyproj import Geod

from deconflict.domain.tracks import Ageing, Freshness, TrackState, project

WGS84 = Geod(ellps="WGS84")
T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)


def _state(at: datetime, lat: float = 48.0, lng: float = 2.0, trk: float = 45.0, gs: float = 200.0) -> TrackState:
    return TrackState("p", "3c6586", "DLH4AB", at, lat, lng, 3000.0, gs, trk, 5.0)


def test_freshness_boundaries() -> None:
    ageing = Ageing(stale_after_s=30, drop_after_s=300)
    assert ageing.freshness(_state(T0), T0 + timedelta(seconds=30)) is Freshness.LIVE
    assert ageing.freshness(_state(T0), T0 + timedelta(seconds=30.001)) is Freshness.STALE
    assert ageing.freshness(_state(T0), T0 + timedelta(seconds=301)) is Freshness.DROPPED


@pytest.mark.parametrize(("lat", "lng", "trk"), [(48.0, 2.0, 45.0), (-33.9, 151.2, 200.0), (10.0, 179.9, 90.0)])
def test_projection_travels_the_reported_distance_along_the_reported_track(lat: float, lng: float, trk: float) -> None:
    state = _state(T0, lat, lng, trk)
    now = T0 + timedelta(seconds=60)
    moved = project([state], now)
    az, _, dist = WGS84.inv(lng, lat, float(moved.lng_deg[0]), float(moved.lat_deg[0]))
    assert dist == pytest.approx(200.0 * 60, abs=0.01)
    assert (az - trk + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-6)
    assert moved.alt_m[0] == pytest.approx(3000.0 + 5.0 * 60)
    assert np.hypot(moved.east_mps[0], moved.north_mps[0]) == pytest.approx(200.0)


def test_a_report_from_the_future_is_not_moved_backwards() -> None:
    moved = project([_state(T0 + timedelta(seconds=5))], T0)
    assert (moved.lat_deg[0], moved.lng_deg[0], moved.alt_m[0]) == (48.0, 2.0, 3000.0)
    assert project([], T0).lat_deg.size == 0
