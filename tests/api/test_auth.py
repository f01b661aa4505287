"""Tokens: 401 without or with a bad token, roles enforced, revocation effective."""

from __future__ import annotations

from pathlib import Path

from deconflict.api.app import create_app
from deconflict.services.core import Core
from deconflict.settings import Settings
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


def test_tokens_on_both_backends(core: Core, tmp_path: Path) -> None:
    """The principal is looked up on the event loop on SQLite and in the thread pool on PostgreSQL: both
    refuse a missing, unknown or revoked token and accept a live one."""
    settings = Settings(database_url="sqlite://", admin_token=ADMIN_TOKEN, signing_key_file=str(tmp_path / "key.pem"))
    api = Api(create_app(settings, core=core))
    blue = api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": "Blue"}).json()["token"]
    assert api.get("/api/v1/operations").status_code == 401
    assert api.get("/api/v1/operations", "dcf_wrong").status_code == 401
    issued = api.post("/api/v1/tokens", blue, json={"party": "Blue", "role": "observer"}).json()
    assert api.get("/api/v1/me", issued["token"]).json()["role"] == "observer"
    assert api.delete(f"/api/v1/tokens/{issued['id']}", blue).status_code == 204
    assert api.get("/api/v1/operations", issued["token"]).status_code == 401
    assert api.get("/api/v1/operations", blue).status_code == 200
