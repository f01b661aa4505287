"""Live delivery: latency from a filing's HTTP response to each counterpart console's SSE `notice`.

    .venv/bin/python -m bench.stream_latency --parties 5 --consoles 10 --filings 200 --rates 5,10,20,40,80

A real `deconflict serve` subprocess runs on a fresh SQLite file. The admin (DECONFLICT_ADMIN_TOKEN)
creates the filing party "Blue", `--parties` counterpart parties and one agreement between all of them
(no area, so every filing concerns every counterpart). Each counterpart gets `--consoles` observer
tokens, one per console, and each console holds one `GET /api/v1/stream` open (httpx, async).

(a) Latency: Blue files `--filings` operations one at a time (a geodesic circle at a random position,
starting an hour ahead, past the agreement's minimum notice). For each filing the script waits until
every console has the `notice` event whose `data.operation_id` is the new operation, then files the next.
The latency of a (filing, console) pair is the console's reception time minus the time the filer had
the HTTP response; both are `time.perf_counter()` in this one process, so on one clock.

(b) Sustained rate: filings are offered on an open-loop schedule at each rate in `--rates` (filings per
second) for `--step-s` seconds, by up to `--filers` concurrent filers; every filing gives one notice per
counterpart party and one event per console. Reported: achieved filings/s, notices/s, events/s, latency
percentiles, and the highest step whose p99 stays within `--target-ms`.

The load generator (consoles and filers, one asyncio process) and the server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.table import Table

from bench.measure import console, machine

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"


@dataclass
class Tally:
    """What the consoles saw: reception times per operation, and everything that went wrong."""

    received: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    seen: set[tuple[str, int]] = field(default_factory=set)
    duplicates: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    disconnects: int = 0
    errors: list[str] = field(default_factory=list)
    waiters: dict[str, tuple[int, asyncio.Event]] = field(default_factory=dict)
    connected: int = 0

    def got(self, op_id: str, console_no: int, at: float) -> None:
        if (op_id, console_no) in self.seen:
            self.duplicates += 1
            return
        self.seen.add((op_id, console_no))
        times = self.received[op_id]
        times.append(at)
        want = self.waiters.get(op_id)
        if want is not None and len(times) >= want[0]:
            want[1].set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    env = {
        **os.environ,
        "DECONFLICT_DATABASE_URL": f"sqlite:///{tmp / 'stream.db'}",
        "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN,
        "DECONFLICT_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
    }
    log = tmp / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "deconflict.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return server, url, log
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server did not come up; see {log}")


def setup(url: str, n_parties: int, consoles: int) -> tuple[str, list[tuple[str, str]]]:
    """Blue, the counterparts and the agreement; returns Blue's token and (party, token) per console."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    names = [f"Red{i + 1}" for i in range(n_parties)]
    with httpx.Client(base_url=url, headers=admin, timeout=30) as c:
        blue = c.post("/api/v1/parties", json={"name": "Blue"})
        blue.raise_for_status()
        for name in names:
            c.post("/api/v1/parties", json={"name": name}).raise_for_status()
        c.post(
            "/api/v1/agreements",
            json={
                "name": "bench hotline",
                "parties": ["Blue", *names],
                "min_notice_s": 600,
                # No deadline passes during the run: the streams carry the notices, not escalations.
                "ack_deadline_s": 86400,
            },
        ).raise_for_status()
        tokens = []
        for name in names:
            for k in range(consoles):
                r = c.post("/api/v1/tokens", json={"party": name, "role": "observer", "label": f"console {k + 1}"})
                r.raise_for_status()
                tokens.append((name, r.json()["token"]))
    return str(blue.json()["token"]), tokens


def filing_body(rng: np.random.Generator, start: datetime) -> dict[str, Any]:
    """One circle of 0.5-5 km somewhere in a 4 x 6 degree box over central Europe, 30-120 min long."""
    lat = float(rng.uniform(45.0, 49.0))
    lng = float(rng.uniform(6.0, 12.0))
    t0 = start + timedelta(seconds=float(rng.uniform(0, 3600)))
    t1 = t0 + timedelta(minutes=float(rng.uniform(30, 120)))
    return {
        "extents": [
            {
                "volume": {
                    "outline_circle": {
                        "center": {"lat": lat, "lng": lng},
                        "radius": {"value": float(rng.uniform(500, 5000)), "units": "M"},
                    },
                    "altitude_lower": {"value": 0, "reference": "W84", "units": "M"},
                    "altitude_upper": {"value": float(rng.uniform(100, 1500)), "reference": "W84", "units": "M"},
                },
                "time_start": {"value": t0.isoformat(), "format": "RFC3339"},
                "time_end": {"value": t1.isoformat(), "format": "RFC3339"},
            }
        ]
    }


