"""Minimal disclosure: private details never reach another party, on any endpoint; no agreement, no view."""

from __future__ import annotations

import json

from tests.conftest import ADMIN_TOKEN, T0, Api, volume
from tests.services.live_helpers import head_on

SECRETS = ("CALLSIGN-XYZZY", "purpose-plugh-confidential")
AIRCRAFT = "a1b2c3-secret"


def _file_secret(api: Api, token: str) -> dict:  # type: ignore[type-arg]
    body = {"extents": [volume()], "private": {"callsigns": [SECRETS[0]], "aircraft_count": 7, "purpose": SECRETS[1]}}
    r = api.post("/api/v1/operations", token, json=body)
    assert r.status_code == 201
    return r.json()["operation"]  # type: ignore[no-any-return]


def test_private_details_never_reach_the_counterpart(api: Api, two_parties: dict[str, str]) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    op = _file_secret(api, blue)
    assert op["private"]["purpose"] == SECRETS[1]  # the owner sees them
    red_op = api.post("/api/v1/operations", red, json={"extents": [volume()]}).json()
    responses = [
        red_op,
        api.get("/api/v1/operations", red).json(),
        api.get(f"/api/v1/operations/{op['id']}", red).json(),
        api.get("/api/v1/conflicts", red).json(),
        api.post("/api/v1/operations/check", red, json={"extents": [volume()]}).json(),
        api.get("/api/v1/zones", red).json(),
        api.get("/api/v1/agreements", red).json(),
        api.post(f"/api/v1/operations/{op['id']}/cancel", red).json(),
    ]
    dumped = json.dumps(responses)
    for secret in SECRETS:
        assert secret not in dumped
    counterpart_view = api.get(f"/api/v1/operations/{op['id']}", red).json()
    assert "private" not in counterpart_view
    assert set(counterpart_view) == {"id", "party_id", "state", "version", "extents", "late_notice"}


def test_no_agreement_means_nothing_is_visible(api: Api, two_parties: dict[str, str]) -> None:
    green = api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": "Green"}).json()["token"]
    op = _file_secret(api, two_parties["Blue"])
    assert api.get("/api/v1/operations", green).json() == []
    r = api.get(f"/api/v1/operations/{op['id']}", green)
    assert r.status_code == 404
    assert api.post(f"/api/v1/operations/{op['id']}/cancel", green).status_code == 404
    assert api.post("/api/v1/operations", green, json={"extents": [volume()]}).json()["conflicts"] == []


def test_agreement_area_limits_what_is_visible(api: Api) -> None:
    tokens = {n: api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": n}).json()["token"] for n in ("A", "B")}
    area = {"vertices": [{"lat": 48, "lng": 2}, {"lat": 48, "lng": 3}, {"lat": 49, "lng": 3}, {"lat": 49, "lng": 2}]}
    r = api.post("/api/v1/agreements", ADMIN_TOKEN, json={"parties": ["A", "B"], "area": area})
    assert r.status_code == 201, r.text
    inside = api.post("/api/v1/operations", tokens["A"], json={"extents": [volume(lat=48.5, lng=2.5)]}).json()
    outside = api.post("/api/v1/operations", tokens["A"], json={"extents": [volume(lat=40, lng=2.5)]}).json()
    seen = {o["id"] for o in api.get("/api/v1/operations", tokens["B"]).json()}
    assert seen == {inside["operation"]["id"]}
    assert api.get(f"/api/v1/operations/{outside['operation']['id']}", tokens["B"]).status_code == 404


def _get_routes(api: Api) -> list[str]:
    """Every GET path of the API, the endless stream excepted (its events are read through /events)."""
    spec = api.app.openapi()["paths"]
    paths = sorted(p for p, ops in spec.items() if "get" in ops and p.startswith("/api/v1") and p != "/api/v1/stream")
    assert len(paths) >= 15
    return paths


def test_no_endpoint_leaks_private_details_through_the_hotline(api: Api, two_parties: dict[str, str]) -> None:
    """Notices, events, messages, audit entries, channels: the counterpart sees geometry and time only."""
    blue, red = two_parties["Blue"], two_parties["Red"]
    op = _file_secret(api, blue)
    changed = api.put(
        f"/api/v1/operations/{op['id']}",
        blue,
        json={"extents": [volume(lat=48.9)], "version": op["version"], "private": {"purpose": SECRETS[1] + "-v2"}},
    )
    assert changed.status_code == 200, changed.text
    notice = api.get("/api/v1/notices", red, params={"direction": "in", "status": "pending"}).json()[0]
    assert api.post(f"/api/v1/notices/{notice['id']}/ack", red, json={"decision": "acknowledged"}).status_code == 200
    message = api.post(
        "/api/v1/messages",
        blue,
        json={"to_party_id": _party_id(api, red), "body": "hello"},
    )
    assert message.status_code == 201, message.text
    # live tracks and an alert between them: Blue's aircraft identity is Blue's alone
    blue_ac, red_ac = head_on(T0, gap_nm=20.0)
    blue_ac |= {"aircraft_id": AIRCRAFT, "callsign": SECRETS[0][:16]}
    assert api.post("/api/v1/tracks", blue, json={"reports": [blue_ac]}).json()["accepted"] == 1
    assert api.post("/api/v1/tracks", red, json={"reports": [red_ac]}).json()["accepted"] == 1
    assert api.app.state.monitor.cycle().transitions
    ids = {
        "operation_id": op["id"],
        "notice_id": notice["id"],
        "message_id": message.json()["id"],
        "agreement_id": "x",
        "zone_id": "x",
        "webhook_id": "x",
        "token_id": "x",
    }
    seen = []
    for path in _get_routes(api):
        url = path.format(**ids)
        r = api.get(url, red)
        assert r.status_code < 500, url
        seen.append(r.text)
    dumped = "\n".join(seen)
    assert notice["id"] in dumped  # the scan did read the hotline
    assert "loss_of_separation" in dumped  # and the live picture
    for secret in (*SECRETS, SECRETS[0][:16], AIRCRAFT):
        assert secret not in dumped


def _party_id(api: Api, token: str) -> str:
    return str(api.get("/api/v1/me", token).json()["party_id"])
