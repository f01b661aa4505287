"""Serving the console: `/`, its static and vendor files under a strict CSP, and a clear page (not a 500)
when `scripts/setup` has not installed the third-party files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from deconflict.web import site
from tests.conftest import Api


def get(app: FastAPI, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_the_console_and_its_files_are_served_under_a_strict_csp(api: Api) -> None:
    for path, kind in (
        ("/", "text/html"),
        ("/static/main.js", "text/javascript"),
        ("/static/console.css", "text/css"),
        ("/vendor/leaflet.js", "text/javascript"),
        ("/vendor/countries-50m.json", "application/json"),
    ):
        r = api.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(kind), path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "connect-src 'self'" in csp
        for loose in ("http", "*", "unsafe", "data:"):
            assert loose not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert 'type="module" src="/static/main.js"' in api.get("/").text
    assert api.get("/static/nothing.js").status_code == 404
    assert api.get("/static/../site.py").status_code == 404


def test_the_airports_come_from_airportsdata_under_the_same_policy(api: Api) -> None:
    import airportsdata

    r = api.get("/airports.json")
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    again = api.get("/airports.json", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    rows = r.json()
    known = airportsdata.load()
    assert len(rows) == len(known)
    by_icao = {row[0]: row for row in rows}
    for icao in ("LFPG", "EGLL", "NZCH", "PANC"):  # both hemispheres, both sides of Greenwich
        a = known[icao]
        _, iata, name, lat, lng, elevation_ft = by_icao[icao]
        assert (iata, name) == (a["iata"], a["name"])
        assert abs(lat - a["lat"]) < 1e-5
        assert abs(lng - a["lon"]) < 1e-5
        assert abs(elevation_ft - a["elevation"]) <= 0.5


def test_the_api_is_not_under_the_consoles_policy(api: Api) -> None:
    assert "content-security-policy" not in api.get("/healthz").headers
    assert "content-security-policy" not in api.get("/docs").headers  # Swagger UI loads its own assets


def test_every_file_the_page_loads_is_shipped_or_installed() -> None:
    """What index.html and the modules name exists: our files in static/, the rest among VENDOR_FILES."""
    html = (site.STATIC / "index.html").read_text()
    for name in site.VENDOR_FILES:
        assert (site.VENDOR / name).is_file(), f"run ./scripts/setup: {name} is missing"
    for ref in ("/vendor/leaflet.js", "/vendor/leaflet.css", "/vendor/topojson-client.min.js"):
        assert ref in html
    modules = sorted(p.name for p in site.STATIC.glob("*.js"))
    for module in modules:
        for line in (site.STATIC / module).read_text().splitlines():
            if line.startswith("import "):
                imported = line.split('"')[1].removeprefix("./")
                assert imported in modules, f"{module} imports {imported}"


def test_without_the_vendor_files_the_page_says_to_run_setup(tmp_path: Path) -> None:
    app = FastAPI()
    site.mount(app, vendor=tmp_path / "vendor")
    r = get(app, "/")
    assert r.status_code == 503
    assert "./scripts/setup" in r.text
    assert "leaflet.js" in r.text
    assert "content-security-policy" in r.headers
    assert get(app, "/vendor/leaflet.js").status_code == 404
    assert get(app, "/static/main.js").status_code == 200