async def console_reader(url: str, token: str, no: int, tally: Tally, stop: asyncio.Event) -> None:
    """One console: hold the stream open, note each `notice` as it arrives; resume if it drops."""
    last_id: str | None = None
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        while not stop.is_set():
            headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                async with client.stream("GET", "/api/v1/stream", headers=headers) as r:
                    if r.status_code != 200:
                        tally.errors.append(f"console {no}: stream answered {r.status_code}")
                        await asyncio.sleep(1)
                        continue
                    tally.connected += 1
                    kind, data = "", ""
                    async for line in r.aiter_lines():
                        if line == "":
                            if kind == "notice":
                                tally.got(json.loads(data)["data"]["operation_id"], no, time.perf_counter())
                            if kind:
                                tally.kinds[kind] += 1
                            kind, data = "", ""
                        elif line.startswith("id:"):
                            last_id = line[3:].strip()
                        elif line.startswith("event:"):
                            kind = line[6:].strip()
                        elif line.startswith("data:"):
                            data = line[5:].strip()
            except (httpx.HTTPError, OSError) as exc:
                if stop.is_set():
                    return
                tally.errors.append(f"console {no}: stream dropped ({type(exc).__name__}: {exc})")
            if not stop.is_set():
                tally.disconnects += 1
                await asyncio.sleep(0.2)


@dataclass
class Filing:
    op_id: str
    sent: float
    answered: float


async def file_one(client: httpx.AsyncClient, token: str, body: dict[str, Any], tally: Tally) -> Filing | None:
    sent = time.perf_counter()
    r = await client.post("/api/v1/operations", json=body, headers={"Authorization": f"Bearer {token}"})
    answered = time.perf_counter()
    if r.status_code != 201:
        tally.errors.append(f"filing answered {r.status_code}: {r.text[:200]}")
        return None
    return Filing(str(r.json()["operation"]["id"]), sent, answered)


def pair_latencies(filings: list[Filing], tally: Tally, expected: int) -> dict[str, Any]:
    """Latency of every (filing, console) pair, from the response and from the request being sent."""
    from_response, from_sent, missing = [], [], 0
    for f in filings:
        times = tally.received.get(f.op_id, [])
        missing += expected - len(times)
        from_response.extend(t - f.answered for t in times)
        from_sent.extend(t - f.sent for t in times)
    resp = np.asarray(from_response) * 1e3
    sent = np.asarray(from_sent) * 1e3
    service = np.asarray([f.answered - f.sent for f in filings]) * 1e3

    def pct(a: np.ndarray[Any, Any], q: float) -> float:
        return float(np.percentile(a, q)) if len(a) else math.nan

    return {
        "filings": len(filings),
        "pairs": len(resp),
        "missing": missing,
        "before_response": int((resp < 0).sum()),
        "p50_ms": pct(resp, 50),
        "p99_ms": pct(resp, 99),
        "max_ms": float(resp.max()) if len(resp) else math.nan,
        "from_sent_p50_ms": pct(sent, 50),
        "from_sent_p99_ms": pct(sent, 99),
        "filing_p50_ms": pct(service, 50),
        "filing_p99_ms": pct(service, 99),
    }


async def latency_phase(url: str, token: str, n: int, expected: int, tally: Tally, start: datetime) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    filings = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(n):
            f = await file_one(client, token, filing_body(rng, start), tally)
            if f is None:
                continue
            done = asyncio.Event()
            tally.waiters[f.op_id] = (expected, done)
            if len(tally.received.get(f.op_id, ())) >= expected:
                done.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 10.0)
            del tally.waiters[f.op_id]
            filings.append(f)
    return pair_latencies(filings, tally, expected)


