"""Tactical all-pairs conflict detection, side by side: ours and BlueSky's state-based detection.

    .venv/bin/python -m bench.tactical
    .venv/bin/python -m bench.tactical --sizes 1000,5000,10000,20000 --continent 100000 --runs 5

BlueSky is not a project dependency. Install its wheel without its simulator's dependencies:

    .venv/bin/pip install --no-deps bluesky-simulator==1.1.1

Its two conflict detectors are then loaded from the installed files without importing the simulator:
`bluesky/traffic/asas/statebased.py` (`StateBased.detect`, numpy N x N matrices; it needs only numpy
and `bluesky.tools.geo`/`aero`, with stand-ins for the command stack and the `ConflictDetection` base
class it does not use while detecting) and the compiled `cstatebased` extension (C++, a double loop
over all ordered pairs). Both are called directly with the arrays they read (lat, lon, trk, gs, alt,
vs, id), no simulator.

Traffic (seeded): positions uniform in a square of `--box-km` (default 1,000 km) centred on 48N 8E,
laid out in an azimuthal equidistant plane; 75 % level at FL250-FL410 on multiples of 1,000 ft, 25 %
climbing or descending at 1,000-3,000 ft/min from anywhere in FL250-FL410; 400-500 kt on random
tracks. Minima 5 NM / 1,000 ft, lookahead 300 s. The continent case is ours alone, N aircraft over
5,000 km x 4,000 km centred on 50N 15E.

Each engine and size runs in its own process: the cycle time is the median of `--runs` calls after
an untimed warm-up call (3 calls for BlueSky above 5,000 aircraft). Memory is that process's peak
resident set (`ru_maxrss`); the detection's own share is that peak less the resident set just before
the first call. BlueSky's Python detector holds some 27 N x N float64 matrices at once (~220 bytes per
pair), so its memory is estimated from the smallest size first, and a size that would need more than
`--memory-gib` is skipped; so is a C++ run estimated to take longer than `--max-cpp-s`.

Pair sets are compared with ours (BlueSky lists each conflict twice, once per ordered pair). Pairs
only one side flags are sorted by what makes our own `predict` flip them (`boundary_kinds`): exactly
1,000 ft apart, at an edge (lateral minimum, lookahead's end, loss windows that only just meet), or other.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.table import Table

from bench import measure
from deconflict.domain.geodesy import GEOD, aeqd_inverse
from deconflict.domain.tactical import FPM_MPS, FT_M, KT_MPS, NM_M, Minima, Tracks, predict
from deconflict.domain.tactical_pairs import detect

FloatArray = npt.NDArray[np.float64]
Pair = tuple[int, int]

SEED = 20_261_125
MINIMA = Minima(5 * NM_M, 1000 * FT_M, 300.0)
ENGINES = ("ours", "bluesky-py", "bluesky-cpp")
#: A pair ours and BlueSky disagree on is at a boundary when our predict flips it within these.
BOUNDARY_LATERAL = 0.01  # of the lateral minimum (93 m)
BOUNDARY_VERTICAL_M = 0.05
#: BlueSky's flat earth (a 6,371 km sphere, equirectangular, no meridian convergence) puts aircraft
#: ~0.3 % nearer or further than WGS84 does at 48N, ~300 m at 100 km: about a second at these closing
#: speeds. So times within this of the lookahead's end, or of the other loss window, are edges too.
BOUNDARY_WINDOW_S = 2.0
BOUNDARY_LOOKAHEAD_S = BOUNDARY_WINDOW_S
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Scene:
    name: str
    n: int
    width_m: float
    height_m: float
    lat_deg: float
    lng_deg: float

    def arg(self) -> str:
        return f"{self.name}:{self.n}:{self.width_m}:{self.height_m}:{self.lat_deg}:{self.lng_deg}"

    @classmethod
    def parse(cls, text: str) -> Scene:
        name, n, w, h, lat, lng = text.split(":")
        return cls(name, int(n), float(w), float(h), float(lat), float(lng))


@dataclass(frozen=True)
class Traffic:
    """Reports at one instant, SI units and degrees."""

    lat_deg: FloatArray
    lng_deg: FloatArray
    alt_m: FloatArray
    ground_speed_mps: FloatArray
    track_deg: FloatArray
    vertical_rate_mps: FloatArray

    def tracks(self) -> Tracks:
        return Tracks.from_reports(
            self.lat_deg, self.lng_deg, self.alt_m, self.ground_speed_mps, self.track_deg, self.vertical_rate_mps
        )


def traffic(scene: Scene, seed: int = SEED) -> Traffic:
    rng = np.random.default_rng(seed)
    n = scene.n
    x = rng.uniform(-scene.width_m / 2, scene.width_m / 2, n)
    y = rng.uniform(-scene.height_m / 2, scene.height_m / 2, n)
    lat, lng = aeqd_inverse(scene.lat_deg, scene.lng_deg, x, y)
    level = rng.random(n) < 0.75
    flight_level = 250 + 10 * rng.integers(0, 17, n)
    alt_ft = np.where(level, flight_level * 100.0, rng.uniform(25_000, 41_000, n))
    climb_fpm = rng.choice([-1.0, 1.0], n) * rng.uniform(1000, 3000, n)
    return Traffic(
        lat,
        lng,
        alt_ft * FT_M,
        rng.uniform(400, 500, n) * KT_MPS,
        rng.uniform(0, 360, n),
        np.where(level, 0.0, climb_fpm * FPM_MPS),
    )


# --- BlueSky, loaded from its wheel without the simulator -------------------------------------------


@dataclass
class BlueSkyTraffic:
    """What BlueSky's detectors read from `bs.traf` (and its ADS-B view): arrays in SI units and degrees."""

    lat: FloatArray
    lon: FloatArray
    trk: FloatArray
    gs: FloatArray
    alt: FloatArray
    vs: FloatArray
    id: list[str]

    @property
    def ntraf(self) -> int:
        return len(self.id)

    @classmethod
    def of(cls, t: Traffic) -> BlueSkyTraffic:
        ids = [str(k) for k in range(t.lat_deg.size)]
        return cls(t.lat_deg, t.lng_deg, t.track_deg, t.ground_speed_mps, t.alt_m, t.vertical_rate_mps, ids)


