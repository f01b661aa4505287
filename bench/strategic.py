"""Strategic conflict check, side by side: the in-process engine and PostGIS, same data, same run.

    python -m bench.strategic --sizes 100000,1000000 --queries 500

For each store size: build the engine's index, COPY the same extents into PostGIS (GiST on
geography and tstzrange), warm both up, then time the check of each new operation on
both, interleaved (engine, then PostGIS, query by query), and compare the answers pair by
pair. Disagreements are listed with the lateral distance each side measured. Then each side runs
the same queries again on its own, one after the other (engine, then each PostGIS layout), `--passes`
times: the interleaved figures show both sides with caches the other left cold, the blocked ones each
side warm, and the fastest of the passes per query leaves out the machine's one-off stalls, for both
sides alike. Last, PostGIS is asked for each conflict described as the engine describes it (distance,
window, band, overlap shape: `bench.described`), blocked in the same way, and the descriptions are
compared with the engine's.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.table import Table

from bench import described, engine, measure, postgis, scenario
from deconflict.domain.separation import separation

_MAX_LISTED = 25


def _gaps(a: Any, b: Any) -> tuple[float, float]:
    """(time gap s, vertical gap m) between two volumes; 0 when they overlap."""
    tg = max(b.time.start_s() - a.time.end_s(), a.time.start_s() - b.time.end_s(), 0.0)
    vg = max(b.altitude.lower_m - a.altitude.upper_m, a.altitude.lower_m - b.altitude.upper_m, 0.0)
    return tg, vg


def run_size(
    n: int, n_queries: int, n_warmup: int, dsn: str, passes: int = 1, held_out: bool = False
) -> dict[str, Any]:
    console = measure.console()
    digest = measure.engine_digest()
    book = scenario.agreement_book()
    queries = scenario.queries(n_queries, engine.QUERY_SEED)
    warm = scenario.queries(n_warmup, engine.WARMUP_SEED)
    conn = postgis.connect_bench(dsn)
    layouts = list(postgis.LAYOUTS)
    sqls = {layout: postgis.check_sql(layout) for layout in layouts}
    with engine.progress_bar(console) as progress:
        store = engine.build_store(n, progress)
        if held_out:
            queries = engine.held_out(store, n_queries)
        loaded = postgis.load(conn, store, progress)

        pg_params = [postgis.params(q) for q in queries]
        ours = np.zeros(len(queries))
        theirs = {layout: np.zeros(len(queries)) for layout in layouts}
        ours_pairs: list[dict[engine.Pair, float]] = []
        pg_pairs: dict[str, list[set[engine.Pair]]] = {layout: [] for layout in layouts}
        with conn.cursor() as cur:
            task = progress.add_task("warm-up (all)", total=len(warm))
            for q in warm:
                engine.timed_detect(store, book, q)
                for layout in layouts:
                    postgis.timed_check(cur, sqls[layout], postgis.params(q))
                progress.advance(task)
            # Interleaved, rotating who goes first, so no side always runs on caches the other left cold.
            sides = ["engine", *layouts]
            load_before = os.getloadavg()[0]
            task = progress.add_task("timed checks (interleaved)", total=len(queries))
            for qi, q in enumerate(queries):
                for side in sides[qi % 3 :] + sides[: qi % 3]:
                    if side == "engine":
                        ours[qi], found = engine.timed_detect(store, book, q)
                        ours_pairs.append(found)
                    else:
                        theirs[side][qi], rows = postgis.timed_check(cur, sqls[side], pg_params[qi])
                        pg_pairs[side].append(rows)
                progress.advance(task)
        alone = engine.run_queries(store, book, queries, progress)
        ours_best = alone.latency_s
        with conn.cursor() as cur:

            def postgis_pass(layout: str) -> npt.NDArray[np.float64]:
                return np.array([postgis.timed_check(cur, sqls[layout], p)[0] for p in pg_params])

            progress.add_task("PostGIS alone, each layout", total=None)
            theirs_alone = {layout: postgis_pass(layout) for layout in layouts}
            theirs_best = dict(theirs_alone)
            # More blocked passes, each side in turn: per query, the fastest pass of each side.
            for n_pass in range(2, passes + 1):
                progress.add_task(f"pass {n_pass} of {passes}, each side alone", total=None)
                ours_best = np.minimum(ours_best, [engine.timed_detect(store, book, q)[0] for q in queries])
                for layout in layouts:
                    theirs_best[layout] = np.minimum(theirs_best[layout], postgis_pass(layout))
        load_after = os.getloadavg()[0]
        progress.add_task(f"PostGIS describing each conflict, {passes} passes", total=None)
        with conn.cursor() as cur:
            described_best, pg_described = _described_passes(cur, queries, warm, passes)
        ours_described = described.engine_descriptions(store, queries)

    compare = {layout: _compare(conn, store, queries, ours_pairs, pg_pairs[layout]) for layout in layouts}
    server = conn.execute("SELECT version(), postgis_full_version(), current_setting('shared_buffers')").fetchone()
    conn.close()
    assert server is not None
    return {
        "engine": engine.result_row(n, store, alone, "held-out" if held_out else "new"),
        "engine_digest": digest,
        "load_average_1min": [load_before, load_after],
        "engine_interleaved_ms": measure.latency_summary_ms(ours),
        "passes": passes,
        "engine_best_ms": measure.latency_summary_ms(ours_best),
        "postgis": {
            "latency_ms": {layout: measure.latency_summary_ms(theirs[layout]) for layout in layouts},
            "alone_latency_ms": {layout: measure.latency_summary_ms(theirs_alone[layout]) for layout in layouts},
            "best_latency_ms": {layout: measure.latency_summary_ms(theirs_best[layout]) for layout in layouts},
            "loaded": asdict(loaded),
            "server": [str(s) for s in server],
        },
        "compare": compare,
        "described": {
            "best_latency_ms": measure.latency_summary_ms(described_best),
            "compare": described.compare(ours_described, pg_described),
        },
    }


def _described_passes(
    cur: postgis.Cursor, queries: list[scenario.Query], warm: list[scenario.Query], passes: int
) -> tuple[npt.NDArray[np.float64], list[dict[engine.Pair, described.Description]]]:
    """PostGIS's like-for-like check (composite layout), blocked: per query the fastest of `passes`; the answers."""
    sql = described.describe_sql("composite")
    for q in warm:
        described.timed_describe(cur, sql, described.params(q))
    all_params = [described.params(q) for q in queries]
    best = np.full(len(queries), np.inf)
    answers: list[dict[engine.Pair, described.Description]] = []
    for n_pass in range(passes):
        for qi, p in enumerate(all_params):
            elapsed, found = described.timed_describe(cur, sql, p)
            best[qi] = min(best[qi], elapsed)
            if n_pass == 0:
                answers.append(found)
    return best, answers