async def rate_phase(
    url: str, token: str, rate: float, step_s: float, filers: int, expected: int, tally: Tally, start: datetime
) -> dict[str, Any]:
    """Offer `rate` filings/s for `step_s` (open loop: a late filing does not push the schedule back)."""
    rng = np.random.default_rng(int(rate * 1000))
    n = max(1, round(rate * step_s))
    bodies = [filing_body(rng, start) for _ in range(n)]
    slots = asyncio.Semaphore(filers)
    filings: list[Filing] = []
    skipped = 0
    limits = httpx.Limits(max_connections=filers, max_keepalive_connections=filers)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(body: dict[str, Any]) -> None:
            try:
                f = await file_one(client, token, body, tally)
            finally:
                slots.release()
            if f is not None:
                filings.append(f)

        tasks = []
        t0 = time.perf_counter()
        for i, body in enumerate(bodies):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if slots.locked() and time.perf_counter() - (t0 + i / rate) > 1.0:
                skipped += 1  # more than a second behind with every filer busy: the server is saturated
                continue
            await slots.acquire()
            tasks.append(asyncio.ensure_future(one(body)))
        await asyncio.gather(*tasks)
        offered_end = time.perf_counter()
    # Let the last notices arrive before counting what is missing.
    deadline = time.perf_counter() + 10.0
    while time.perf_counter() < deadline and any(len(tally.received.get(f.op_id, ())) < expected for f in filings):
        await asyncio.sleep(0.05)
    last = max((max(tally.received.get(f.op_id, [f.answered])) for f in filings), default=offered_end)
    # The step lasts its schedule (n / rate), or longer when the last filing or notice is late.
    elapsed = max(n / rate, max(offered_end, last) - t0)
    lat = pair_latencies(filings, tally, expected)
    return {
        "offered_filings_s": rate,
        "skipped": skipped,
        "elapsed_s": elapsed,
        "filings_s": len(filings) / elapsed,
        "events_s": lat["pairs"] / elapsed,
        **lat,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="deconflict-stream-"))
    server, url, log = start_server(tmp)
    try:
        blue, tokens = setup(url, args.parties, args.consoles)
        tally = Tally()
        stop = asyncio.Event()
        readers = [asyncio.ensure_future(console_reader(url, t, i, tally, stop)) for i, (_, t) in enumerate(tokens)]
        while tally.connected < len(tokens):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # let every stream's first read and channel touch settle
        start = datetime.now(UTC) + timedelta(hours=1)
        expected = len(tokens)
        warm = await latency_phase(url, blue, 10, expected, tally, start)
        meter = CpuMeter(server.pid)
        lat = await latency_phase(url, blue, args.filings, expected, tally, start)
        lat.update(meter.read())
        load_after_latency = os.getloadavg()
        steps = []
        for rate in args.rates:
            meter = CpuMeter(server.pid)
            steps.append(await rate_phase(url, blue, rate, args.step_s, args.filers, expected, tally, start))
            steps[-1].update(meter.read(), loadavg_1m=os.getloadavg()[0])
        stop.set()
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        rss = _rss_mib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    server_errors = [
        line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line or " 500 " in line
    ]
    return {
        "parties": args.parties,
        "consoles_per_party": args.consoles,
        "clients": len(tokens),
        "warm_up": warm,
        "latency": lat,
        "loadavg_after_latency": load_after_latency,
        "steps": steps,
        "target_ms": args.target_ms,
        "kinds": dict(tally.kinds),
        "duplicates": tally.duplicates,
        "disconnects": tally.disconnects,
        "client_errors": tally.errors[:50],
        "server_errors": server_errors[:50],
        "server_rss_mib": rss,
        "store": store_counts(tmp / "stream.db"),
        "server_log": str(log),
        "machine": machine(),
    }


def cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one when `pid` is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the load generator (this process) and by the server over a phase."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.t = time.perf_counter()
        self.client, self.server = cpu_s(), cpu_s(server_pid)

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t
        return {
            "wall_s": wall,
            "client_cpu_s": cpu_s() - self.client,
            "server_cpu_s": cpu_s(self.pid) - self.server,
        }


