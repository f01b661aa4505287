"""The slowest checks split into library work (GEOS, the compiled cut to circles, geodesics) and the rest.

Used by `python -m bench.profile_engine`. The library calls are timed by wrapping them for the
duration of the table; each check is repeated and its fastest run kept, so the split is of one
quiet run, not of the noise around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from rich.table import Table

from bench import engine, scenario
from deconflict.domain import circle_clip, geodesy, short_lines

#: Library calls whose time is reported: (owner object, attribute name, column).
_TIMED: tuple[tuple[Any, str, str], ...] = (
    (shapely, "intersection", "GEOS overlay"),
    (circle_clip, "clip_by_circles", "circle cut"),
    (shapely, "buffer", "GEOS buffer"),
    (geodesy.GEOD, "inv", "geodesic"),
    (geodesy.GEOD, "fwd", "geodesic"),
    (short_lines, "forward", "geodesic"),
    (short_lines, "inverse", "geodesic"),
)
_COLUMNS = ("GEOS overlay", "circle cut", "GEOS buffer", "geodesic")


@contextmanager
def _timing(spent: dict[str, float]) -> Iterator[None]:
    """Wrap the library calls of `_TIMED` so that their time adds up in `spent` (seconds by column)."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _TIMED]

    def timed(fn: Callable[..., Any], column: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[column] = spent.get(column, 0.0) + time.perf_counter() - t

        return call

    for (owner, name, column), (_, _, fn) in zip(_TIMED, originals, strict=True):
        setattr(owner, name, timed(fn, column))
    try:
        yield
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)


def tail_table(
    store: engine.Store, queries: list[scenario.Query], slowest: npt.NDArray[np.int64], repeats: int = 5
) -> Table:
    """One row per check in `slowest` (indices into `queries`; profile_engine passes the slowest 2 %), slowest first."""
    book = scenario.agreement_book()
    t = Table(title=f"Slowest checks: library work and the rest (fastest of {repeats} runs each)")
    for col in ("query", "conflicts", "total ms", *(f"{c} ms" for c in _COLUMNS), "rest ms"):
        t.add_column(col, justify="right")
    rows: list[tuple[int, int, float, dict[str, float]]] = []
    for qi in slowest.tolist():
        best: tuple[float, dict[str, float], int] | None = None
        for _ in range(repeats):
            spent: dict[str, float] = {}
            with _timing(spent):
                elapsed, found = engine.timed_detect(store, book, queries[qi])
            if best is None or elapsed < best[0]:
                best = (elapsed, spent, len(found))
        assert best is not None
        rows.append((qi, best[2], best[0], best[1]))
    for qi, n_found, total, spent in sorted(rows, key=lambda r: -r[2]):
        library = [spent.get(c, 0.0) for c in _COLUMNS]
        t.add_row(
            str(qi), str(n_found), f"{total * 1e3:.2f}", *(f"{s * 1e3:.2f}" for s in library),
            f"{(total - sum(library)) * 1e3:.2f}",
        )  # fmt: skip
    t.caption = (
        "GEOS overlay: shapely.intersection (overlap shapes and lenses); circle cut: circle_clip (the same, where a "
        "side is a circle); GEOS buffer: widened outlines for lenses; geodesic: short_lines, and pyproj "
        "Geod.inv/fwd for the lines it leaves (projections into each subject's frame, unprojection of the shapes). "
        "Rest: the index, numpy and Python around them, and building the records."
    )
    return t