def _compare(
    conn: Any,
    store: engine.Store,
    queries: list[scenario.Query],
    ours: list[dict[engine.Pair, float]],
    theirs: list[set[engine.Pair]],
) -> dict[str, Any]:
    """Pair-by-pair comparison; each disagreement with both sides' lateral distance and the gaps."""
    mismatches: list[dict[str, Any]] = []
    identical = 0
    for qi, q in enumerate(queries):
        mine, pg = set(ours[qi]), theirs[qi]
        if mine == pg:
            identical += 1
            continue
        for k, gid in sorted(mine ^ pg):
            qv, sv = q.volumes[k], store.volumes[gid]
            tg, vg = _gaps(qv, sv)
            mismatches.append(
                {
                    "query": qi,
                    "extent": k,
                    "stored": gid,
                    "only_in": "engine" if (k, gid) in mine else "postgis",
                    "engine_distance_m": separation(qv.outline, sv.outline, 1e7).distance_m,
                    "postgis_distance_m": postgis.distance_m(conn, qv, gid),
                    "time_gap_s": tg,
                    "vertical_gap_m": vg,
                    "shapes": f"{qv.outline.kind}/{sv.outline.kind}",
                }
            )
    lateral = scenario.BUFFERS.lateral_m
    gaps = [lateral - d for found in ours for d in found.values() if d > 0]
    return {
        "queries": len(queries),
        "identical": identical,
        "closest_to_buffer_m": min(gaps, default=None),
        "within_10m_of_buffer": sum(1 for g in gaps if g <= 10.0),
        "pairs_engine": sum(len(p) for p in ours),
        "pairs_postgis": sum(len(p) for p in theirs),
        "mismatches": mismatches,
    }