def store_counts(db: Path) -> dict[str, Any]:
    """What the run left in the store: write transactions (revision) and audit entries by action."""
    with contextlib.closing(sqlite3.connect(db)) as c:
        revision = c.execute("SELECT value FROM counters WHERE name = 'revision'").fetchone()[0]
        actions = dict(c.execute("SELECT action, count(*) FROM audit_entries GROUP BY action").fetchall())
        events = dict(c.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    return {"write_transactions": revision, "audit_actions": actions, "events": events}


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def report(res: dict[str, Any]) -> None:
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in res["machine"].items()))
    lat = res["latency"]
    t = Table(
        title=f"(a) filing response -> console SSE `notice`, {res['clients']} consoles "
        f"({res['parties']} parties x {res['consoles_per_party']}), filings one at a time"
    )
    for col in (
        "filings",
        "pairs",
        "missing",
        "before response",
        "p50 ms",
        "p99 ms",
        "max ms",
        "from request p50 ms",
        "from request p99 ms",
        "filing p50 ms",
        "filing p99 ms",
        "server CPU %",
        "client CPU %",
    ):
        t.add_column(col, justify="right")
    t.add_row(
        str(lat["filings"]),
        str(lat["pairs"]),
        str(lat["missing"]),
        str(lat["before_response"]),
        f"{lat['p50_ms']:.1f}",
        f"{lat['p99_ms']:.1f}",
        f"{lat['max_ms']:.1f}",
        f"{lat['from_sent_p50_ms']:.1f}",
        f"{lat['from_sent_p99_ms']:.1f}",
        f"{lat['filing_p50_ms']:.1f}",
        f"{lat['filing_p99_ms']:.1f}",
        f"{100 * lat['server_cpu_s'] / lat['wall_s']:.0f}",
        f"{100 * lat['client_cpu_s'] / lat['wall_s']:.0f}",
    )
    out.print(t)
    t = Table(
        title=f"(b) sustained: offered filings/s for the step; {res['parties']} notices and "
        f"{res['clients']} console events per filing"
    )
    for col in (
        "offered filings/s",
        "achieved filings/s",
        "notices/s",
        "events/s",
        "skipped",
        "missing",
        "p50 ms",
        "p99 ms",
        "max ms",
        "from request p99 ms",
        "filing p99 ms",
        "server CPU %",
        "client CPU %",
        "load 1m",
    ):
        t.add_column(col, justify="right")
    best = None
    for s in res["steps"]:
        ok = s["p99_ms"] <= res["target_ms"] and s["missing"] == 0 and s["skipped"] == 0
        if ok:
            best = s
        t.add_row(
            f"{s['offered_filings_s']:g}",
            f"{s['filings_s']:.1f}",
            f"{s['filings_s'] * res['parties']:.1f}",
            f"{s['events_s']:.0f}",
            str(s["skipped"]),
            str(s["missing"]),
            f"{s['p50_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['max_ms']:.1f}",
            f"{s['from_sent_p99_ms']:.1f}",
            f"{s['filing_p99_ms']:.1f}",
            f"{100 * s['server_cpu_s'] / s['wall_s']:.0f}",
            f"{100 * s['client_cpu_s'] / s['wall_s']:.0f}",
            f"{s['loadavg_1m']:.2f}",
        )
    out.print(t)
    verdict = "met" if lat["p99_ms"] <= res["target_ms"] else "NOT met"
    out.print(f"p99 <= {res['target_ms']:g} ms at {res['clients']} clients: {verdict} ({lat['p99_ms']:.1f} ms)")
    if best is None:
        out.print("no step kept p99 within the target")
    else:
        out.print(
            f"highest step within the target: {best['filings_s']:.1f} filings/s = "
            f"{best['filings_s'] * res['parties']:.1f} notices/s ({best['events_s']:.0f} console events/s)"
        )
    out.print(
        f"event kinds seen: {res['kinds']}; duplicates {res['duplicates']}; "
        f"stream drops {res['disconnects']}; server peak RSS {res['server_rss_mib']:.0f} MiB"
    )
    st = res["store"]
    out.print(
        f"store after the run: {st['write_transactions']} write transactions; audit entries {st['audit_actions']}"
    )
    for e in res["client_errors"][:10]:
        out.print(f"[red]client:[/] {e}")
    for e in res["server_errors"][:10]:
        out.print(f"[red]server:[/] {e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parties", type=int, default=5, help="counterpart parties")
    parser.add_argument("--consoles", type=int, default=10, help="stream connections per counterpart party")
    parser.add_argument("--filings", type=int, default=200, help="filings for the latency phase")
    parser.add_argument("--rates", default="5,10,20,40,80", help="offered filings/s per step")
    parser.add_argument("--step-s", type=float, default=10.0)
    parser.add_argument("--filers", type=int, default=8, help="most filings in flight at once")
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    res = asyncio.run(run(args))
    report(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
