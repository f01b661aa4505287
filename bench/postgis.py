"""The same strategic check in PostGIS: GiST on geography and tstzrange, one SQL statement per operation.

Used by `bench.strategic`, which loads the engine's store into PostgreSQL and compares answers.

Shapes: a polygon is stored as a geography POLYGON of its densified outline (the engine's
own vertices: geodesic edges split to <= 10 km, so great-circle and geodesic edges agree
to centimetres). A circle is stored as its centre POINT with `radius_m`, and the test
"within buffer" becomes ST_DWithin(centre, other, buffer + radius): that is exactly the
engine's definition of a geodesic circle (all points within radius of the centre), where a
polygonised circle would be off by tens of metres.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
from rich.progress import Progress

from bench import scenario
from bench.engine import Pair, Store
from deconflict.domain.separation import DISTANCE_TOLERANCE_M
from deconflict.domain.volumes import Outline, Volume4D

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = "deconflict_bench"

_SCHEMA = """
DROP TABLE IF EXISTS {table};
CREATE TABLE {table} (
    id integer PRIMARY KEY,
    party smallint NOT NULL,
    radius_m double precision NOT NULL,       -- 0 for polygons; circles are stored as their centre
    geog geography(GEOMETRY, 4326) NOT NULL,  -- POLYGON (densified outline) or POINT (circle centre)
    during tstzrange NOT NULL,
    alt numrange NOT NULL
);
"""

#: Two index layouts over the same rows, one table each. A circle is indexed by its reach,
#: `_ST_Expand(geog, radius_m)`: the box that ST_DWithin's own index support builds.
LAYOUTS: dict[str, tuple[str, ...]] = {
    # One GiST on geography, one on tstzrange: the planner combines them (BitmapAnd) or picks one.
    "separate": (
        "CREATE INDEX ON {table} USING gist (geog) WHERE radius_m = 0",
        "CREATE INDEX ON {table} USING gist (_ST_Expand(geog, radius_m)) WHERE radius_m > 0",
        "CREATE INDEX ON {table} USING gist (during)",
    ),
    # One multi-column GiST on (geography, tstzrange): space and time pruned in the same tree walk.
    "composite": (
        "CREATE INDEX ON {table} USING gist (geog, during) WHERE radius_m = 0",
        "CREATE INDEX ON {table} USING gist (_ST_Expand(geog, radius_m), during) WHERE radius_m > 0",
    ),
}

#: The part every statement shares: the new operation's 1-3 extents come in as arrays (`q`), and
#: `found` pairs each with the stored extents in conflict with it, one row per pair, with the stored
#: row's `{columns}` (of `s`). Conflict when the distance is <= the lateral buffer (+ the engine's 1 cm
#: tolerance), the windows come within the time buffer, the bands within the vertical buffer (+ 1 cm),
#: and the party differs.
FOUND_SQL = """
WITH q AS (
    SELECT k,
           ST_GeogFromWKB(wkb) AS g,
           r,
           tstzrange(t0, t1, '[]') AS window_,
           a0, a1,
           tstzrange(t0 - make_interval(secs => %(time_s)s), t1 + make_interval(secs => %(time_s)s), '[]') AS during,
           numrange((a0 - %(vertical_m)s)::numeric, (a1 + %(vertical_m)s)::numeric, '[]') AS alt
    FROM unnest(%(k)s::int[], %(wkb)s::bytea[], %(r)s::float8[], %(t0)s::timestamptz[], %(t1)s::timestamptz[],
                %(a0)s::float8[], %(a1)s::float8[]) AS u(k, wkb, r, t0, t1, a0, a1)
), found AS (
    SELECT q.k, q.g, q.r, q.window_, q.a0, q.a1, e.*
    FROM q CROSS JOIN LATERAL (
        SELECT {columns} FROM {table} s
        WHERE s.radius_m = 0
          AND ST_DWithin(s.geog, q.g, q.r + %(lateral_m)s)
          AND s.during && q.during AND s.alt && q.alt AND s.party <> %(party)s
        UNION ALL
        SELECT {columns} FROM {table} s
        WHERE s.radius_m > 0
          AND _ST_Expand(s.geog, s.radius_m) && _ST_Expand(q.g, q.r + %(lateral_m)s)
          AND ST_DWithin(s.geog, q.g, q.r + %(lateral_m)s + s.radius_m)
          AND s.during && q.during AND s.alt && q.alt AND s.party <> %(party)s
    ) e
)
"""

#: One statement per new operation: the conflicting pairs only.
CHECK_SQL = FOUND_SQL.replace("{columns}", "s.id") + "SELECT k, id FROM found\n"

DISTANCE_SQL = """
SELECT ST_Distance(e.geog, ST_GeogFromWKB(%(wkb)s)) - e.radius_m - %(r)s
FROM extent_separate e WHERE e.id = %(id)s
"""


def table_of(layout: str) -> str:
    return f"extent_{layout}"


def check_sql(layout: str) -> str:
    return CHECK_SQL.replace("{table}", table_of(layout))


def wkb(outline: Outline) -> bytes:
    """WKB (lng, lat) of a polygon's densified closed ring, or of a circle's centre point."""
    if outline.is_circle:
        return struct.pack("<BIdd", 1, 1, outline.center.lng, outline.center.lat)
    ring = np.column_stack(
        [np.append(outline.dense_lng, outline.dense_lng[0]), np.append(outline.dense_lat, outline.dense_lat[0])]
    )
    return struct.pack("<BIII", 1, 3, 1, len(ring)) + np.ascontiguousarray(ring, dtype="<f8").tobytes()


def _ts(t: datetime | None) -> str:
    assert t is not None
    return t.isoformat()


def connect_bench(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """Connect to a dedicated benchmark database (created next to `dsn`'s) with PostGIS."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone() is None:
            admin.execute(f"CREATE DATABASE {BENCH_DB}")
    conn = psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname=BENCH_DB), autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("SET jit = off")
    return conn


