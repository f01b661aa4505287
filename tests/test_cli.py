"""CLI: tokens alone on stdout, agreements, and a real `deconflict serve` subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

DECONFLICT = [sys.executable, "-m", "deconflict.cli"]


def run(*args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [*DECONFLICT, *args] + (["--db", db] if db else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_party_add_prints_only_the_token(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    r = run("party", "add", "Blue Air Force", "--role", "operator", db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1
    assert r.stdout.startswith("dcf_")
    assert "Blue Air Force" in r.stderr
    again = run("party", "add", "Blue Air Force", db=db)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert again.stdout == ""


def test_agreement_add(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    for name in ("Blue", "Red"):
        assert run("party", "add", name, db=db).returncode == 0
    r = run(
        "agreement",
        "add",
        "Blue",
        "Red",
        "--min-notice",
        "1h30m",
        "--lateral-buffer",
        "500",
        "--late-policy",
        "flag",
        db=db,
    )
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip()) == 36
    bad = run("agreement", "add", "Blue", "Nobody", db=db)
    assert bad.returncode == 2
    assert "Nobody" in bad.stderr
    bad_duration = run("agreement", "add", "Blue", "Red", "--min-notice", "soon", db=db)
    assert bad_duration.returncode == 2
    assert "duration" in bad_duration.stderr


def wait_until_healthy(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail(f"no healthy server at {url} after {timeout_s} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A real `deconflict serve` on a fresh SQLite file, with two parties and an agreement made by the CLI."""
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    blue = run("party", "add", "Blue", db=db).stdout.strip()
    red = run("party", "add", "Red", db=db).stdout.strip()
    assert run("agreement", "add", "Blue", "Red", db=db).returncode == 0
    port = _free_port()
    env = {**os.environ, "DECONFLICT_DATABASE_URL": db}
    with (tmp_path / "serve.log").open("wb") as log:  # a file, not a pipe nobody reads
        proc = subprocess.Popen([*DECONFLICT, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url)
            yield url, blue, red
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _geojson(path: Path, start: datetime) -> Path:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]]],
                },
                "properties": {
                    "altitude_lower_m": 0,
                    "altitude_upper_ft": 3000,
                    "time_start": start.isoformat(),
                    "time_end": (start + timedelta(hours=1)).isoformat(),
                },
            }
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_serve_subprocess_files_and_check(server: tuple[str, str, str], tmp_path: Path) -> None:
    url, blue, red = server
    assert httpx.get(f"{url}/docs").status_code == 200
    start = datetime.now(UTC) + timedelta(hours=2)  # a real server runs on the system clock
    file = _geojson(tmp_path / "plan.geojson", start)
    clear = run("check", str(file), "--server", url, "--token", red)
    assert clear.returncode == 0, clear.stdout + clear.stderr
    assert "no conflicts" in clear.stdout
    body = {
        "extents": [
            {
                "volume": {
                    "outline_circle": {"center": {"lat": 48.85, "lng": 2.35}, "radius": {"value": 2000}},
                    "altitude_lower": {"value": 0},
                    "altitude_upper": {"value": 500},
                },
                "time_start": {"value": start.isoformat()},
                "time_end": {"value": (start + timedelta(hours=1)).isoformat()},
            }
        ]
    }
    filed = httpx.post(f"{url}/api/v1/operations", json=body, headers={"Authorization": f"Bearer {blue}"})
    assert filed.status_code == 201
    conflicted = run("check", str(file), "--server", url, "--token", red)
    assert conflicted.returncode == 3
    assert "1 conflict" in conflicted.stdout
    refused = run("check", str(file), "--server", url, "--token", "dcf_nope")
    assert refused.returncode == 2
    assert "unknown or revoked token" in refused.stderr


def test_demo_subprocess_serves_a_seeded_scenario(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [*DECONFLICT, "demo", "--port", str(port), "--db", str(tmp_path / "demo.db")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        assert httpx.get(f"{url}/docs").status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    tokens = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines() if line.startswith("export "))
    assert set(tokens) == {"BLUE", "RED", "ADMIN"}


def test_serve_stops_on_sigterm_while_a_stream_is_open(tmp_path: Path) -> None:
    """An SSE stream never ends by itself; SIGTERM must still stop the server within the grace period."""
    db = f"sqlite:///{tmp_path / 'term.db'}"
    token = run("party", "add", "Blue", db=db).stdout.strip()
    port = _free_port()
    env = {**os.environ, "DECONFLICT_DATABASE_URL": db}
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([*DECONFLICT, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.stream("GET", f"{url}/api/v1/stream", headers=headers, timeout=30) as stream:
                assert next(stream.iter_lines()).startswith("retry:")
                started = time.monotonic()
                proc.terminate()
                proc.wait(timeout=20)
                assert time.monotonic() - started < 15
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_agreement_live_rules_from_the_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    for name in ("Blue", "Red"):
        assert run("party", "add", name, db=db).returncode == 0
    ok = run("agreement", "add", "Blue", "Red", "--lookahead", "2m", "--share-track-identity", db=db)
    assert ok.returncode == 0, ok.stderr
    bad = run("agreement", "add", "Blue", "Red", "--lookahead", "2h", db=db)
    assert bad.returncode == 2
    assert "lookahead" in bad.stderr
    assert "Traceback" not in bad.stderr
