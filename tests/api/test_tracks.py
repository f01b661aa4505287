"""The live picture over HTTP: reporting tracks, the 4xx of bad batches, what each party sees, alerts."""

from __future__ import annotations

from typing import Any

from deconflict.domain.clock import ManualClock
from tests.conftest import ADMIN_TOKEN, Api
from tests.services.live_helpers import at, head_on, report


def test_a_batch_keeps_its_good_reports_and_names_what_is_wrong_with_the_others(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now()
    batch: list[Any] = [
        report("aaa001", now, at(0, 0)),
        {"aircraft_id": "bad1", "time": now.isoformat()},
        "not an object",
        report("aaa002", now, at(90, 1_000), ground_speed_kt=99_999),
    ]
    r = api.post("/api/v1/tracks", two_parties["Blue"], json={"reports": batch})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1
    assert [x["index"] for x in body["rejected"]] == [1, 2, 3]
    assert any("lat_deg: required" in reason for reason in body["rejected"][0]["reasons"])
    assert "ground_speed_kt: 99999 is outside [0, 2000]" in body["rejected"][2]["reasons"]


def test_bad_batches_are_refused_whole_with_a_clear_4xx(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    cases = [
        (None, {"reports": []}, 401),
        (ADMIN_TOKEN, {"reports": []}, 403),
        (blue, {"reports": "nope"}, 422),
        (blue, {"positions": []}, 422),
        (blue, [], 422),
    ]
    for token, body, status in cases:
        r = api.post("/api/v1/tracks", token, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    too_many = {"reports": [{}] * 10_001}
    r = api.post("/api/v1/tracks", blue, json=too_many)
    assert r.status_code == 422
    assert "at most 10000 reports" in r.json()["detail"]
    r = api.post("/api/v1/tracks", blue, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_a_full_batch_of_ten_thousand_fits_the_body_limit(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now()
    batch = [report(f"{k:06x}", now, at(k * 0.036, 50_000.0)) for k in range(10_000)]
    r = api.post("/api/v1/tracks", two_parties["Blue"], json={"reports": batch})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["accepted"] == 10_000


def test_the_live_picture_names_own_aircraft_and_aliases_counterparts(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    api.post("/api/v1/tracks", blue, json={"reports": [report("aaa001", clock.now(), at(0, 0), callsign="VIPER1")]})
    (own,) = api.get("/api/v1/tracks", blue).json()
    (theirs,) = api.get("/api/v1/tracks", red).json()
    assert (own["aircraft_id"], own["callsign"], own["freshness"]) == ("aaa001", "VIPER1", "live")
    assert (theirs["aircraft_id"], theirs["callsign"]) == (None, None)
    assert theirs["track"] == own["track"]
    assert theirs["altitude_ft"] == 35_000.0
    assert "VIPER1" not in api.get("/api/v1/tracks", red).text


def test_alerts_reach_both_parties_on_the_events_feed_and_the_alert_list(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    a, b = head_on(clock.now(), gap_nm=20.0)
    assert api.post("/api/v1/tracks", blue, json={"reports": [a]}).json()["accepted"] == 1
    assert api.post("/api/v1/tracks", red, json={"reports": [b]}).json()["accepted"] == 1
    api.app.state.monitor.cycle()
    for token, own in ((blue, "aaa001"), (red, "bbb002")):
        (alert,) = api.get("/api/v1/alerts", token).json()
        assert alert["kind"] == "loss_of_separation"
        assert alert["level"] == "warning"  # 15 NM at 900 kt: 60 s to loss
        assert {t["aircraft_id"] for t in alert["tracks"]} == {own, None}
        feed = api.get("/api/v1/events", token, params={"after": 0}).json()
        assert any(e["kind"] == "alert" and e["data"]["id"] == alert["id"] for e in feed["events"])
    assert api.get("/api/v1/alerts", ADMIN_TOKEN).status_code == 403
    assert api.get("/api/v1/alerts", blue, params={"recent_s": -1}).status_code == 422


def test_agreement_live_rules_round_trip_and_are_checked(api: Api, two_parties: dict[str, str]) -> None:
    body = {"parties": ["Blue", "Red"], "tactical_lateral_m": 5_556, "lookahead_s": 120, "share_track_identity": True}
    r = api.post("/api/v1/agreements", ADMIN_TOKEN, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["tactical_lateral_m"], out["tactical_vertical_m"], out["lookahead_s"]) == (5_556, 304.8, 120)
    assert out["share_track_identity"] is True
    bad = api.post("/api/v1/agreements", ADMIN_TOKEN, json={**body, "lookahead_s": 0})
    assert bad.status_code == 422
    assert bad.json()["field"] == "lookahead_s"