def side_by_side_table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="Strategic check of one new operation: engine vs PostGIS (same data, same run, interleaved)")
    for col in (
        "N extents",
        "ours p50 ms",
        "ours p99 ms",
        "PostGIS indexes",
        "PostGIS p50 ms",
        "PostGIS p99 ms",
        "ratio p50",
        "ratio p99",
        "identical answers",
        "conflict pairs (ours/PostGIS)",
        "mismatching pairs",
    ):
        t.add_column(col, justify="right")
    for r in results:
        e = r["engine_interleaved_ms"]
        for layout, p in r["postgis"]["latency_ms"].items():
            c = r["compare"][layout]
            t.add_row(
                f"{r['engine']['n']:,}", f"{e['p50']:.3f}", f"{e['p99']:.3f}", layout,
                f"{p['p50']:.3f}", f"{p['p99']:.3f}", f"{e['p50'] / p['p50']:.2f}x", f"{e['p99'] / p['p99']:.2f}x",
                f"{c['identical']}/{c['queries']}", f"{c['pairs_engine']}/{c['pairs_postgis']}",
                str(len(c["mismatches"])),
            )  # fmt: skip
    near = ", ".join(
        f"{r['engine']['n']:,}: {c['within_10m_of_buffer']} pairs within 10 m inside the buffer, closest "
        f"{c['closest_to_buffer_m']:.2f} m"
        for r in results
        for c in list(r["compare"].values())[:1]
        if c["closest_to_buffer_m"] is not None
    )
    t.caption = (
        f"Boundary cases among the agreed conflicts (engine distance): {near}. "
        "ratio = ours / PostGIS (below 1.0x: the engine is faster). Latency per operation of 1-3 extents; "
        "PostGIS: one prepared statement, execute + fetch over TCP to localhost. "
        "separate = GiST(geography) + GiST(tstzrange); composite = GiST(geography, tstzrange)."
    )
    return t


def blocked_table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="The same checks, each side on its own (blocked: all of one side's queries, then the next)")
    for col in ("N extents", "passes", "ours p50 ms", "ours p99 ms", "PostGIS indexes", "PostGIS p50 ms",
                "PostGIS p99 ms", "ratio p50", "ratio p99"):  # fmt: skip
        t.add_column(col, justify="right")
    for r in results:
        runs = [("1", r["engine"]["latency_ms"], r["postgis"]["alone_latency_ms"])]
        if r["passes"] > 1:
            runs.append((f"fastest of {r['passes']}", r["engine_best_ms"], r["postgis"]["best_latency_ms"]))
        for label, e, theirs in runs:
            for layout, p in theirs.items():
                t.add_row(
                    f"{r['engine']['n']:,}", label, f"{e['p50']:.3f}", f"{e['p99']:.3f}", layout,
                    f"{p['p50']:.3f}", f"{p['p99']:.3f}", f"{e['p50'] / p['p50']:.2f}x", f"{e['p99'] / p['p99']:.2f}x",
                )  # fmt: skip
    t.caption = (
        "Answers as in the interleaved table (the same queries on the same stores). 'fastest of N': each "
        "query's fastest of N blocked passes, for both sides alike (a stall of the machine in one pass drops out)."
    )
    return t


