"""Ingest of position reports: through the batch API, and end to end through the SBS feed.

    .venv/bin/python -m bench.ingest --batches 1000,10000 --seconds 10 --sbs-aircraft 2000 --sbs-rounds 50

A real `deconflict serve` subprocess runs on a fresh SQLite file (WAL, synchronous=FULL), on the wall
clock, with its live cycle running; the admin (DECONFLICT_ADMIN_TOKEN) creates one party per run.

(a) Batch API. For each batch size B, one client posts rounds of B reports, one per aircraft of B
aircraft, for `--seconds`, over one keep-alive connection, one request at a time. Every report of
a round is stamped with the time the round is encoded (each aircraft's next report is later, as the
server requires). Reported: reports accepted per second of wall time (the client's encoding included)
and per second of request time (the server's answer, from send to response), and request latency.

(b) SBS feed, end to end. A stand-in dump1090 in this process pushes SBS-1 lines over TCP as fast as
it can: for `--sbs-aircraft` aircraft, `--sbs-rounds` rounds of one airborne position each (message
type 3, stamped when the round is written), with an airborne velocity (type 4) in the first round and
every tenth. A `deconflict feed sbs` subprocess reads them, assembles reports, and posts batches to
the server until it has every report, with an outbox large enough that nothing is dropped. The clock
runs from the feed's connection to the feed's exit (its final delivery included); the source's own
pushing rate is shown, to tell which side limited.

Load generator, feed and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.table import Table

from bench.measure import console, latency_summary_ms, machine
from bench.stream_latency import ADMIN_TOKEN, start_server
from deconflict.domain.clock import SystemClock

CLOCK = SystemClock()


def add_party(url: str, name: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/parties", json={"name": name}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )
    r.raise_for_status()
    token: str = r.json()["token"]
    return token


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def report_templates(n: int) -> list[tuple[str, str]]:
    """Each aircraft's report as JSON text before and after its time (the only part that changes)."""
    rng = np.random.default_rng(7)
    lats, lngs = rng.uniform(43.0, 51.0, n), rng.uniform(-2.0, 8.0, n)
    out = []
    for i in range(n):
        before = f'{{"aircraft_id":"{0xA00000 + i:06x}","callsign":"BEN{i:05d}","time":"'
        after = (
            f'","lat_deg":{lats[i]:.5f},"lng_deg":{lngs[i]:.5f},"altitude_ft":{20000 + (i % 200) * 100},'
            f'"ground_speed_kt":{300 + i % 200},"track_deg":{i % 360},"vertical_rate_fpm":0}}'
        )
        out.append((before, after))
    return out


def batch_api(url: str, batch: int, seconds: float) -> dict[str, Any]:
    """Rounds of `batch` reports (one per aircraft) for `seconds`; two warm-up rounds are not counted."""
    token = add_party(url, f"Batch {batch}")
    templates = report_templates(batch)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    accepted = rejected = 0
    reasons: set[str] = set()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:

        def post_round() -> tuple[float, dict[str, Any]]:
            stamp = _stamp(CLOCK.now())
            docs = ",".join(before + stamp + after for before, after in templates)
            body = f'{{"reports":[{docs}]}}'.encode()
            t = time.perf_counter()
            r = client.post("/api/v1/tracks", content=body)
            elapsed = time.perf_counter() - t
            r.raise_for_status()
            return elapsed, r.json()

        for _ in range(2):
            post_round()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            elapsed, result = post_round()
            latencies.append(elapsed)
            accepted += result["accepted"]
            rejected += len(result["rejected"])
            reasons.update(reason for r in result["rejected"] for reason in r["reasons"][:1])
        wall = time.perf_counter() - start
    return {
        "batch": batch,
        "requests": len(latencies),
        "accepted": accepted,
        "rejected": rejected,
        "reasons": sorted(reasons)[:3],
        "wall_rate": accepted / wall,
        "server_rate": accepted / sum(latencies),
        **latency_summary_ms(np.array(latencies)),
    }


class SbsSource:
    """A stand-in dump1090: one connection, every line pushed as fast as it can be written."""

    def __init__(self, aircraft: int, rounds: int) -> None:
        self.aircraft, self.rounds = aircraft, rounds
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connected_at = 0.0
        self.pushed_s = 0.0
        self.lines = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def reports(self) -> int:
        return self.aircraft * self.rounds

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self.connected_at = time.perf_counter()
        icaos = [f"{0xB00000 + i:06X}" for i in range(self.aircraft)]
        rng = np.random.default_rng(11)
        lats, lngs = rng.uniform(43.0, 51.0, self.aircraft), rng.uniform(-2.0, 8.0, self.aircraft)
        positions = [
            f",,{20000 + (i % 200) * 100},,,{lats[i]:.5f},{lngs[i]:.5f},,,0,0,0,0\n" for i in range(self.aircraft)
        ]
        velocity = [f",,,{300 + i % 200},{i % 360},,,0,,,,,0\n" for i in range(self.aircraft)]
        with conn:
            for r in range(self.rounds):
                now = CLOCK.now()
                day = f"{now:%Y/%m/%d}"
                chunk = []
                for i, icao in enumerate(icaos):
                    at = now + timedelta(microseconds=i)
                    head = f"1,1,{icao},1,{day},{at:%H:%M:%S.%f},{day},{at:%H:%M:%S.%f}"
                    if r % 10 == 0:
                        chunk.append(f"MSG,4,{head}{velocity[i]}")
                    chunk.append(f"MSG,3,{head}{positions[i]}")
                conn.sendall("".join(chunk).encode())
                self.lines += len(chunk)
            self.pushed_s = time.perf_counter() - self.connected_at
            time.sleep(3600)  # hold the connection: the feed stops by itself once it has every report


