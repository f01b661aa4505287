"""Serve the console: `/` (index.html), `/static/` (our modules and CSS), `/vendor/` (third-party
files that `scripts/setup` copies from npm) and `/airports.json` (from the `airportsdata` package), every
response under a Content-Security-Policy that lets nothing load from, or connect to, another origin."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
STATIC = HERE / "static"
VENDOR = HERE / "vendor"
#: The files the console loads from VENDOR; `scripts/setup` puts them there.
VENDOR_FILES = ("leaflet.js", "leaflet.css", "topojson-client.min.js", "countries-50m.json")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>deconflict console: not set up</title></head>
<body><h1>The console's files are not installed</h1>
<p>Its third-party files (Leaflet, the world map) come from npm at set-up time. From the repository,
run <code>./scripts/setup</code>, then restart <code>deconflict serve</code>.</p>
<p>Missing: {missing}</p>
<p>The API is unaffected: <a href="/docs">/docs</a>.</p></body></html>
"""


class WithHeaders:
    """Add `headers` to every HTTP response of the wrapped ASGI app."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.raw]
            await send(message)

        await self.app(scope, receive, with_headers)


class OptionalStaticFiles(StaticFiles):
    """StaticFiles whose directory may not exist yet (before `scripts/setup`): then every path is 404."""

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()


@functools.cache
def airports_json() -> tuple[bytes, str]:
    """Every airport `airportsdata` knows, for the map: [[icao, iata, name, lat, lng, elevation_ft], ...],
    and its ETag (a console signing in again revalidates instead of fetching 1.6 MB)."""
    import airportsdata  # loaded on the first request, not at start-up

    body = orjson.dumps(
        [
            [a["icao"], a["iata"], a["name"], round(a["lat"], 5), round(a["lon"], 5), round(a["elevation"])]
            for a in airportsdata.load().values()
        ]
    )
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def missing_vendor_files(vendor: Path = VENDOR) -> list[str]:
    return [name for name in VENDOR_FILES if not (vendor / name).is_file()]


def mount(app: FastAPI, vendor: Path = VENDOR) -> None:
    """Serve the console on `app`. Without the vendor files, `/` says how to install them (503)."""

    @app.get("/", include_in_schema=False, response_model=None)
    def index() -> Response:
        missing = missing_vendor_files(vendor)
        if missing:
            return HTMLResponse(MISSING.format(missing=", ".join(missing)), status_code=503, headers=HEADERS)
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    @app.get("/airports.json", include_in_schema=False)
    def airports(request: Request) -> Response:
        body, etag = airports_json()
        headers = {**HEADERS, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    app.mount("/static", WithHeaders(StaticFiles(directory=STATIC), HEADERS), name="console-static")
    vendor_files = OptionalStaticFiles(directory=vendor, check_dir=False)
    app.mount("/vendor", WithHeaders(vendor_files, HEADERS), name="console-vendor")
