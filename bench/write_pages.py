"""What a filing writes to SQLite: WAL frames per filing, by table and index.

    .venv/bin/python -m bench.write_pages --size 100000 --filings 40 --agreements all

A count, not a timing, so it does not depend on how fast or busy the machine is. The store
(bench.scenario, as `bench.http_filing` loads it) gets `--warmup` filings first; then the WAL is
checkpointed and SQLite's own checkpoints are switched off, and each of `--filings` more filings is
made in process (`services.operations.file_operation`, a full write: notices, audit entries,
events, fsync'd commit). After each, the frames it appended to the WAL are read and each frame's page
is named by SQLite's `dbstat` table: the table or index it belongs to. A page written twice in one
commit counts once in its b-tree's column and twice in "frames".
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import track
from rich.table import Table
from sqlalchemy import event

from bench import scenario
from bench.http_filing import _shift, bound_groups, load_store
from bench.measure import console, machine_line
from deconflict.api.app import build_core
from deconflict.domain.operations import PrivateDetails
from deconflict.domain.parties import Principal, Role
from deconflict.services import operations
from deconflict.settings import Settings

_WAL_HEADER = 32
_FRAME_HEADER = 24


def wal_pages(wal: Path, start: int, page_size: int) -> tuple[int, set[int]]:
    """The frames appended to the WAL from byte `start` on (at least past its header), and their pages."""
    data = wal.read_bytes()
    frames, pages = 0, set()
    for offset in range(max(start, _WAL_HEADER), len(data) - _FRAME_HEADER, _FRAME_HEADER + page_size):
        pages.add(struct.unpack(">I", data[offset : offset + 4])[0])
        frames += 1
    return frames, pages


def run(n: int, filings: int, warmup: int, agreements_kind: str) -> dict[str, Any]:
    db = Path(tempfile.mkdtemp(prefix="deconflict-pages-")) / "bench.db"
    url = f"sqlite:///{db}"
    shift = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - scenario.EPOCH
    load_store(url, n, shift, agreements_kind)
    core = build_core(Settings(database_url=url))
    with core.read() as repo:
        ids = {p.name: p.id for p in repo.parties()}
    queries = scenario.queries(warmup + filings, seed=99)

    def file(q: scenario.Query) -> None:
        party = scenario.party_id(q.party)
        principal = Principal("bench", ids[party], party, Role.SUPERVISOR)
        draft = operations.OperationDraft(tuple(_shift(v, shift) for v in q.volumes), PrivateDetails())
        operations.file_operation(core, principal, draft)

    for q in queries[:warmup]:
        file(q)
    event.listen(core.engine, "connect", lambda conn, _record: conn.execute("PRAGMA wal_autocheckpoint=0"))
    core.engine.dispose()  # new connections: no checkpoint of their own, so the WAL only grows
    reader = sqlite3.connect(db)
    try:
        try:
            reader.execute("SELECT count(*) FROM dbstat").fetchone()
        except sqlite3.OperationalError as exc:
            raise SystemExit(f"this SQLite cannot name pages ({exc}): it needs SQLITE_ENABLE_DBSTAT_VTAB") from exc
        reader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = int(reader.execute("PRAGMA page_size").fetchone()[0])
        wal = Path(f"{db}-wal")
        per_btree: Counter[str] = Counter()
        frames = 0
        for q in track(queries[warmup:], description=f"filings at {n:,}", console=console()):
            start = wal.stat().st_size if wal.exists() else 0
            file(q)
            appended, pages = wal_pages(wal, start, page_size)
            frames += appended
            # dbstat reads through the WAL, so it names the pages this filing created as well.
            owner = {p: name for name, p in reader.execute("SELECT name, pageno FROM dbstat") if p in pages}
            per_btree.update(owner.get(p, "(free list)") for p in pages)
    finally:
        reader.close()
        core.engine.dispose()
    return {
        "n": n,
        "agreements": agreements_kind,
        "counterparts": len({p for g in bound_groups(agreements_kind) if 0 in g for p in g}) - 1,
        "filings": filings,
        "frames": frames / filings,
        "per_btree": {name: count / filings for name, count in per_btree.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="store size (extents)")
    parser.add_argument("--filings", type=int, default=40, help="filings counted")
    parser.add_argument("--warmup", type=int, default=20, help="filings made first, not counted")
    parser.add_argument("--agreements", default="all", help="all (one agreement binding all 20 parties) or pairs")
    parser.add_argument("--top", type=int, default=16, help="b-trees listed one by one; the rest are summed")
    args = parser.parse_args(argv)
    r = run(args.size, args.filings, args.warmup, args.agreements)
    what = f"{r['n']:,} extents, {r['counterparts']} counterparts, {r['filings']} filings"
    table = Table(title=f"WAL pages a filing writes ({what})")
    table.add_column("table or index")
    table.add_column("pages per filing", justify="right")
    ranked = sorted(r["per_btree"].items(), key=lambda kv: (-kv[1], kv[0]))
    for name, pages in ranked[: args.top]:
        table.add_row(name, f"{pages:.2f}")
    rest = ranked[args.top :]
    if rest:
        table.add_row(f"{len(rest)} others", f"{sum(p for _, p in rest):.2f}")
    table.add_row("all pages", f"{sum(r['per_btree'].values()):.2f}", style="bold")
    table.add_row("WAL frames", f"{r['frames']:.2f}", style="bold")
    out = console()
    out.print(machine_line(with_engine=False))
    out.print(table)


if __name__ == "__main__":
    main()