@dataclass
class Loaded:
    copy_s: float
    table_mib: float
    #: per layout: seconds to build its indexes (and ANALYZE), and their size in MiB
    index_s: dict[str, float]
    index_mib: dict[str, float]


def load(conn: psycopg.Connection[tuple[object, ...]], store: Store, progress: Progress) -> Loaded:
    """COPY the store into one table per index layout, then build each layout's indexes."""
    sc = store.sc
    n = len(sc)
    first, *others = LAYOUTS
    for layout in LAYOUTS:
        conn.execute(_SCHEMA.format(table=table_of(layout)))
    task = progress.add_task(f"PostGIS COPY ({n:,})", total=n)
    t = time.perf_counter()
    columns = "(id, party, radius_m, geog, during, alt)"
    with conn.cursor() as cur, cur.copy(f"COPY {table_of(first)} {columns} FROM STDIN") as copy:
        buf: list[str] = []
        for i, v in enumerate(store.volumes):
            o = v.outline
            buf.append(
                f"{i}\t{int(sc.party[i])}\t{o.radius_m if o.is_circle else 0.0!r}\t{wkb(o).hex()}\t"
                f"[{_ts(v.time.start)},{_ts(v.time.end)}]\t[{v.altitude.lower_m!r},{v.altitude.upper_m!r}]\n"
            )
            if len(buf) == 5_000:
                copy.write("".join(buf))
                buf.clear()
                progress.update(task, completed=i + 1)
        copy.write("".join(buf))
    progress.update(task, completed=n)
    copy_s = time.perf_counter() - t
    for layout in others:
        conn.execute(f"INSERT INTO {table_of(layout)} SELECT * FROM {table_of(first)} ORDER BY id")
    index_s: dict[str, float] = {}
    index_mib: dict[str, float] = {}
    task = progress.add_task("PostGIS GiST + ANALYZE", total=sum(len(d) + 1 for d in LAYOUTS.values()))
    for layout, ddls in LAYOUTS.items():
        table = table_of(layout)
        t = time.perf_counter()
        for ddl in ddls:
            conn.execute(ddl.format(table=table))
            progress.advance(task)
        conn.execute(f"VACUUM ANALYZE {table}")
        progress.advance(task)
        index_s[layout] = time.perf_counter() - t
        row = conn.execute(
            "SELECT pg_indexes_size(%s::regclass) - pg_relation_size(%s::regclass)", (table, f"{table}_pkey")
        ).fetchone()
        assert row is not None
        index_mib[layout] = float(row[0]) / 2**20  # type: ignore[arg-type]
    row = conn.execute("SELECT pg_table_size(%s::regclass)", (table_of(first),)).fetchone()
    assert row is not None
    return Loaded(copy_s, float(row[0]) / 2**20, index_s, index_mib)  # type: ignore[arg-type]


def params(q: scenario.Query) -> dict[str, object]:
    vols: tuple[Volume4D, ...] = q.volumes
    b = scenario.BUFFERS
    return {
        "k": list(range(len(vols))),
        "wkb": [wkb(v.outline) for v in vols],
        "r": [v.outline.radius_m if v.outline.is_circle else 0.0 for v in vols],
        "t0": [v.time.start for v in vols],
        "t1": [v.time.end for v in vols],
        "a0": [v.altitude.lower_m for v in vols],
        "a1": [v.altitude.upper_m for v in vols],
        "time_s": b.time_s,
        "vertical_m": b.vertical_m + DISTANCE_TOLERANCE_M,
        "lateral_m": b.lateral_m + DISTANCE_TOLERANCE_M,
        "party": q.party,
    }


Cursor = psycopg.Cursor[tuple[object, ...]]


def timed_check(cur: Cursor, sql: str, p: dict[str, object]) -> tuple[float, set[Pair]]:
    """Wall time of one round trip (execute + fetch) of `check_sql(layout)`, and the conflicting pairs it returned."""
    t = time.perf_counter()
    cur.execute(sql, p, prepare=True)
    rows = cur.fetchall()
    elapsed = time.perf_counter() - t
    return elapsed, {(int(k), int(i)) for k, i in rows}  # type: ignore[call-overload]


def distance_m(conn: psycopg.Connection[tuple[object, ...]], query_volume: Volume4D, stored_id: int) -> float:
    """PostGIS's lateral distance between a query extent and a stored one (spheroidal ST_Distance)."""
    o = query_volume.outline
    row = conn.execute(
        DISTANCE_SQL, {"wkb": wkb(o), "r": o.radius_m if o.is_circle else 0.0, "id": stored_id}
    ).fetchone()
    assert row is not None
    return float(row[0])  # type: ignore[arg-type]
