"""Tokens: 401 without or with a bad token, roles enforced, revocation effective."""

from __future__ import annotations

from tests.conftest import ADMIN_TOKEN, Api, volume


def test_missing_and_wrong_tokens_are_401(api: Api) -> None:
    r = api.get("/api/v1/operations")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/api/v1/operations", "dcf_wrong").status_code == 401


def test_roles(api: Api, two_parties: dict[str, str]) -> None:
    blue = two_parties["Blue"]
    assert api.post("/api/v1/parties", blue, json={"name": "Mallory"}).status_code == 403
    observer = api.post("/api/v1/tokens", blue, json={"party": "Blue", "role": "observer"}).json()["token"]
    assert api.get("/api/v1/operations", observer).status_code == 200
    assert api.post("/api/v1/operations", observer, json={"extents": [volume()]}).status_code == 403
    assert api.post("/api/v1/tokens", blue, json={"party": "Red", "role": "operator"}).status_code == 403
    assert api.post("/api/v1/tokens", blue, json={"party": "Blue", "role": "admin"}).status_code == 403
    operator = api.post("/api/v1/tokens", blue, json={"party": "Blue", "role": "operator"}).json()["token"]
    assert api.post("/api/v1/operations", operator, json={"extents": [volume()]}).status_code == 201
    zone = {"name": "z", "kind": "no-fly", "volume": volume()}
    assert api.post("/api/v1/zones", operator, json=zone).status_code == 403
    assert api.post("/api/v1/zones", blue, json=zone).status_code == 201
    assert api.get("/api/v1/operations", ADMIN_TOKEN).status_code == 403
    assert api.get("/api/v1/me", operator).json() == {
        "party_id": api.get("/api/v1/me", blue).json()["party_id"],
        "party": "Blue",
        "role": "operator",
    }


def test_revoked_token_stops_working(api: Api, two_parties: dict[str, str]) -> None:
    issued = api.post("/api/v1/tokens", two_parties["Blue"], json={"party": "Blue", "role": "operator"}).json()
    assert api.get("/api/v1/operations", issued["token"]).status_code == 200
    assert api.delete(f"/api/v1/tokens/{issued['id']}", two_parties["Blue"]).status_code == 204
    assert api.get("/api/v1/operations", issued["token"]).status_code == 401
    assert api.delete(f"/api/v1/tokens/{issued['id']}", two_parties["Red"]).status_code == 404


def test_tokens_are_not_stored_in_clear(api: Api, api_core, two_parties: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with api_core.engine.connect() as conn:
        stored = " ".join(str(row) for row in conn.execute(text("SELECT * FROM tokens")))
    for token in two_parties.values():
        assert token not in stored


def test_admin_tokens_belong_to_no_party(api: Api, two_parties: dict[str, str]) -> None:
    r = api.post("/api/v1/tokens", ADMIN_TOKEN, json={"party": "Blue", "role": "admin"})
    assert r.status_code == 422
    assert r.json()["field"] == "role"
    assert api.post("/api/v1/tokens", ADMIN_TOKEN, json={"role": "admin"}).status_code == 201