def sbs_feed(url: str, aircraft: int, rounds: int, batch: int) -> dict[str, Any]:
    token = add_party(url, f"SBS {batch}")
    source = SbsSource(aircraft, rounds)
    cmd = [sys.executable, "-m", "deconflict.cli", "feed", "sbs", f"127.0.0.1:{source.port}", "--server", url]
    cmd += ["--token", token, "--batch-size", str(batch), "--max-reports", str(source.reports)]
    cmd += ["--buffer", str(source.reports + 1), "--drain", "120", "--stats-every", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    ended = time.perf_counter()
    if proc.returncode != 0:
        raise RuntimeError(f"the feed failed ({proc.returncode}):\n{proc.stderr}")
    summary = " ".join(proc.stderr.split())

    def count(label: str) -> int:
        m = re.search(rf"{re.escape(label)} │ ([\d,]+)", summary)
        if m is None:
            raise RuntimeError(f"no {label!r} in the feed's summary:\n{proc.stderr}")
        return int(m.group(1).replace(",", ""))

    elapsed = ended - source.connected_at
    return {
        "batch": batch,
        "aircraft": aircraft,
        "lines": source.lines,
        "source_rate": source.lines / source.pushed_s if source.pushed_s else float("nan"),
        "reports": count("reports assembled"),
        "accepted": count("accepted"),
        "rejected": count("rejected"),
        "dropped": count("dropped, outbox full"),
        "malformed": count("malformed lines"),
        "seconds": elapsed,
        "rate": count("accepted") / elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="1000,10000", help="comma-separated batch sizes for the batch API")
    parser.add_argument("--seconds", type=float, default=10.0, help="posting time per batch size")
    parser.add_argument("--sbs-aircraft", type=int, default=2000)
    parser.add_argument("--sbs-rounds", type=int, default=50, help="positions per aircraft pushed by the source")
    parser.add_argument("--sbs-batches", default="1000,10000", help="the feed's --batch-size values")
    args = parser.parse_args(argv)
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in machine().items()))
    with tempfile.TemporaryDirectory() as tmp:
        server, url, _log = start_server(Path(tmp))
        try:
            api = [batch_api(url, int(b), args.seconds) for b in args.batches.split(",")]
            sbs = [sbs_feed(url, args.sbs_aircraft, args.sbs_rounds, int(b)) for b in args.sbs_batches.split(",")]
        finally:
            server.terminate()
            server.wait(timeout=30)

    table = Table(title="(a) position reports through POST /api/v1/tracks (one client, one request at a time)")
    for col in ("batch", "requests", "accepted", "rejected", "reports/s (wall)", "reports/s (request)", "p50 (ms)"):
        table.add_column(col, justify="right")
    table.add_column("p99 (ms)", justify="right")
    for r in api:
        table.add_row(
            f"{r['batch']:,}",
            f"{r['requests']:,}",
            f"{r['accepted']:,}",
            f"{r['rejected']:,}" + (f" ({r['reasons'][0]}…)" if r["reasons"] else ""),
            f"{r['wall_rate']:,.0f}",
            f"{r['server_rate']:,.0f}",
            f"{r['p50']:.1f}",
            f"{r['p99']:.1f}",
        )
    out.print(table)

    table = Table(title="(b) SBS-1 lines → `deconflict feed sbs` → server, end to end")
    for col in (
        "feed batch",
        "aircraft",
        "lines",
        "source lines/s",
        "reports",
        "accepted",
        "rejected",
        "dropped",
        "seconds",
        "reports/s",
    ):
        table.add_column(col, justify="right")
    for r in sbs:
        table.add_row(
            f"{r['batch']:,}",
            f"{r['aircraft']:,}",
            f"{r['lines']:,}",
            f"{r['source_rate']:,.0f}",
            f"{r['reports']:,}",
            f"{r['accepted']:,}",
            f"{r['rejected']:,}",
            f"{r['dropped']:,}",
            f"{r['seconds']:.1f}",
            f"{r['rate']:,.0f}",
        )
    out.print(table)


if __name__ == "__main__":
    main()
