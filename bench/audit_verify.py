"""Audit chain verification speed: `deconflict audit verify` over a 1M-entry hash chain.

    .venv/bin/python -m bench.audit_verify --entries 1000000
    .venv/bin/python -m bench.audit_verify --entries 1000000 --pg postgresql://postgres@127.0.0.1:5432/test

The chain is built in a fresh store (SQLite file in a temporary folder; with `--pg`, also a database
`deconflict_bench_audit` of its own on that server, dropped afterwards). Every entry is made by
`domain.audit.chain_entry`, as the service makes them; the rows are written with bulk inserts
instead of `journal.insert_audit` per command (same columns, same values, much faster). Payloads are
notice-like documents: `notice.sent` (60 %), `notice.delivered` (25 %) and `operation.filed` with a
circle extent (15 %), a few hundred bytes each. A signed checkpoint is added every 100,000 entries
and at the head, so verify also checks Ed25519 signatures.

Then, each in a fresh child process so peak RSS is its own:
* `deconflict.services.audit.verify` (the code `deconflict audit verify` runs), timed in-process;
* the CLI itself, `deconflict audit verify --db URL --public-key HEX`, timed as a subprocess.

`--profile` also runs the in-process verify under cProfile and prints where the time goes.

Wall time depends on what else runs on the machine; the CPU seconds of the verifying process
(the database server's own work excluded) are the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from bench.measure import console, machine
from deconflict.api.app import build_core
from deconflict.domain.audit import AuditEntry, chain_entry
from deconflict.services.audit import Signer
from deconflict.settings import Settings
from deconflict.storage import journal
from deconflict.storage.database import normalise_url
from deconflict.storage.tables import AuditEntryRow, AuditPartyRow, Counter

BENCH_DB = "deconflict_bench_audit"
CHECKPOINT_EVERY = 100_000
PARTIES = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(1, 21)]


def _uuid(n: int) -> str:
    h = f"{n % 2**128:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def entries(n: int, t0: datetime) -> Iterator[AuditEntry]:
    """The chain: deterministic, notice-like payloads, one entry every 50 ms of server time."""
    head: tuple[int, str] | None = None
    for i in range(n):
        at = t0 + timedelta(milliseconds=50 * i)
        a, b = PARTIES[i % 20], PARTIES[(i * 7 + 3) % 20]
        if b == a:
            b = PARTIES[(i + 1) % 20]
        op_id = _uuid(i * 2654435761 + 1)
        kind = i % 20
        payload: dict[str, Any]
        if kind < 12:
            action, subject = "notice.sent", ("notice", _uuid(i * 40503 + 7))
            payload = {
                "operation_id": op_id,
                "operation_version": f"{i * 2654435761 % 2**80:020x}",
                "trigger": "filed",
                "to_party_id": b,
                "status": "pending",
                "lead_time_s": 3600.0 + (i % 977) * 1.25,
            }
        elif kind < 17:
            action, subject = "notice.delivered", ("notice", _uuid(i * 40503 + 7))
            payload = {"id": subject[1], "to_party_id": b, "delivered_at": at.isoformat()}
        else:
            action, subject = "operation.filed", ("operation", op_id)
            start = at + timedelta(hours=1)
            payload = {
                "operation": {
                    "id": op_id,
                    "party_id": a,
                    "state": "accepted",
                    "version": f"{i:020x}",
                    "extents": [
                        {
                            "volume": {
                                "outline_circle": {
                                    "center": {"lat": 45.0 + (i % 4000) / 1000, "lng": 6.0 + (i % 6000) / 1000},
                                    "radius": {"value": 500.0 + i % 4500, "units": "M"},
                                },
                                "altitude_lower": {"value": 0.0, "reference": "W84", "units": "M"},
                                "altitude_upper": {"value": 150.0 + i % 1000, "reference": "W84", "units": "M"},
                            },
                            "time_start": {"value": start.isoformat(), "format": "RFC3339"},
                            "time_end": {"value": (start + timedelta(hours=2)).isoformat(), "format": "RFC3339"},
                        }
                    ],
                    "late_notice": [],
                }
            }
        actor = (a, f"{i % 97:032x}", "operator")
        entry = chain_entry(head, at, actor, action, subject, (a, b), payload)
        head = (entry.seq, entry.entry_hash)
        yield entry


def build(url: str, n: int, batch: int = 20_000) -> dict[str, Any]:
    """Write the chain (and checkpoints) into a migrated store at `url`; returns build figures."""
    settings = Settings(database_url=url, signing_key_file=None)
    core = build_core(settings)
    signer = Signer.load_or_create(settings.signing_key_path() if url.startswith("sqlite") else _pg_key_path())
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    party_rows: list[dict[str, Any]] = []
    payload_bytes = 0
    last: AuditEntry | None = None
    with Session(core.engine) as session, session.begin():

        def flush() -> None:
            if rows:
                session.execute(insert(AuditEntryRow), rows)
                session.execute(insert(AuditPartyRow), party_rows)
            rows.clear()
            party_rows.clear()

        for e in entries(n, t0):
            rows.append(
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor_party_id": e.actor_party_id,
                    "actor_token_id": e.actor_token_id,
                    "actor_role": e.actor_role,
                    "action": e.action,
                    "subject_kind": e.subject_kind,
                    "subject_id": e.subject_id,
                    "parties": list(e.parties),
                    "payload": dict(e.payload),
                    "payload_digest": e.payload_digest,
                    "prev_hash": e.prev_hash,
                    "entry_hash": e.entry_hash,
                }
            )
            party_rows.extend({"party_id": p, "seq": e.seq} for p in e.parties)
            if e.seq % 101 == 0:  # a sample across all three kinds (101 and 20 are coprime)
                payload_bytes += len(json.dumps(dict(e.payload)))
            if e.seq % CHECKPOINT_EVERY == 0 or e.seq == n:
                flush()
                journal.add_checkpoint(session, signer.sign(e.at, e.seq, e.entry_hash))
            elif len(rows) >= batch:
                flush()
            last = e
        flush()
        session.add(Counter(name=journal.AUDIT_COUNTER, value=n))
    build_s = time.perf_counter() - started
    core.engine.dispose()
    assert last is not None
    return {
        "entries": n,
        "build_s": build_s,
        "mean_payload_bytes": payload_bytes / max(1, n // 101),
        "public_key": signer.public_key_hex,
        "head_hash": last.entry_hash,
    }


def _pg_key_path() -> str:
    return str(Path(tempfile.gettempdir()) / "deconflict-bench-audit-key.pem")


def store_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.suffix != ".pem")
    engine = create_engine(normalise_url(url))
    with engine.connect() as c:
        size = int(c.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    return size


# -- the timed runs, each in a child process -----------------------------------------------------


def verify_here(url: str, public_key: str, profile: bool) -> dict[str, Any]:
    """Time `services.audit.verify` in this (fresh) process."""
    from deconflict.services.audit import verify

    core = build_core(Settings(database_url=url), migrate=False)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t, cpu = time.perf_counter(), time.process_time()
    verdict = verify(core, public_key)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    out: dict[str, Any] = {
        "ok": verdict.ok,
        "problem": verdict.problem,
        "entries_checked": verdict.entries_checked,
        "checkpoints_checked": verdict.checkpoints_checked,
        "seconds": seconds,
        "entries_s": verdict.entries_checked / seconds,
        "cpu_s": cpu,
        "entries_cpu_s": verdict.entries_checked / cpu,
        "rss_before_mib": rss_before / 1024,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if profile:
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.runcall(verify, core, public_key)
        out["profiled_seconds"] = time.perf_counter() - t
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        out["profile"] = buf.getvalue()
    core.engine.dispose()
    return out


def verify_in_child(url: str, public_key: str, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "verify.json"
        cmd = [sys.executable, "-m", "bench.audit_verify", "--verify-only", url, "--public-key", public_key]
        cmd += ["--json", str(out)] + (["--profile"] if profile else [])
        subprocess.run(cmd, check=True)
        return dict(json.loads(out.read_text()))


def verify_cli(url: str, public_key: str) -> dict[str, Any]:
    """`deconflict audit verify` as a user runs it: wall time, exit status, the child's peak RSS."""
    exe = Path(sys.executable).parent / "deconflict"
    cmd = [str(exe), "audit", "verify", "--db", url, "--public-key", public_key]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {
        "command": " ".join([*cmd[1:3], "--db", "URL", "--public-key", "HEX"]),
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": seconds,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "output": " ".join(stderr.split()),
    }


