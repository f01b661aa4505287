"""The hotline over HTTP: answering notices, messages and channels, and the 4xx for bad requests."""

from __future__ import annotations

from deconflict.domain.clock import ManualClock
from tests.conftest import ADMIN_TOKEN, Api, volume


def _party_id(api: Api, token: str) -> str:
    return str(api.get("/api/v1/me", token).json()["party_id"])


def _filed_notice(api: Api, two_parties: dict[str, str]) -> dict:  # type: ignore[type-arg]
    r = api.post("/api/v1/operations", two_parties["Blue"], json={"extents": [volume()]})
    assert r.status_code == 201, r.text
    (notice,) = api.get("/api/v1/notices", two_parties["Red"], params={"direction": "in"}).json()
    return notice  # type: ignore[no-any-return]


def test_answering_a_notice_and_the_bad_answers(api: Api, two_parties: dict[str, str]) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    notice = _filed_notice(api, two_parties)
    assert notice["status"] == "pending"
    assert notice["lead_time_s"] == 2 * 3600  # the volume starts 2 h after the (manual) server time
    url = f"/api/v1/notices/{notice['id']}/ack"
    cases = [
        (blue, {"decision": "acknowledged"}, 403, None),  # the sender cannot answer its own notice
        (red, {"decision": "maybe"}, 422, "decision"),
        (red, {"decision": "objection"}, 422, "reason"),
        (red, {"decision": "acknowledged", "extra": 1}, 422, "extra"),
        (red, {"decision": "objection", "reason": "x" * 2001}, 422, "reason"),
    ]
    for token, body, status, field in cases:
        r = api.post(url, token, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert field in r.json()["field"] or field in str(r.json().get("errors"))
    assert api.post("/api/v1/notices/no-such-notice/ack", red, json={"decision": "acknowledged"}).status_code == 404
    ok = api.post(url, red, json={"decision": "objection", "reason": "crosses our survey block"})
    assert ok.status_code == 200
    assert ok.json()["status"] == "objection"
    again = api.post(url, red, json={"decision": "acknowledged"})
    assert again.status_code == 409
    assert "already answered" in again.json()["detail"]
    withdrawn = api.post(f"/api/v1/notices/{notice['id']}/withdraw", red)
    assert withdrawn.json()["status"] == "withdrawn"
    assert api.post(f"/api/v1/notices/{notice['id']}/withdraw", red).status_code == 409


def test_outsiders_and_observers_cannot_answer(api: Api, two_parties: dict[str, str]) -> None:
    notice = _filed_notice(api, two_parties)
    green = api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": "Green"}).json()["token"]
    url = f"/api/v1/notices/{notice['id']}/ack"
    assert api.post(url, green, json={"decision": "acknowledged"}).status_code == 404
    observer = api.post("/api/v1/tokens", two_parties["Red"], json={"party": "Red", "role": "observer"}).json()
    assert api.post(url, observer["token"], json={"decision": "acknowledged"}).status_code == 403
    assert api.get("/api/v1/notices", ADMIN_TOKEN).status_code == 403
    assert api.get("/api/v1/notices", None).status_code == 401
    assert api.get("/api/v1/notices", two_parties["Red"], params={"direction": "sideways"}).status_code == 422
    assert api.get("/api/v1/notices", two_parties["Red"], params={"status": "nope"}).status_code == 422


def test_messages_with_receipts_and_their_4xx(api: Api, two_parties: dict[str, str]) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    red_id = _party_id(api, red)
    green = api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": "Green"}).json()["token"]
    green_id = _party_id(api, green)
    sent = api.post(
        "/api/v1/messages", blue, json={"to_party_id": red_id, "body": "confirm FL150 block", "priority": "flash"}
    )
    assert sent.status_code == 201, sent.text
    msg = sent.json()
    assert msg["delivered_at"] is None
    assert api.post("/api/v1/messages", blue, json={"to_party_id": green_id, "body": "hi"}).status_code == 404
    assert api.post("/api/v1/messages", blue, json={"to_party_id": red_id, "body": ""}).status_code == 422
    assert (
        api.post("/api/v1/messages", blue, json={"to_party_id": red_id, "body": "x", "priority": "p1"}).status_code
        == 422
    )
    bad_ref = api.post("/api/v1/messages", blue, json={"to_party_id": red_id, "body": "x", "operation_ids": ["nope"]})
    assert bad_ref.status_code == 404
    assert bad_ref.json()["field"] == "operation_ids[0]"
    assert api.post(f"/api/v1/messages/{msg['id']}/read", blue).status_code == 403  # the sender cannot
    assert api.post(f"/api/v1/messages/{msg['id']}/read", green).status_code == 404
    listed = api.get("/api/v1/messages", red).json()
    assert listed[0]["delivered_at"] is not None  # listing delivered it
    read = api.post(f"/api/v1/messages/{msg['id']}/read", red)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert api.post(f"/api/v1/messages/{msg['id']}/read", red).status_code == 409
    kinds = [e["kind"] for e in api.get("/api/v1/events", blue).json()["events"]]
    assert kinds[-3:] == ["message.sent", "message.delivered", "message.read"]


def test_channels_show_both_ends(api: Api, two_parties: dict[str, str], clock: ManualClock) -> None:
    red = two_parties["Red"]
    (channel,) = api.get("/api/v1/channels", red).json()
    assert channel["counterpart"]["name"] == "Blue"
    assert channel["state"] == "degraded"  # Blue has never connected
    api.get("/api/v1/events", two_parties["Blue"])  # a poll is a sign of life
    (channel,) = api.get("/api/v1/channels", red).json()
    assert channel["state"] == "ok"
    assert channel["own_state"] == "degraded"  # Red itself has neither streamed nor polled
    clock.advance(121)
    (channel,) = api.get("/api/v1/channels", red).json()
    assert channel["state"] == "degraded"  # no sign of life from Blue for over 2 minutes


def test_a_notice_names_the_recorded_conflicts_by_id(api: Api, two_parties: dict[str, str]) -> None:
    blue, red = two_parties["Blue"], two_parties["Red"]
    assert api.post("/api/v1/operations", red, json={"extents": [volume()]}).status_code == 201
    assert api.post("/api/v1/operations", blue, json={"extents": [volume()]}).status_code == 201
    (notice,) = api.get("/api/v1/notices", red, params={"direction": "in"}).json()
    open_ids = {c["id"] for c in api.get("/api/v1/conflicts", red).json()}
    assert [c["id"] for c in notice["conflicts"]] == sorted(open_ids)
    assert all(c["mine"]["party_id"] == _party_id(api, red) for c in notice["conflicts"])


def test_audit_paging_past_the_stores_range_is_a_422(api: Api, two_parties: dict[str, str]) -> None:
    red = two_parties["Red"]
    assert api.get("/api/v1/audit", red, params={"after": 2**63}).status_code == 422
    assert api.get("/api/v1/audit/checkpoints", red, params={"after_id": 2**31}).status_code == 422
    assert api.get("/api/v1/audit", red, params={"after": 2**63 - 1}).json()["entries"] == []
