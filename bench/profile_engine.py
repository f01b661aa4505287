"""Where the engine's check time goes: latency by conflicts found, the slowest checks split, and a cProfile.

python -m bench.profile_engine --size 1000000 --queries 500
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.table import Table

from bench import engine, measure, scenario, tail_costs
from deconflict.domain import conflicts, index, screening


def _timed_stages(store: engine.Store, queries: list[scenario.Query]) -> dict[str, npt.NDArray[np.float64]]:
    """Per query: seconds in the index (candidates), in screening, in exact separation, and in overlap_geojson."""
    spent = {"candidates": np.zeros(len(queries)), "screen_many": np.zeros(len(queries)),
             "separation": np.zeros(len(queries)), "overlap_geojson": np.zeros(len(queries)),
             "total": np.zeros(len(queries))}  # fmt: skip
    current = [0]
    mod: Any = conflicts
    originals: dict[str, Callable[..., Any]] = {
        "candidates": index.SpaceTimeIndex.candidates_with_gaps,
        "screen_many": mod.screen_many,
        "separation": mod.separation,
        "overlap_geojson": mod.overlap_geojson,
    }

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name][current[0]] += time.perf_counter() - t

        return timed

    cls: Any = index.SpaceTimeIndex
    cls.candidates_with_gaps = wrap("candidates", originals["candidates"])
    mod.screen_many = wrap("screen_many", originals["screen_many"])
    mod.separation = wrap("separation", originals["separation"])
    mod.overlap_geojson = wrap("overlap_geojson", originals["overlap_geojson"])
    try:
        book = scenario.agreement_book()
        for qi, q in enumerate(queries):
            current[0] = qi
            spent["total"][qi] = engine.timed_detect(store, book, q)[0]
    finally:
        cls.candidates_with_gaps = originals["candidates"]
        mod.screen_many = originals["screen_many"]
        mod.separation = originals["separation"]
        mod.overlap_geojson = originals["overlap_geojson"]
    return spent


def what_if_table(store: engine.Store, queries: list[scenario.Query]) -> Table:
    """Latency with parts of the exact stage stubbed out: how much each part costs at the percentiles."""
    book = scenario.agreement_book()
    b = scenario.BUFFERS

    def as_is(q: scenario.Query) -> None:
        conflicts.detect(scenario.party_id(q.party), q.volumes, store.index, book)

    def no_overlap(q: scenario.Query) -> None:
        # Not a real option (detect must return every overlap): how much drawing them costs.
        mod: Any = conflicts
        scr: Any = screening
        original, original_many = mod.overlap_geojson, scr.geojson_many
        mod.overlap_geojson = lambda *a, **k: None
        scr.geojson_many = lambda shapes, *a, **k: [None] * len(shapes)
        try:
            conflicts.detect(scenario.party_id(q.party), q.volumes, store.index, book)
        finally:
            mod.overlap_geojson, scr.geojson_many = original, original_many

    def index_only(q: scenario.Query) -> None:
        for v in q.volumes:
            store.index.candidates(v, lateral_m=b.lateral_m, vertical_m=b.vertical_m, time_s=b.time_s)

    t = Table(title="What if: check latency with parts of the work removed (same queries, alone)")
    for col in ("variant", "p50 ms", "p99 ms", "max ms"):
        t.add_column(col, justify="right")
    for name, fn in (
        ("detect() as is", as_is),
        ("detect() without overlap GeoJSON", no_overlap),
        ("index stages only (candidates)", index_only),
    ):
        lat = np.zeros(len(queries))
        for qi, q in enumerate(queries):
            t0 = time.perf_counter()
            fn(q)
            lat[qi] = time.perf_counter() - t0
        s = measure.latency_summary_ms(lat)
        t.add_row(name, f"{s['p50']:.3f}", f"{s['p99']:.3f}", f"{s['max']:.3f}")
    return t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profile_engine", description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    console = measure.console()
    console.print(measure.machine_line())
    book = scenario.agreement_book()
    queries = scenario.queries(args.queries, engine.QUERY_SEED)
    with engine.progress_bar(console) as progress:
        store = engine.build_store(args.size, progress)
        engine.warm_up(store, book, scenario.queries(50, engine.WARMUP_SEED))
        run = engine.run_queries(store, book, queries, progress)

    n_conf = np.array([len(p) for p in run.pairs])
    lat_ms = run.latency_s * 1e3
    t = Table(title=f"Engine check latency by number of conflicts found (N = {args.size:,}, alone)")
    for col in ("conflicts", "queries", "p50 ms", "p99 ms", "max ms", "mean after box filter"):
        t.add_column(col, justify="right")
    for lo, hi, label in ((0, 0, "0"), (1, 1, "1"), (2, 3, "2-3"), (4, 10**9, "4+")):
        sel = (n_conf >= lo) & (n_conf <= hi)
        if sel.any():
            t.add_row(
                label, str(int(sel.sum())), f"{np.percentile(lat_ms[sel], 50):.3f}",
                f"{np.percentile(lat_ms[sel], 99):.3f}", f"{lat_ms[sel].max():.3f}",
                f"{run.stages.after_box[sel].mean():.1f}",
            )  # fmt: skip
    slowest = np.argsort(lat_ms)[-max(1, len(lat_ms) // 100) :]
    t.caption = (
        f"The slowest 1 % ({len(slowest)} checks) found {', '.join(str(int(n_conf[i])) for i in slowest)} conflicts; "
        f"overall p50 {np.percentile(lat_ms, 50):.3f} ms, p99 {np.percentile(lat_ms, 99):.3f} ms."
    )
    console.print(t)

    spent = _timed_stages(store, queries)
    totals = spent.pop("total")
    t = Table(title="Time per stage (instrumented run; wrappers add a little overhead)")
    for col in ("stage", "share of all checks", "share in slowest 1 %", "mean ms / check"):
        t.add_column(col, justify="right")
    all_s = float(totals.sum())
    slow_s = float(totals[slowest].sum())
    for name, s in spent.items():
        t.add_row(name, f"{s.sum() / all_s:.0%}", f"{s[slowest].sum() / slow_s:.0%}", f"{s.mean() * 1e3:.3f}")
    rest = totals - sum(spent.values())
    t.add_row(
        "rest of detect", f"{rest.sum() / all_s:.0%}", f"{rest[slowest].sum() / slow_s:.0%}", f"{rest.mean() * 1e3:.3f}"
    )
    console.print(t)

    console.print(tail_costs.tail_table(store, queries, np.argsort(lat_ms)[-max(1, len(lat_ms) // 50) :]))

    console.print(what_if_table(store, queries))

    t0 = time.perf_counter()
    gc.collect()
    full_gc_s = time.perf_counter() - t0
    console.print(
        f"A full gc.collect() with this store loaded takes {full_gc_s * 1e3:,.0f} ms "
        f"({len(gc.get_objects()):,} tracked objects); a check that triggers one pays it all."
    )

    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        engine.timed_detect(store, book, q)
    prof.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(args.top)
        console.print(f"[bold]cProfile of {len(queries)} checks, by {order}[/bold]")
        console.print(out.getvalue(), markup=False, highlight=False)


if __name__ == "__main__":
    main()
