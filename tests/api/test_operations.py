"""HTTP: filing, conflicts at the counterpart, versions, transitions, dry runs, notice; in-process."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from deconflict.domain.clock import ManualClock
from tests.conftest import T0, Api, volume


def test_file_and_counterpart_sees_conflict(api: Api, two_parties: dict[str, str]) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    a = api.post("/api/v1/operations", blue, json={"extents": [volume()], "private": {"purpose": "exercise"}})
    assert a.status_code == 201, a.text
    assert a.json()["conflicts"] == []
    b = api.post("/api/v1/operations", red, json={"extents": [volume(lng=2.40)]})
    assert b.status_code == 201
    (conflict,) = b.json()["conflicts"]
    assert conflict["theirs"]["id"] == a.json()["operation"]["id"]
    assert conflict["horizontal_distance_m"] == 0.0
    assert conflict["overlap"]["type"] == "Polygon"
    seen_by_blue = api.get("/api/v1/conflicts", blue).json()
    assert [c["theirs"]["id"] for c in seen_by_blue] == [b.json()["operation"]["id"]]
    assert seen_by_blue[0]["mine"]["id"] == a.json()["operation"]["id"]


@pytest.mark.parametrize(
    ("lat", "lng"), [(0.0, 0.0), (0.0, 10.0), (0.0, 179.97), (-0.0, -180.0), (89.9, 0.0), (-89.9, 45.0)]
)
def test_overlapping_filings_on_the_equator_the_antimeridian_and_near_a_pole(
    api: Api, two_parties: dict[str, str], lat: float, lng: float
) -> None:
    """Exact coordinates where the formulas meet 0/0 or wrap: both sides still get their conflict (no 500)."""
    blue, red = two_parties["Blue"], two_parties["Red"]
    a = api.post("/api/v1/operations", blue, json={"extents": [volume(lat=lat, lng=lng)]})
    assert a.status_code == 201, a.text
    # About 8 km due west: the lens then holds the first vertex of the filing's own disc, due east of its centre.
    west_lng = lng - 8_000.0 / (111_320.0 * math.cos(math.radians(lat)))
    b = api.post("/api/v1/operations", red, json={"extents": [volume(lat=lat, lng=(west_lng + 180) % 360 - 180)]})
    assert b.status_code == 201, b.text
    (conflict,) = b.json()["conflicts"]
    assert conflict["theirs"]["id"] == a.json()["operation"]["id"]
    assert conflict["horizontal_distance_m"] == 0.0
    assert conflict["overlap"]["type"] == "Polygon"
    assert [c["theirs"]["id"] for c in api.get("/api/v1/conflicts", blue).json()] == [b.json()["operation"]["id"]]


def test_update_with_stale_version_is_409(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    op = api.post("/api/v1/operations", blue, json={"extents": [volume()]}).json()["operation"]
    ok = api.put(f"/api/v1/operations/{op['id']}", blue, json={"extents": [volume(lat=50)], "version": op["version"]})
    assert ok.status_code == 200
    stale = api.put(f"/api/v1/operations/{op['id']}", blue, json={"extents": [volume()], "version": op["version"]})
    assert stale.status_code == 409
    assert stale.json()["field"] == "version"
    assert stale.json()["current_version"] == ok.json()["operation"]["version"]


def test_transitions(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    op = api.post("/api/v1/operations", blue, json={"extents": [volume()], "state": "proposed"}).json()["operation"]
    assert api.post(f"/api/v1/operations/{op['id']}/activate", blue).status_code == 409
    accepted = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [volume()], "version": op["version"], "state": "accepted"},
    )
    assert accepted.json()["operation"]["state"] == "accepted"
    r = api.post(f"/api/v1/operations/{op['id']}/activate", blue, json={"version": "stale"})
    assert r.status_code == 409
    blocked = api.post(f"/api/v1/operations/{op['id']}/activate", blue)
    assert blocked.status_code == 409
    assert "has not acknowledged" in blocked.json()["blockers"][0]
    latest = api.get("/api/v1/notices", two_parties["Red"], params={"operation_id": op["id"], "status": "pending"})
    assert [n["trigger"] for n in latest.json()] == ["changed"]
    ack = api.post(
        f"/api/v1/notices/{latest.json()[0]['id']}/ack", two_parties["Red"], json={"decision": "acknowledged"}
    )
    assert ack.status_code == 200, ack.text
    assert api.post(f"/api/v1/operations/{op['id']}/activate", blue).json()["operation"]["state"] == "activated"
    assert api.post(f"/api/v1/operations/{op['id']}/end", blue).json()["operation"]["state"] == "ended"
    assert api.post(f"/api/v1/operations/{op['id']}/cancel", blue).status_code == 409


def test_reject_on_conflict_returns_409_with_conflicts(api: Api, two_parties: dict[str, str]) -> None:
    api.post("/api/v1/operations", two_parties["Blue"], json={"extents": [volume()]})
    r = api.post("/api/v1/operations", two_parties["Red"], json={"extents": [volume()], "reject_on_conflict": True})
    assert r.status_code == 409
    assert len(r.json()["conflicts"]) == 1
    assert api.get("/api/v1/operations", two_parties["Red"]).json()[0]["party_id"] != r.json().get("party_id")
    assert len(api.get("/api/v1/operations", two_parties["Red"]).json()) == 1


def test_dry_run_check_reports_conflicts_and_notice_without_storing(api: Api, two_parties: dict[str, str]) -> None:
    api.post("/api/v1/operations", two_parties["Blue"], json={"extents": [volume()]})
    late = volume(lat=10.0, start=T0 + timedelta(minutes=10))
    r = api.post("/api/v1/operations/check", two_parties["Red"], json={"extents": [volume(), late]})
    assert r.status_code == 200
    assert len(r.json()["conflicts"]) == 1
    assert "late by 20 min" in r.json()["notice_error"]
    assert len(api.get("/api/v1/operations", two_parties["Red"]).json()) == 1


def test_late_filing_message_uses_server_clock(api: Api, two_parties: dict[str, str], clock: ManualClock) -> None:
    body = {"extents": [volume(start=T0 + timedelta(minutes=40))]}
    clock.advance(15 * 60)  # the filing is judged on server time when it is stored: now 25 min ahead
    r = api.post("/api/v1/operations", two_parties["Blue"], json=body)
    assert r.status_code == 422
    assert r.json()["field"] == "extents[0].time_start"
    assert r.json()["late_by_s"] == 300.0
    assert "late by 5 min 00 s" in r.json()["detail"]


def test_list_filters(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    api.post("/api/v1/operations", blue, json={"extents": [volume(lat=48.85, lng=2.35)]})
    api.post("/api/v1/operations", blue, json={"extents": [volume(lat=-33.9, lng=151.2, start=T0 + timedelta(days=2))]})
    api.post("/api/v1/operations", blue, json={"extents": [volume(lat=10.0, lng=179.95)]})
    assert len(api.get("/api/v1/operations", blue, params={"bbox": "2,48,3,49"}).json()) == 1
    assert len(api.get("/api/v1/operations", blue, params={"bbox": "179,9,-179,11"}).json()) == 1
    after = (T0 + timedelta(days=1)).isoformat()
    assert len(api.get("/api/v1/operations", blue, params={"time_start": after}).json()) == 1
    assert len(api.get("/api/v1/operations", blue, params={"state": "ended"}).json()) == 0
    assert api.get("/api/v1/operations", blue, params={"bbox": "nope"}).status_code == 422
    swapped = api.get("/api/v1/operations", blue, params={"bbox": "2,49,3,48"})
    assert swapped.status_code == 422
    assert "south" in swapped.json()["detail"]


def test_corridor_and_feet(api: Api, two_parties: dict[str, str]) -> None:
    v = volume()
    del v["volume"]["outline_circle"]
    v["volume"]["outline_corridor"] = {
        "path": [{"lat": 48.8, "lng": 2.2}, {"lat": 48.9, "lng": 2.5}],
        "half_width": {"value": 500, "units": "M"},
    }
    v["volume"]["altitude_upper"] = {"value": 1000, "reference": "W84", "units": "FT"}
    r = api.post("/api/v1/operations", two_parties["Blue"], json={"extents": [v]})
    assert r.status_code == 201, r.text
    extent = r.json()["operation"]["extents"][0]["volume"]
    assert len(extent["outline_polygon"]["vertices"]) > 4
    assert extent["altitude_upper"] == {"value": 304.8, "reference": "W84", "units": "M"}


def test_health_and_docs(api: Api) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    assert api.get("/docs").status_code == 200
    assert "/api/v1/operations" in api.get("/openapi.json").json()["paths"]


def test_an_update_without_a_state_keeps_it_even_when_activated(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    op = api.post("/api/v1/operations", blue, json={"extents": [volume()], "state": "proposed"}).json()["operation"]
    kept = api.put(f"/api/v1/operations/{op['id']}", blue, json={"extents": [volume(lat=50)], "version": op["version"]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["operation"]["state"] == "proposed"
    accepted = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [volume(lat=50)], "version": kept.json()["operation"]["version"], "state": "accepted"},
    ).json()["operation"]
    for notice in api.get("/api/v1/notices", two_parties["Red"], params={"status": "pending"}).json():
        api.post(f"/api/v1/notices/{notice['id']}/ack", two_parties["Red"], json={"decision": "acknowledged"})
    activated = api.post(f"/api/v1/operations/{op['id']}/activate", blue, json={"version": accepted["version"]})
    assert activated.status_code == 200, activated.text
    moved = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [volume(lat=50.01)], "version": activated.json()["operation"]["version"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["operation"]["state"] == "activated"
    back = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [volume(lat=50.01)], "version": moved.json()["operation"]["version"], "state": "proposed"},
    )
    assert back.status_code == 422
    assert back.json()["field"] == "state"


def test_an_update_keeps_omitted_private_details_and_may_resend_an_ended_extent(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    blue = two_parties["Blue"]
    first, second = volume(start=T0 + timedelta(hours=1), hours=1), volume(lat=49.0, start=T0 + timedelta(hours=3))
    private = {"callsigns": ["BLUE1"], "aircraft_ids": ["3c4b26"], "aircraft_count": 3, "purpose": "survey"}
    op = api.post("/api/v1/operations", blue, json={"extents": [first, second], "private": private}).json()
    op = op["operation"]
    clock.advance(2.5 * 3600)  # the first extent has ended, the second starts in 30 min
    moved = volume(lat=49.01, start=T0 + timedelta(hours=4))
    r = api.put(f"/api/v1/operations/{op['id']}", blue, json={"extents": [first, moved], "version": op["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["operation"]["private"] == private  # omitted: kept
    # ... but an extent that is new (or changed) may not end in the past, and the error names it.
    over = volume(lat=50.0, start=T0, hours=1)
    stale = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [first, moved, over], "version": r.json()["operation"]["version"]},
    )
    assert stale.status_code == 422
    assert stale.json()["field"] == "extents[2].time_end"
    assert "is in the past" in stale.json()["detail"]
    # A new filing still refuses an ended extent outright.
    filed = api.post("/api/v1/operations", blue, json={"extents": [first]})
    assert filed.status_code == 422
    assert filed.json()["field"] == "extents[0].time_end"


def test_a_check_of_an_update_judges_only_the_changed_extents(
    api: Api, two_parties: dict[str, str], clock: ManualClock
) -> None:
    blue = two_parties["Blue"]
    started = volume(start=T0 + timedelta(hours=1), hours=3)
    op = api.post("/api/v1/operations", blue, json={"extents": [started]}).json()["operation"]
    clock.advance(2 * 3600)  # it has started: as a new filing it would be late
    as_new = api.post("/api/v1/operations/check", blue, json={"extents": [started]}).json()
    assert "already started" in as_new["notice_error"]
    as_update = api.post("/api/v1/operations/check", blue, json={"extents": [started], "operation_id": op["id"]})
    assert as_update.status_code == 200, as_update.text
    assert as_update.json()["notice_error"] is None
    soon = volume(lat=49.0, start=T0 + timedelta(hours=2, minutes=10))  # changed, 10 min notice: late
    late = api.post(
        "/api/v1/operations/check", blue, json={"extents": [started, soon], "operation_id": op["id"]}
    ).json()
    assert "extent 1" in late["notice_error"]
    theirs = api.post(
        "/api/v1/operations/check", two_parties["Red"], json={"extents": [started], "operation_id": op["id"]}
    )
    assert theirs.status_code == 403  # another party's operation