# -- one backend ----------------------------------------------------------------------------------


def run_backend(name: str, url: str, n: int, profile: bool) -> dict[str, Any]:
    console().print(f"building {n:,} entries in {name} ...")
    built = build(url, n)
    size = store_bytes(url)
    console().print(f"built in {built['build_s']:.1f} s; verifying ...")
    here = verify_in_child(url, built["public_key"], profile)
    cli = verify_cli(url, built["public_key"])
    return {"backend": name, **built, "store_mib": size / 2**20, "verify": here, "cli": cli}


@contextlib.contextmanager
def pg_database(dsn: str) -> Iterator[str]:
    """A database of the benchmark's own on the server of `dsn`, dropped afterwards."""
    admin = create_engine(normalise_url(dsn), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
        c.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    base = dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{BENCH_DB}"
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        admin.dispose()


def report(results: list[dict[str, Any]]) -> None:
    out = console()
    out.print(" | ".join(f"{k}: {v}" for k, v in machine().items()))
    t = Table(title="audit verify: recompute the chain and check every signed checkpoint")
    cols = (
        "store",
        "entries",
        "payload B (mean)",
        "build s",
        "store MiB",
        "verify s",
        "entries/s",
        "CPU s",
        "entries/CPU-s",
        "peak RSS MiB",
        "CLI s",
        "CLI entries/s",
        "CLI CPU s",
        "CLI peak RSS MiB",
        "CLI exit",
    )
    for col in cols:
        t.add_column(col, justify="right")
    for r in results:
        v, c = r["verify"], r["cli"]
        t.add_row(
            r["backend"],
            f"{v['entries_checked']:,}",
            f"{r['mean_payload_bytes']:.0f}",
            f"{r['build_s']:.1f}",
            f"{r['store_mib']:.0f}",
            f"{v['seconds']:.1f}",
            f"{v['entries_s']:,.0f}",
            f"{v['cpu_s']:.1f}",
            f"{v['entries_cpu_s']:,.0f}",
            f"{v['peak_rss_mib']:.0f}",
            f"{c['seconds']:.1f}",
            f"{v['entries_checked'] / c['seconds']:,.0f}",
            f"{c['cpu_s']:.1f}",
            f"{c['peak_rss_mib']:.0f}",
            str(c["exit"]),
        )
    out.print(t)
    for r in results:
        v = r["verify"]
        out.print(f"{r['backend']}: verdict ok={v['ok']} checkpoints={v['checkpoints_checked']} {v['problem'] or ''}")
        out.print(f"{r['backend']} CLI: {r['cli']['output']}")
        if "profile" in v:
            out.print(f"{r['backend']}: cProfile, {v['profiled_seconds']:.1f} s under the profiler")
            out.print(v["profile"], markup=False, highlight=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pg", help="also run on this PostgreSQL server (a database of its own is made)")
    parser.add_argument("--no-sqlite", action="store_true", help="only the --pg run")
    parser.add_argument("--profile", action="store_true", help="also profile verify (cProfile)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--verify-only", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--public-key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.verify_only:
        res = verify_here(args.verify_only, args.public_key, args.profile)
        if args.json:
            args.json.write_text(json.dumps(res))
        return
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="deconflict-audit-") as tmp:
            results.append(run_backend("SQLite", f"sqlite:///{tmp}/audit.db", args.entries, args.profile))
    if args.pg:
        with pg_database(args.pg) as url:
            results.append(run_backend("PostgreSQL", url, args.entries, args.profile))
        with contextlib.suppress(FileNotFoundError):
            Path(_pg_key_path()).unlink()
    report(results)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
