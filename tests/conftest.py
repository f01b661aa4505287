"""Shared fixtures: a manual clock, real SQLite and PostgreSQL stores, an in-process HTTP client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from deconflict.api.app import build_core, create_app
from deconflict.domain.clock import ManualClock
from deconflict.services.core import Core
from deconflict.settings import Settings
from deconflict.storage.tables import Base

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
ADMIN_TOKEN = "admin-token-for-tests-0123456789"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session."""
    name = f"deconflict_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [t.name for t in Base.metadata.sorted_tables if t.name != "counters"]
        exists = conn.execute(text("SELECT to_regclass('public.counters')")).scalar()
        if exists:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            conn.execute(text("UPDATE counters SET value = 0"))
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage contract test runs against both real backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deconflict.db'}"
    url: str = request.getfixturevalue("pg_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'deconflict.db'}"


@pytest.fixture
def core(database_url: str, clock: ManualClock) -> Iterator[Core]:
    c = build_core(Settings(database_url=database_url), clock)
    yield c
    c.engine.dispose()


class Api:
    """Synchronous facade over httpx's in-process ASGI transport."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.transport = httpx.ASGITransport(app=app)

    def request(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://test") as client:
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", url, token, **kw)

    def post(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", url, token, **kw)

    def put(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, token, **kw)

    def delete(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, token, **kw)


@pytest.fixture
def api_core(sqlite_url: str, clock: ManualClock) -> Iterator[Core]:
    c = build_core(Settings(database_url=sqlite_url), clock)
    yield c
    c.engine.dispose()


@pytest.fixture
def api(api_core: Core, tmp_path: Path) -> Api:
    settings = Settings(
        database_url="sqlite://", admin_token=ADMIN_TOKEN, signing_key_file=str(tmp_path / "signing-key.pem")
    )
    return Api(create_app(settings, core=api_core))


@pytest.fixture
def two_parties(api: Api) -> dict[str, str]:
    """Parties 'Blue' and 'Red' (supervisor tokens) bound by a default agreement."""
    tokens = {}
    for name in ("Blue", "Red"):
        r = api.post("/api/v1/parties", ADMIN_TOKEN, json={"name": name})
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    r = api.post("/api/v1/agreements", ADMIN_TOKEN, json={"parties": ["Blue", "Red"], "name": "Blue-Red"})
    assert r.status_code == 201, r.text
    return tokens


def volume(
    lat: float = 48.85,
    lng: float = 2.35,
    radius_m: float = 5_000.0,
    start: datetime | None = None,
    hours: float = 2.0,
    lower_m: float = 0.0,
    upper_m: float = 1_000.0,
) -> dict[str, Any]:
    """An ASTM Volume4D request body: a circle, starting 2 h after T0 unless told otherwise."""
    start = start or T0 + timedelta(hours=2)
    return {
        "volume": {
            "outline_circle": {"center": {"lat": lat, "lng": lng}, "radius": {"value": radius_m, "units": "M"}},
            "altitude_lower": {"value": lower_m, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": upper_m, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": start.isoformat(), "format": "RFC3339"},
        "time_end": {"value": (start + timedelta(hours=hours)).isoformat(), "format": "RFC3339"},
    }