def load_table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="Building the stores")
    layouts = list(postgis.LAYOUTS)
    cols = ["N extents", "engine: outlines", "engine: index", "engine MiB/M: volumes", "engine MiB/M: index",
            "PostGIS: COPY", "PostGIS MiB/M: table"]  # fmt: skip
    for layout in layouts:
        cols += [f"PostGIS {layout}: GiST+ANALYZE", f"PostGIS MiB/M: {layout} GiST"]
    for col in cols:
        t.add_column(col, justify="right")
    for r in results:
        e, lo = r["engine"], r["postgis"]["loaded"]
        per_m = 1e6 / e["n"]
        row = [
            f"{e['n']:,}", f"{e['outlines_s']:.1f} s", f"{e['index_s']:.1f} s",
            f"{e['volumes_mib_per_m']:,.0f}", f"{e['index_mib_per_m']:,.0f}",
            f"{lo['copy_s']:.1f} s", f"{lo['table_mib'] * per_m:,.0f}",
        ]  # fmt: skip
        for layout in layouts:
            row += [f"{lo['index_s'][layout]:.1f} s", f"{lo['index_mib'][layout] * per_m:,.0f}"]
        t.add_row(*row)
    return t


def mismatch_table(results: list[dict[str, Any]]) -> Table | None:
    rows = [(r["engine"]["n"], lay, m) for r in results for lay, c in r["compare"].items() for m in c["mismatches"]]
    if not rows:
        return None
    t = Table(title=f"Disagreements (first {_MAX_LISTED}); lateral buffer {scenario.BUFFERS.lateral_m:,.0f} m")
    for col in (
        "N",
        "PostGIS indexes",
        "query",
        "extent",
        "stored id",
        "only in",
        "shapes",
        "engine distance m",
        "PostGIS distance m",
        "time gap s",
        "vertical gap m",
    ):
        t.add_column(col, justify="right")
    for n, layout, m in rows[:_MAX_LISTED]:
        t.add_row(
            f"{n:,}", layout, str(m["query"]), str(m["extent"]), str(m["stored"]), m["only_in"], m["shapes"],
            f"{m['engine_distance_m']:.3f}", f"{m['postgis_distance_m']:.3f}",
            f"{m['time_gap_s']:.0f}", f"{m['vertical_gap_m']:.1f}",
        )  # fmt: skip
    return t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.strategic", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=measure.sizes_arg, default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--passes", type=int, default=3, help="blocked passes per side (each query: its fastest)")
    ap.add_argument("--dsn", default=postgis.DEFAULT_DSN, help="server to use; the benchmark creates its own database")
    ap.add_argument(
        "--held-out",
        action="store_true",
        help="check operations of the store itself (each against the rest) instead of new ones",
    )
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)
    console = measure.console()
    if len(args.sizes) > 1:
        passed = ["--queries", str(args.queries), "--warmup", str(args.warmup), "--dsn", args.dsn]
        passed += ["--passes", str(args.passes), *(["--held-out"] if args.held_out else [])]
        results = measure.one_process_per_size("bench.strategic", passed, args.sizes)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    else:
        (n,) = args.sizes
        results = [run_size(n, args.queries, args.warmup, args.dsn, args.passes, args.held_out)]
        if args.json:
            args.json.write_text(json.dumps(results[0], indent=1))
    console.print(load_table(results))
    console.print(engine.engine_table([r["engine"] for r in results]))
    console.print(side_by_side_table(results))
    console.print(blocked_table(results))
    console.print(described.table(results))
    mm = mismatch_table(results)
    if mm is not None:
        console.print(mm)
    server = results[-1]["postgis"]["server"]
    console.print(measure.machine_line(with_engine=False))
    digests = sorted({r["engine_digest"] for r in results})
    console.print(f"engine: deconflict.domain sources sha256 {', '.join(digests)}")
    checked = "held-out (the store's own, each against the rest)" if args.held_out else "new (another seed)"
    console.print(f"operations checked: {args.queries} {checked}")
    loads = ", ".join(
        f"{r['engine']['n']:,}: {r['load_average_1min'][0]:.2f} -> {r['load_average_1min'][1]:.2f}" for r in results
    )
    console.print(
        f"1-min load average before -> after the timed checks (2 cores; other work on the machine shows here): {loads}"
    )
    console.print(f"server: {server[0]}; shared_buffers {server[2]}")
    console.print(f"postgis: {server[1]}")


if __name__ == "__main__":
    main()