@contextlib.contextmanager
def _stand_ins(modules: dict[str, types.ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                del sys.modules[name]
            else:
                sys.modules[name] = old


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bluesky_detector(engine: str) -> Callable[..., Any]:
    """BlueSky's `detect(ownship, intruder, rpz, hpz, dtlookahead)`, Python or C++."""
    spec = importlib.util.find_spec("bluesky")  # the package itself is light; its simulator is not imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("BlueSky is not installed: .venv/bin/pip install --no-deps bluesky-simulator==1.1.1")
    asas = Path(next(iter(spec.submodule_search_locations))) / "traffic" / "asas"
    if engine == "bluesky-cpp":
        return _load("cstatebased", next(asas.glob("cstatebased*.so"))).detect  # type: ignore[no-any-return]
    stack = types.ModuleType("bluesky.stack")
    asas_stub = types.ModuleType("bluesky.traffic.asas")
    asas_stub.ConflictDetection = object  # type: ignore[attr-defined]
    # bluesky.tools.geo prints which geo functions it uses: keep that out of the tables.
    with (
        contextlib.redirect_stdout(io.StringIO()),
        _stand_ins({"bluesky.stack": stack, "bluesky.traffic.asas": asas_stub}),
    ):
        module = _load("bluesky_statebased", asas / "statebased.py")
    detect_method = module.StateBased.detect

    def detect_py(ownship: Any, intruder: Any, rpz: Any, hpz: Any, dtlookahead: Any) -> Any:
        return detect_method(None, ownship, intruder, rpz, hpz, dtlookahead)  # `self` is not used

    return detect_py


# --- one engine, one size, in this process ------------------------------------------------------------


def run_here(engine: str, scene: Scene, runs: int) -> dict[str, Any]:
    t = traffic(scene)
    n = scene.n
    cycle: Callable[[], Any]
    if engine == "ours":

        def cycle() -> Any:
            return detect(t.tracks(), MINIMA)

        def pairs_of(found: Any) -> set[Pair]:
            return set(zip(found.i.tolist(), found.j.tolist(), strict=True))
    else:
        bs_detect = bluesky_detector(engine)
        traf = BlueSkyTraffic.of(t)
        rpz, hpz, look = np.full(n, MINIMA.lateral_m), np.full(n, MINIMA.vertical_m), np.full(n, MINIMA.lookahead_s)

        def cycle() -> Any:
            return bs_detect(traf, traf, rpz, hpz, look)

        def pairs_of(found: Any) -> set[Pair]:
            return {(int(a), int(b)) for a, b in found[0]}  # confpairs: (id, id) per ordered pair

    rss_before = measure.rss_bytes()
    found = cycle()  # warm-up, untimed (first calls fill caches); its memory counts in the peak
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        found = cycle()
        times.append(time.perf_counter() - start)
    ordered = pairs_of(found)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    unordered = {(min(a, b), max(a, b)) for a, b in ordered}
    one_way = sum(1 for a, b in unordered if (a, b) not in ordered or (b, a) not in ordered)
    return {
        "engine": engine,
        "scene": scene.name,
        "n": n,
        "times_s": times,
        "peak_bytes": peak,
        "detection_bytes": max(0, peak - rss_before),
        "pairs": sorted(unordered),
        "one_way": one_way if engine != "ours" else 0,
    }


def run_child(engine: str, scene: Scene, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.tactical", "--child", engine, scene.arg(), "--runs", str(runs)]
        subprocess.run([*cmd, "--json", str(out)], check=True)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


# --- comparison --------------------------------------------------------------------------------------


def _flagged(tracks: Tracks, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], minima: Minima) -> Any:
    return ~np.isnan(predict(tracks, i, j, minima).time_to_loss_s)


def _shifted_in_time(tracks: Tracks, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], dt_s: float) -> Any:
    """Whether our predict flags each pair with j's altitude profile moved by dt_s relative to i's."""
    pick = np.concatenate([i, j])
    alt = tracks.alt_m[pick].copy()
    alt[i.size :] -= (tracks.up_mps[j] - tracks.up_mps[i]) * dt_s
    moved = Tracks(tracks.lat_deg[pick], tracks.lng_deg[pick], alt, tracks.east_mps[pick], tracks.north_mps[pick],
                   tracks.up_mps[pick])  # fmt: skip
    k = np.arange(i.size)
    return _flagged(moved, k, k + i.size, MINIMA)


def boundary_kinds(t: Traffic, pairs: set[Pair]) -> dict[str, Any]:
    """Sort pairs flagged by one side only by why our predict could see them either way.

    * vertical: exactly 1,000 ft apart: it flips within ±BOUNDARY_VERTICAL_M of the vertical minimum;
    * edge: at the lateral minimum, the lookahead's end, or where the lateral and vertical loss windows
      only just meet or miss: it flips within ±BOUNDARY_LATERAL of the lateral minimum, ±BOUNDARY_LOOKAHEAD_S
      of the lookahead, ±BOUNDARY_VERTICAL_M, or with the vertical profiles moved ±BOUNDARY_WINDOW_S in time;
    * other: none of these.
    """
    if not pairs:
        return {"vertical": 0, "edge": 0, "other": 0, "examples": []}
    i, j = (np.array(c, dtype=np.int64) for c in zip(*sorted(pairs), strict=True))
    tracks, m = t.tracks(), MINIMA
    dv, dl, dt = BOUNDARY_VERTICAL_M, m.lateral_m * BOUNDARY_LATERAL, BOUNDARY_LOOKAHEAD_S
    base = _flagged(tracks, i, j, m)
    vertical = (base ^ _flagged(tracks, i, j, Minima(m.lateral_m, m.vertical_m + dv, m.lookahead_s))) | (
        base ^ _flagged(tracks, i, j, Minima(m.lateral_m, m.vertical_m - dv, m.lookahead_s))
    )
    edge = _flagged(tracks, i, j, Minima(m.lateral_m + dl, m.vertical_m + dv, m.lookahead_s + dt)) & ~_flagged(
        tracks, i, j, Minima(m.lateral_m - dl, m.vertical_m - dv, m.lookahead_s - dt)
    )
    for shift in (-BOUNDARY_WINDOW_S, BOUNDARY_WINDOW_S):
        edge |= base ^ _shifted_in_time(tracks, i, j, shift)
    edge &= ~vertical
    other = np.flatnonzero(~vertical & ~edge)
    return {
        "vertical": int(vertical.sum()),
        "edge": int(edge.sum()),
        "other": int(other.size),
        "examples": [_describe(tracks, int(i[k]), int(j[k])) for k in other[:MAX_EXAMPLES]],
    }


def _describe(tracks: Tracks, i: int, j: int) -> str:
    """Our view of a pair: CPA, vertical distance there, how far apart now, and our time of loss if any."""
    e = predict(tracks, np.array([i]), np.array([j]), MINIMA)
    apart_km = GEOD.inv(tracks.lng_deg[i], tracks.lat_deg[i], tracks.lng_deg[j], tracks.lat_deg[j])[2] / 1000
    loss = "none" if np.isnan(e.time_to_loss_s[0]) else f"at {e.time_to_loss_s[0]:.1f} s"
    return (
        f"({i}, {j}): {apart_km:.0f} km apart, our CPA {e.horizontal_at_cpa_m[0]:,.0f} m at {e.time_to_cpa_s[0]:.0f} s "
        f"with {e.vertical_at_cpa_m[0]:+.0f} m vertically, climb rates {tracks.up_mps[i]:+.1f}/{tracks.up_mps[j]:+.1f} "
        f"m/s; our loss {loss}"
    )


def compare(t: Traffic, ours: set[Pair], theirs: set[Pair]) -> dict[str, Any]:
    return {
        "both": len(ours & theirs),
        "only_ours": boundary_kinds(t, ours - theirs),
        "only_theirs": boundary_kinds(t, theirs - ours),
    }


def run_all(sizes: list[int], continent: int | None, runs: int, box_km: float, memory_gib: float,
            max_cpp_s: float, console: Any) -> list[dict[str, Any]]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    py_bytes_per_n2: float | None = None
    cpp_s_per_n2: float | None = None
    for n in sorted(sizes):
        scene = Scene("box", n, box_km * 1000, box_km * 1000, 48.0, 8.0)
        t = traffic(scene)
        ours = run_child("ours", scene, runs)
        ours_pairs = {(a, b) for a, b in ours["pairs"]}
        rows.append(ours | {"agreement": None, "skipped": None})
        console.print(f"N={n:,} ours: {statistics.median(ours['times_s']) * 1e3:.1f} ms, {len(ours_pairs):,} pairs")
        for engine in ENGINES[1:]:
            skipped = None
            if engine == "bluesky-py" and py_bytes_per_n2 is not None:
                need = py_bytes_per_n2 * n * n / 2**30
                if need > memory_gib:
                    skipped = f"needs ~{need:,.0f} GiB (estimated from a smaller N) > {memory_gib:g} GiB allowed"
            if engine == "bluesky-cpp" and cpp_s_per_n2 is not None:
                need_s = cpp_s_per_n2 * n * n * min(runs, 3)
                if need_s > max_cpp_s:
                    skipped = f"would take ~{need_s:,.0f} s > {max_cpp_s:g} s allowed"
            if skipped:
                console.print(f"N={n:,} {engine}: skipped, {skipped}")
                rows.append({"engine": engine, "scene": "box", "n": n, "skipped": skipped})
                continue
            result = run_child(engine, scene, runs if n <= 5000 else min(runs, 3))
            theirs = {(a, b) for a, b in result["pairs"]}
            if engine == "bluesky-py":
                py_bytes_per_n2 = result["detection_bytes"] / (n * n)
            else:
                cpp_s_per_n2 = statistics.median(result["times_s"]) / (n * n)
            rows.append(result | {"agreement": compare(t, ours_pairs, theirs), "skipped": None})
            console.print(
                f"N={n:,} {engine}: {statistics.median(result['times_s']) * 1e3:.1f} ms, {len(theirs):,} pairs"
            )
    if continent:
        scene = Scene("continent", continent, 5_000_000, 4_000_000, 50.0, 15.0)
        result = run_child("ours", scene, runs)
        rows.append(result | {"agreement": None, "skipped": None})
        console.print(f"continent N={continent:,} ours: {statistics.median(result['times_s']) * 1e3:.1f} ms")
        for engine in ENGINES[1:]:
            rows.append({"engine": engine, "scene": "continent", "n": continent, "skipped": "ours alone at this size"})
    return rows


def _split(kinds: dict[str, int]) -> str:
    total = kinds["vertical"] + kinds["edge"] + kinds["other"]
    return f"{total:,} = {kinds['vertical']:,} / {kinds['edge']:,} / {kinds['other']:,}"


def table(rows: list[dict[str, Any]], box_km: float) -> Table:
    t = Table(title=f"Tactical conflict detection, one cycle: 5 NM / 1,000 ft / 300 s, {box_km:,.0f} km box")
    for col in ("scene", "N", "engine", "cycle ms (median)", "runs", "peak RSS MiB", "detection MiB", "conflicts",
                "both", "only ours", "only theirs", "one-way", "note"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("scene", "engine", "note") else "right")
    for r in rows:
        if r.get("skipped"):
            t.add_row(r["scene"], f"{r['n']:,}", r["engine"], "–", "–", "–", "–", "–", "–", "–", "–", "–", r["skipped"])
            continue
        a = r["agreement"]
        t.add_row(
            r["scene"], f"{r['n']:,}", r["engine"], f"{statistics.median(r['times_s']) * 1e3:,.1f}",
            str(len(r["times_s"])),
            f"{r['peak_bytes'] / 2**20:,.0f}", f"{r['detection_bytes'] / 2**20:,.0f}", f"{len(r['pairs']):,}",
            "" if a is None else f"{a['both']:,}",
            "" if a is None else _split(a["only_ours"]),
            "" if a is None else _split(a["only_theirs"]),
            "" if r["engine"] == "ours" else f"{r['one_way']:,}", "",
        )  # fmt: skip
    t.caption = (
        "Cycle: wall time of one detection over all aircraft. Peak RSS: the engine's own process (ru_maxrss); "
        "detection: that peak less the RSS just before the first cycle. Conflicts: unordered pairs. "
        "Only ours / only theirs: total = exactly 1,000 ft apart (our predict flips the pair within "
        f"±{BOUNDARY_VERTICAL_M} m vertically) / at an edge (flips within ±{BOUNDARY_LATERAL:.0%} lateral, "
        f"±{BOUNDARY_LOOKAHEAD_S:g} s lookahead, or with the vertical profiles moved ±{BOUNDARY_WINDOW_S:g} s) / "
        "other. "
        "One-way: BlueSky listed only one of (i, j) and (j, i)."
    )
    return t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.tactical", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=measure.sizes_arg, default=[1_000, 5_000, 10_000, 20_000])
    ap.add_argument("--continent", type=int, default=100_000, help="ours alone over a continent; 0 to skip")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--box-km", type=float, default=1_000.0)
    ap.add_argument("--memory-gib", type=float, default=8.0, help="skip BlueSky-Python sizes estimated above this")
    ap.add_argument("--max-cpp-s", type=float, default=300.0, help="skip BlueSky-C++ sizes estimated above this")
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "SCENE"), help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="write the rows as JSON")
    args = ap.parse_args(argv)
    if args.child:
        engine, scene = args.child
        result = run_here(engine, Scene.parse(scene), args.runs)
        if args.json:
            args.json.write_text(json.dumps(result))
        return
    console = measure.console()
    rows = run_all(args.sizes, args.continent or None, args.runs, args.box_km, args.memory_gib, args.max_cpp_s, console)
    if args.json:
        args.json.write_text(json.dumps(rows))
    console.print(table(rows, args.box_km))
    for r in rows:
        for side in ("only_ours", "only_theirs"):
            for example in (r.get("agreement") or {}).get(side, {}).get("examples", []):
                console.print(f"N={r['n']:,} {r['engine']}, {side.replace('_', ' ')}, other: {example}")
    console.print(measure.machine_line())


if __name__ == "__main__":
    main()
