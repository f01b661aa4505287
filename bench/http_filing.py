"""Filing latency through HTTP against a real `deconflict serve` on SQLite, with a pre-loaded store.

    .venv/bin/python -m bench.http_filing --sizes 100000 --filings 300

The store (bench.scenario, times shifted to start tomorrow) is bulk-loaded into a fresh SQLite file;
a `deconflict serve` subprocess is started on it; the first filing pays for loading the index from the
database (reported as warm-up); then new operations from the same distribution are filed one after
another over a keep-alive connection, each a full write (notice check, conflict detection, conflict
records, fsync'd commit).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.progress import track
from rich.table import Table
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from bench import scenario
from bench.measure import console, latency_summary_ms, machine
from deconflict.api.app import build_core
from deconflict.api.convert import volume_out
from deconflict.domain.agreements import LatePolicy
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import TimeWindow, Volume4D
from deconflict.services import agreements, parties
from deconflict.settings import Settings
from deconflict.storage import codec
from deconflict.storage.tables import Counter, ExtentRow, OperationRow


def _shift(v: Volume4D, by: timedelta) -> Volume4D:
    assert v.time.start is not None
    assert v.time.end is not None
    return replace(v, time=TimeWindow(v.time.start + by, v.time.end + by))


def bound_groups(agreements_kind: str) -> list[tuple[int, ...]]:
    """The parties each agreement binds. `all`: one agreement binding all 20 parties everywhere, so
    every filing notifies 19 counterparts (the worst case). `pairs`: each party bound to its two
    neighbours on a ring (20 two-party agreements), so a filing notifies 2."""
    n = scenario.PARTIES
    if agreements_kind == "all":
        return [tuple(range(n))]
    if agreements_kind == "pairs":
        return [(p, (p + 1) % n) for p in range(n)]
    raise SystemExit(f"--agreements must be 'all' or 'pairs', not {agreements_kind!r}")


def load_store(db_url: str, n: int, shift: timedelta, agreements_kind: str = "all") -> dict[int, str]:
    """Parties, their agreements and n extents; returns a supervisor token per scenario party."""
    core = build_core(Settings(database_url=db_url))
    tokens = {}
    for p in range(scenario.PARTIES):
        _, tokens[p] = parties.create_party(core, scenario.party_id(p))
    for k, group in enumerate(bound_groups(agreements_kind)):
        draft = agreements.AgreementDraft(
            f"bench {k}",
            tuple(scenario.party_id(p) for p in group),
            None,
            1800.0,
            scenario.BUFFERS,
            LatePolicy.REJECT,
        )
        agreements.create_agreement(core, Principal("bench", None, None, Role.ADMIN), draft)
    with core.read() as repo:
        ids = {p.name: p.id for p in repo.parties()}
    sc = scenario.generate(n, seed=1)
    now = datetime.now(UTC)
    ops: list[dict[str, Any]] = []
    extents: list[dict[str, Any]] = []
    revision = 2
    vols = scenario.volumes(sc)
    with Session(core.engine) as session, session.begin():
        for i, v in enumerate(track(vols, total=len(sc), description=f"loading {n:,} extents", console=console())):
            v = _shift(v, shift)
            if sc.leg[i] == 0:
                op_id = f"bench-{int(sc.op[i])}"
                ops.append(
                    {
                        "id": op_id,
                        "party_id": ids[scenario.party_id(int(sc.party[i]))],
                        "state": "accepted",
                        "version": "v1",
                        "revision": revision,
                        "private": {},
                        "late_notice": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            assert v.time.start is not None
            assert v.time.end is not None
            extents.append(
                {
                    "operation_id": ops[-1]["id"],
                    "position": int(sc.leg[i]),
                    "volume": codec.volume_to_doc(v),
                    "time_start": v.time.start,
                    "time_end": v.time.end,
                    "altitude_lower_m": v.altitude.lower_m,
                    "altitude_upper_m": v.altitude.upper_m,
                }
            )
            if len(extents) >= 20_000:
                session.execute(insert(OperationRow), ops[:-1])
                session.execute(insert(ExtentRow), [e for e in extents if e["operation_id"] != ops[-1]["id"]])
                extents = [e for e in extents if e["operation_id"] == ops[-1]["id"]]
                ops = ops[-1:]
        session.execute(insert(OperationRow), ops)
        session.execute(insert(ExtentRow), extents)
        session.execute(update(Counter).where(Counter.name == "revision").values(value=revision + 10))
    core.engine.dispose()
    return tokens


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, src: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """A `deconflict serve` subprocess on the store at `db_url` (from the source tree `src` when given)
    and its base URL."""
    port = _free_port()
    env = {**os.environ, "DECONFLICT_DATABASE_URL": db_url}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)
    server = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


def wait_until_up(client: httpx.Client) -> float:
    """Seconds until the server answers `/healthz` (it loads its index first); gives up after 15 minutes."""
    t = time.perf_counter()
    while time.perf_counter() - t < 900:
        try:
            client.get("/healthz")
            return time.perf_counter() - t
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 15 minutes")


def run_size(n: int, filings: int, agreements_kind: str = "all") -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="deconflict-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    shift = tomorrow - scenario.EPOCH
    tokens = load_store(db_url, n, shift, agreements_kind)
    server, url = start_server(db_url)
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            startup_s = wait_until_up(client)
            queries = scenario.queries(filings + 1, seed=99)
            bodies = [
                (tokens[q.party], {"extents": [volume_out(_shift(v, shift)) for v in q.volumes]}) for q in queries
            ]
            t = time.perf_counter()
            first = client.post(
                "/api/v1/operations", json=bodies[0][1], headers={"Authorization": f"Bearer {bodies[0][0]}"}
            )
            warmup_s = time.perf_counter() - t
            assert first.status_code == 201, first.text
            samples, conflicts = [], []
            for token, body in track(bodies[1:], description=f"filing at {n:,}", console=console()):
                t = time.perf_counter()
                r = client.post("/api/v1/operations", json=body, headers={"Authorization": f"Bearer {token}"})
                samples.append(time.perf_counter() - t)
                assert r.status_code == 201, r.text
                conflicts.append(len(r.json()["conflicts"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat = latency_summary_ms(np.asarray(samples))
    return {
        "n": n,
        "agreements": agreements_kind,
        "counterparts": len({p for g in bound_groups(agreements_kind) if 0 in g for p in g}) - 1,
        "startup_s": startup_s,
        "warmup_s": warmup_s,
        "filings": len(samples),
        "conflicts": float(np.mean(conflicts)),
        **lat,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="comma-separated store sizes (extents)")
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--agreements", default="all", help="all (one agreement binding all 20 parties) or pairs")
    args = parser.parse_args(argv)
    results = [run_size(int(s), args.filings, args.agreements) for s in args.sizes.split(",")]
    table = Table(title="HTTP filing through `deconflict serve` (SQLite, WAL, synchronous=FULL)")
    for col in (
        "extents",
        "agreements",
        "counterparts notified",
        "start-up incl. index load (s)",
        "first filing (ms)",
        "filings",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
        "conflicts/filing",
    ):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            f"{r['n']:,}",
            r["agreements"],
            str(r["counterparts"]),
            f"{r['startup_s']:.1f}",
            f"{r['warmup_s'] * 1e3:.1f}",
            str(r["filings"]),
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{r['max']:.2f}",
            f"{r['conflicts']:.2f}",
        )
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in machine().items()))
    out.print(table)


if __name__ == "__main__":
    main()
