"""Stored documents back to domain values (`deconflict.storage.codec`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from deconflict.domain.volumes import (
    LatLng,
    Limits,
    TimeWindow,
    Volume4D,
    altitude_band,
    circle_outline,
    polygon_outline,
)
from deconflict.storage import codec

LIMITS = Limits()
START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def _volumes() -> list[Volume4D]:
    """Polygons and circles interleaved, one of them large enough to be densified."""
    square = [LatLng(47.0, 8.0), LatLng(47.0, 8.02), LatLng(47.02, 8.02), LatLng(47.02, 8.0)]
    wide = [LatLng(46.0, 7.0), LatLng(46.0, 8.5), LatLng(47.2, 8.0)]
    outlines = [
        polygon_outline(square, LIMITS),
        circle_outline(LatLng(47.1, 8.1), 2_500.0, LIMITS),
        polygon_outline(wide, LIMITS),
        circle_outline(LatLng(-16.99, 179.999), 800.0, LIMITS),
    ]
    return [
        Volume4D(o, altitude_band(0.0, 120.0 * (k + 1)), TimeWindow(START, START + timedelta(hours=k + 1)))
        for k, o in enumerate(outlines)
    ]


def test_documents_read_in_one_batch_give_the_volumes_read_one_by_one() -> None:
    docs = [codec.volume_to_doc(v) for v in _volumes()]
    batch = codec.volumes_from_docs(docs)
    assert len(batch) == len(docs)
    for made, doc, original in zip(batch, docs, _volumes(), strict=True):
        alone = codec.volume_from_doc(doc)
        assert (made.altitude, made.time) == (alone.altitude, alone.time) == (original.altitude, original.time)
        for outline in (alone.outline, original.outline):
            assert (made.outline.kind, made.outline.vertices, made.outline.center) == (
                outline.kind,
                outline.vertices,
                outline.center,
            )
            assert (made.outline.radius_m, made.outline.cap_radius_m, made.outline.area_m2) == (
                outline.radius_m,
                outline.cap_radius_m,
                outline.area_m2,
            )
            assert np.array_equal(made.outline.dense_lat, outline.dense_lat)
            assert np.array_equal(made.outline.dense_lng, outline.dense_lng)
    assert len(batch[2].outline.dense_lat) > len(batch[2].outline.vertices)  # the wide one was densified


def test_no_documents() -> None:
    assert codec.volumes_from_docs([]) == []
