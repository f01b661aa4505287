"""Two revisions of the server side by side: filings sent to each in turn, so both meet the same machine.

    .venv/bin/python -m bench.http_filing_ab --a /tmp/old-checkout --b . --sizes 100000 --filings 600

On a shared machine (other work on the same cores, a host whose speed drifts by tens of per cent
over minutes) two runs one after the other can differ more than the change being measured. Here two
stores are loaded with the same scenario, a `deconflict serve` is started on each from its own
source tree (`--a`, `--b`: checkouts whose `src/` is put first on the server's path), and the same
filings are sent to A and B alternately, one at a time, in one loop. The table gives each side's
latencies and B's p50 relative to A's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.progress import track
from rich.table import Table

from bench import scenario
from bench.http_filing import _shift, load_store, start_server, wait_until_up
from bench.measure import console, latency_summary_ms, machine
from deconflict.api.convert import volume_out


def run(trees: dict[str, Path], n: int, filings: int, agreements_kind: str) -> dict[str, dict[str, Any]]:
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    shift = tomorrow - scenario.EPOCH
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    tokens: dict[str, dict[int, str]] = {}
    for side, tree in trees.items():
        db_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'deconflict-ab-{side}-')) / 'bench.db'}"
        tokens[side] = load_store(db_url, n, shift, agreements_kind)
        servers[side] = start_server(db_url, tree / "src")
    samples: dict[str, list[float]] = {side: [] for side in trees}
    conflicts: dict[str, list[int]] = {side: [] for side in trees}
    try:
        clients = {side: httpx.Client(base_url=url, timeout=600) for side, (_, url) in servers.items()}
        for client in clients.values():
            wait_until_up(client)
        queries = scenario.queries(filings + 1, seed=99)
        bodies = [(q.party, {"extents": [volume_out(_shift(v, shift)) for v in q.volumes]}) for q in queries]
        for i, (party, body) in enumerate(track(bodies, description=f"A/B filing at {n:,}", console=console())):
            order = list(trees) if i % 2 == 0 else list(reversed(trees))  # neither side always goes first
            for side in order:
                headers = {"Authorization": f"Bearer {tokens[side][party]}"}
                t = time.perf_counter()
                r = clients[side].post("/api/v1/operations", json=body, headers=headers)
                elapsed = time.perf_counter() - t
                assert r.status_code == 201, r.text
                if i > 0:  # the first filing of each pays for loading the index
                    samples[side].append(elapsed)
                    conflicts[side].append(len(r.json()["conflicts"]))
        for client in clients.values():
            client.close()
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
    return {
        side: {
            "n": len(samples[side]),
            "conflicts": float(np.mean(conflicts[side])),
            **latency_summary_ms(np.asarray(samples[side])),
        }
        for side in trees
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="source tree of side A (the baseline)")
    parser.add_argument("--b", type=Path, required=True, help="source tree of side B")
    parser.add_argument("--sizes", default="100000", help="comma-separated store sizes (extents)")
    parser.add_argument("--filings", type=int, default=600)
    parser.add_argument("--agreements", default="all", help="all (one agreement binding all 20 parties) or pairs")
    args = parser.parse_args(argv)
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in machine().items()))
    out.print(f"load average at the start: {os.getloadavg()}")
    table = Table(title=f"HTTP filing, A = {trees['A']}, B = {trees['B']} (alternating)")
    for col in ("extents", "agreements", "side", "filings", "p50 (ms)", "p99 (ms)", "max (ms)", "conflicts/filing"):
        table.add_column(col, justify="right")
    for size in (int(s) for s in args.sizes.split(",")):
        results = run(trees, size, args.filings, args.agreements)
        for side, r in results.items():
            table.add_row(
                f"{size:,}",
                args.agreements,
                side,
                str(r["n"]),
                f"{r['p50']:.2f}",
                f"{r['p99']:.2f}",
                f"{r['max']:.2f}",
                f"{r['conflicts']:.2f}",
            )
        ratio = results["B"]["p50"] / results["A"]["p50"]
        table.add_row("", "", "B/A p50", "", f"{ratio:.3f}", "", "", "")
    out.print(table)
    out.print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
