"""The index's columns (`deconflict.domain.columns`): what they hold is what the volumes say."""

from __future__ import annotations

import numpy as np

from deconflict.domain.columns import Columns
from tests.domain.test_index import DEFAULT_BUFFERS, random_entries


def test_rows_bands_and_rings_read_back_after_growing() -> None:
    rng = np.random.default_rng(17)
    entries = random_entries(rng, 2_500)  # the columns start at 1,024 rows: they grow twice
    cols = Columns()
    for e in entries:
        cols.append(e.volume, 0)
    ids = rng.permutation(len(entries))[:500]
    volumes = [entries[i].volume for i in ids.tolist()]
    expected_bands = [[v.time.start_s(), v.time.end_s(), v.altitude.lower_m, v.altitude.upper_m] for v in volumes]
    assert cols.bands(ids).tolist() == expected_bands
    lat_lng, sizes = cols.rings(ids)
    assert sizes.tolist() == [0 if v.outline.is_circle else len(v.outline.dense_lat) for v in volumes]
    polygons = [v.outline for v in volumes if not v.outline.is_circle]
    assert (
        lat_lng.tolist()
        == np.column_stack(
            [np.concatenate([o.dense_lat for o in polygons]), np.concatenate([o.dense_lng for o in polygons])]
        ).tolist()
    )


def test_the_box_filter_reads_each_id_once_and_skips_the_dead() -> None:
    entries = random_entries(np.random.default_rng(18), 200)
    cols = Columns()
    for e in entries:
        cols.append(e.volume, 0)
    cols.alive[5] = False
    query = entries[0].volume
    b = DEFAULT_BUFFERS
    raw = np.tile(np.arange(200), 3)  # every id three times, as from three cells
    ids, time_gaps, vertical_gaps, distinct = cols.box_filter(raw, query, b.lateral_m, b.vertical_m, b.time_s)
    assert distinct == 200
    assert len(set(ids.tolist())) == len(ids)
    assert 5 not in ids.tolist()
    assert 0 in ids.tolist()  # the query's own entry meets it
    for i, time_gap, vertical_gap in zip(ids.tolist(), time_gaps.tolist(), vertical_gaps.tolist(), strict=True):
        v = entries[i].volume
        assert time_gap == max(v.time.start_s() - query.time.end_s(), query.time.start_s() - v.time.end_s(), 0.0)
        assert vertical_gap == max(
            v.altitude.lower_m - query.altitude.upper_m, query.altitude.lower_m - v.altitude.upper_m, 0.0
        )
        assert time_gap <= b.time_s
        assert vertical_gap <= b.vertical_m + 0.01
    # The next query meets every id again.
    again = cols.box_filter(raw, query, b.lateral_m, b.vertical_m, b.time_s)
    assert again[0].tolist() == ids.tolist()
