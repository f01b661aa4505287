"""Like for like: PostGIS asked for the same conflict descriptions as the engine returns.

`bench.postgis.CHECK_SQL` asks PostGIS for the conflicting pairs only. The engine returns more for
each pair: the horizontal distance, the overlapping time window and altitude band, and the overlap
shape as GeoJSON. `DESCRIBE_SQL` finds the same pairs with the same statement (`postgis.FOUND_SQL`)
and describes each one the engine's way:

* distance: spheroidal `ST_Distance` less the circles' radii (a circle is its centre and radius);
* window and band: the overlap of the raw (unbuffered) ones, empty when they only meet through a buffer;
* shape: the intersection of the two outlines when they meet (a circle drawn by `ST_Buffer` on
  geography, 32 vertices as the engine's discs), else the lens where both, widened by half the lateral
  buffer, meet (drawn as the engine draws them: a widened circle with 64 vertices, a polygon's round
  corners with 4 segments per quarter); as GeoJSON with 7 decimals.

`compare` checks the descriptions against the engine's, pair by pair: distances to within a metre
tell that two independent geodesic computations agree; overlap areas, on the ellipsoid (pyproj), tell
that the shapes drawn are the same to within the two ways of drawing a circle.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely.geometry
from rich.table import Table

from bench import postgis, scenario
from bench.engine import Pair, Store
from deconflict.domain.conflicts import Conflict, detect
from deconflict.domain.geodesy import GEOD
from deconflict.domain.separation import DISTANCE_TOLERANCE_M

DESCRIBE_SQL = (
    postgis.FOUND_SQL.replace("{columns}", "s.id, s.geog, s.radius_m, s.during, s.alt")
    + """, measured AS (
    SELECT *, greatest(ST_Distance(geog, g) - radius_m - r, 0.0) AS distance_m FROM found
)
SELECT k, id, distance_m,
       lower(window_ * during), upper(window_ * during),
       greatest(a0, lower(alt)::float8), least(a1, upper(alt)::float8),
       ST_AsGeoJSON(
           CASE WHEN distance_m <= %(touch_m)s THEN
               ST_Intersection(CASE WHEN radius_m > 0 THEN ST_Buffer(geog, radius_m) ELSE geog END,
                               CASE WHEN r > 0 THEN ST_Buffer(g, r) ELSE g END)
           ELSE ST_Intersection(
               ST_Buffer(geog, radius_m + %(half_m)s,
                         CASE WHEN radius_m > 0 THEN 'quad_segs=16' ELSE 'quad_segs=4' END),
               ST_Buffer(g, r + %(half_m)s, CASE WHEN r > 0 THEN 'quad_segs=16' ELSE 'quad_segs=4' END))
           END, 7)
