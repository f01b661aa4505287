"""A real `deconflict serve` subprocess for tests: start, SIGKILL, restart on the same database file.

Also a minimal Server-Sent Events reader, so the stream tests read the bytes a browser would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

ADMIN_TOKEN = "admin-token-for-tests-0123456789"

#: Small intervals so the live tests finish in seconds.
FAST_ENV = {
    "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN,
    "DECONFLICT_STREAM_HEARTBEAT_S": "0.5",
    "DECONFLICT_STREAM_POLL_S": "0.2",
    "DECONFLICT_STREAM_SEND_TIMEOUT_S": "5",
    "DECONFLICT_WEBHOOK_MAX_BACKOFF_S": "1",
    "DECONFLICT_WEBHOOK_TIMEOUT_S": "1",
}


@contextmanager
def running(tmp_path: Path, **env: str) -> Iterator[LiveServer]:
    """A started server that is stopped (SIGTERM, then SIGKILL) however the block ends."""
    server = LiveServer(tmp_path, **env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(condition: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class LiveServer:
    """One `deconflict serve` process on a SQLite file; `kill()` then `start()` restarts it on the same file
    and port. Its output goes to a log file (a pipe nobody reads would block it once full)."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.db = f"sqlite:///{tmp_path / 'live.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "serve.log"
        self.env = {**os.environ, **FAST_ENV, **env}
        self.env.pop("DECONFLICT_DATABASE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        #: token -> party id, for the parties made by `add_party`
        self.party_ids: dict[str, str] = {}

    def start(self, timeout_s: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "deconflict.cli", "serve", "--db", self.db, "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"no healthy server at {self.url} after {timeout_s} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # an open stream holds uvicorn's graceful shutdown
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- API helpers ------------------------------------------------------------------------------

    def request(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=auth(token), timeout=10, **kwargs)

    def add_party(self, name: str) -> str:
        r = self.request("POST", "/api/v1/parties", ADMIN_TOKEN, json={"name": name})
        assert r.status_code == 201, r.text
        token: str = r.json()["token"]
        self.party_ids[token] = r.json()["party"]["id"]
        return token

    def add_agreement(self, *names: str) -> None:
        r = self.request("POST", "/api/v1/agreements", ADMIN_TOKEN, json={"parties": list(names), "name": "live"})
        assert r.status_code == 201, r.text

    def blue_and_red(self, suffix: str = "") -> tuple[str, str]:
        """Parties Blue and Red (supervisor tokens) bound by an agreement without an area."""
        blue, red = self.add_party("Blue" + suffix), self.add_party("Red" + suffix)
        self.add_agreement("Blue" + suffix, "Red" + suffix)
        return blue, red

    def file(self, token: str) -> httpx.Response:
        """File a small operation two hours ahead (the real server runs on the system clock)."""
        return self.request("POST", "/api/v1/operations", token, json={"extents": [extent()]})

    def all_events(self, token: str) -> list[dict[str, Any]]:
        """The party's whole stream, read by polling in pages."""
        out: list[dict[str, Any]] = []
        while True:
            r = self.request("GET", "/api/v1/events", token, params={"after": len(out), "limit": 1000})
            assert r.status_code == 200, r.text
            page = r.json()["events"]
            if not page:
                return out
            out.extend(page)


def extent(hours_ahead: float = 2.0) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=hours_ahead)
    return {
        "volume": {
            "outline_circle": {"center": {"lat": 48.85, "lng": 2.35}, "radius": {"value": 2000}},
            "altitude_lower": {"value": 0},
            "altitude_upper": {"value": 500},
        },
        "time_start": {"value": start.isoformat()},
        "time_end": {"value": (start + timedelta(hours=1)).isoformat()},
    }


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def sse_events(response: httpx.Response) -> Iterator[SseEvent | None]:
    """Complete SSE events (a blank line ends each), and None for each comment (a heartbeat), so a
    reader can look up between events; `retry:` is skipped. An event cut off by a dropped
    connection is never yielded."""
    fields: dict[str, list[str]] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                ids, kinds = fields.get("id"), fields.get("event")
                yield SseEvent(ids[-1] if ids else None, kinds[-1] if kinds else None, "\n".join(fields["data"]))
            fields = {}
            continue
        if line.startswith(":"):
            yield None
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