FROM measured
"""
)

#: Overlaps smaller than this (m²) are slivers or lines on one side or both: their areas are not compared.
_MIN_COMPARED_AREA_M2 = 10_000.0


@dataclass(frozen=True)
class Description:
    distance_m: float
    time_start: datetime | None
    time_end: datetime | None
    altitude_lower_m: float
    altitude_upper_m: float
    overlap: dict[str, Any] | None


def describe_sql(layout: str) -> str:
    return DESCRIBE_SQL.replace("{table}", postgis.table_of(layout))


def params(q: scenario.Query) -> dict[str, object]:
    return {**postgis.params(q), "half_m": scenario.BUFFERS.lateral_m / 2, "touch_m": DISTANCE_TOLERANCE_M}


def timed_describe(cur: postgis.Cursor, sql: str, p: dict[str, object]) -> tuple[float, dict[Pair, Description]]:
    """Wall time of one round trip of `describe_sql`, with its rows parsed (GeoJSON text to dicts, as ours are)."""
    t = time.perf_counter()
    cur.execute(sql, p, prepare=True)
    rows = cur.fetchall()
    found = {
        (int(k), int(i)): Description(float(d), t0, t1, float(a0), float(a1), json.loads(g) if g else None)  # type: ignore[arg-type]
        for k, i, d, t0, t1, a0, a1, g in rows
    }
    return time.perf_counter() - t, found


def engine_descriptions(store: Store, queries: list[scenario.Query]) -> list[dict[Pair, Conflict]]:
    book = scenario.agreement_book()
    found: list[dict[Pair, Conflict]] = []
    for q in queries:
        conflicts = detect(scenario.party_id(q.party), q.volumes, store.index, book)
        found.append({(c.subject_extent, store.global_id(c.other_id, c.other_extent)): c for c in conflicts})
    return found


def _area_m2(doc: dict[str, Any] | None) -> float:
    if doc is None:
        return 0.0
    area, _ = GEOD.geometry_area_perimeter(shapely.geometry.shape(doc))
    return abs(float(area))


def compare(ours: list[dict[Pair, Conflict]], theirs: list[dict[Pair, Description]]) -> dict[str, Any]:
    """Pairs, distances, windows, bands and overlap areas of both sides, pair by pair."""
    same_pairs = sum(1 for a, b in zip(ours, theirs, strict=True) if a.keys() == b.keys())
    distance_diff: list[float] = []
    area_ratio: list[float] = []
    windows_bands_same = 0
    both = 0
    for a, b in zip(ours, theirs, strict=True):
        for pair in a.keys() & b.keys():
            mine, pg = a[pair], b[pair]
            both += 1
            distance_diff.append(abs(mine.horizontal_distance_m - pg.distance_m))
            windows_bands_same += (mine.time_start, mine.time_end) == (pg.time_start, pg.time_end) and np.isclose(
                [mine.altitude_lower_m, mine.altitude_upper_m], [pg.altitude_lower_m, pg.altitude_upper_m]
            ).all()
            mine_m2, pg_m2 = _area_m2(mine.overlap), _area_m2(pg.overlap)
            if min(mine_m2, pg_m2) >= _MIN_COMPARED_AREA_M2:
                area_ratio.append(mine_m2 / pg_m2)
    diff, ratio = np.array(distance_diff), np.array(area_ratio)
    return {
        "queries": len(ours),
        "same_pairs": same_pairs,
        "pairs": both,
        "windows_bands_same": int(windows_bands_same),
        "distance_diff_m": {"p50": float(np.median(diff)), "max": float(diff.max())} if len(diff) else None,
        "areas_compared": len(ratio),
        "area_ratio": {q: float(np.percentile(ratio, v)) for q, v in (("p1", 1), ("p50", 50), ("p99", 99))}
        if len(ratio)
        else None,
    }


def table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="Like for like: PostGIS also describes each conflict (distance, window, band, overlap GeoJSON)")
    for col in ("N extents", "passes", "ours p50 ms", "ours p99 ms", "PostGIS p50 ms", "PostGIS p99 ms",
                "ratio p50", "ratio p99", "same pairs", "windows, bands equal", "distance diff p50 / max m",
                "area ours/PostGIS p1 / p50 / p99"):  # fmt: skip
        t.add_column(col, justify="right")
    for r in results:
        d = r.get("described")
        if d is None:
            continue
        e, p, c = r["engine_best_ms"], d["best_latency_ms"], d["compare"]
        dd, ar = c["distance_diff_m"], c["area_ratio"]
        t.add_row(
            f"{r['engine']['n']:,}", f"fastest of {r['passes']}", f"{e['p50']:.3f}", f"{e['p99']:.3f}",
            f"{p['p50']:.3f}", f"{p['p99']:.3f}", f"{e['p50'] / p['p50']:.2f}x", f"{e['p99'] / p['p99']:.2f}x",
            f"{c['same_pairs']}/{c['queries']}", f"{c['windows_bands_same']}/{c['pairs']}",
            f"{dd['p50']:.4f} / {dd['max']:.4f}" if dd else "-",
            f"{ar['p1']:.4f} / {ar['p50']:.4f} / {ar['p99']:.4f} ({c['areas_compared']:,})" if ar else "-",
        )  # fmt: skip
    t.caption = (
        "Composite GiST layout; each query's fastest of the blocked passes, both sides alike. Areas are compared "
        f"where both overlaps cover at least {_MIN_COMPARED_AREA_M2:,.0f} m²; the engine draws a circle as a 32-gon "
        "in the AEQD frame of the other outline, PostGIS as a 32-gon in its best planar projection."
    )
    return t
