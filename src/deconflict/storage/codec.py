"""Domain values <-> JSON documents stored in rows (canonical SI form, re-validated on load)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from deconflict.domain.operations import LateNotice, PrivateDetails
from deconflict.domain.volumes import (
    AltitudeBand,
    LatLng,
    Limits,
    Outline,
    TimeWindow,
    Volume4D,
    circle_outlines,
    polygon_outlines,
)

#: Stored outlines were validated under the limits in force when written; reloading must not reject them.
_NO_LIMITS = Limits(max_area_m2=float("inf"), max_vertices=1_000_000)


def outline_to_doc(outline: Outline) -> dict[str, Any]:
    if outline.is_circle:
        return {"kind": "circle", "center": [outline.center.lat, outline.center.lng], "radius_m": outline.radius_m}
    return {"kind": "polygon", "vertices": [[v.lat, v.lng] for v in outline.vertices]}


def outline_from_doc(doc: dict[str, Any]) -> Outline:
    return outlines_from_docs([doc])[0]


def outlines_from_docs(docs: Sequence[dict[str, Any]]) -> list[Outline]:
    """`outline_from_doc` of many documents at once: the polygons prepared in one batch, the circles in another
    (a server loading its store prepares every stored outline again)."""
    polygons = [k for k, d in enumerate(docs) if d["kind"] != "circle"]
    circles = [k for k, d in enumerate(docs) if d["kind"] == "circle"]
    made: list[Outline | None] = [None] * len(docs)
    rings = [[LatLng(lat, lng) for lat, lng in docs[k]["vertices"]] for k in polygons]
    for k, outline in zip(polygons, polygon_outlines(rings, _NO_LIMITS), strict=True):
        made[k] = outline
    discs = [(LatLng(*docs[k]["center"]), float(docs[k]["radius_m"])) for k in circles]
    for k, outline in zip(circles, circle_outlines(discs, _NO_LIMITS), strict=True):
        made[k] = outline
    return [m for m in made if m is not None]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def volume_to_doc(volume: Volume4D) -> dict[str, Any]:
    return {
        "outline": outline_to_doc(volume.outline),
        "altitude_lower_m": volume.altitude.lower_m,
        "altitude_upper_m": volume.altitude.upper_m,
        "time_start": None if volume.time.start is None else volume.time.start.isoformat(),
        "time_end": None if volume.time.end is None else volume.time.end.isoformat(),
    }


def volume_from_doc(doc: dict[str, Any]) -> Volume4D:
    return volumes_from_docs([doc])[0]


def volumes_from_docs(docs: Sequence[dict[str, Any]]) -> list[Volume4D]:
    """`volume_from_doc` of many documents, their outlines prepared in batches (`outlines_from_docs`)."""
    outlines = outlines_from_docs([d["outline"] for d in docs])
    return [_volume(doc, outline) for doc, outline in zip(docs, outlines, strict=True)]


def _volume(doc: dict[str, Any], outline: Outline) -> Volume4D:
    return Volume4D(
        outline=outline,
        altitude=AltitudeBand(float(doc["altitude_lower_m"]), float(doc["altitude_upper_m"])),
        time=TimeWindow(_time(doc["time_start"]), _time(doc["time_end"])),
    )


def private_to_doc(private: PrivateDetails) -> dict[str, Any]:
    return {
        "callsigns": list(private.callsigns),
        "aircraft_ids": list(private.aircraft_ids),
        "aircraft_count": private.aircraft_count,
        "purpose": private.purpose,
    }


def private_from_doc(doc: dict[str, Any]) -> PrivateDetails:
    return PrivateDetails(
        callsigns=tuple(doc.get("callsigns", ())),
        aircraft_ids=tuple(doc.get("aircraft_ids", ())),
        aircraft_count=doc.get("aircraft_count"),
        purpose=doc.get("purpose"),
    )


def late_to_doc(late: tuple[LateNotice, ...]) -> dict[str, Any]:
    return {
        "items": [
            {
                "agreement_id": x.agreement_id,
                "required_notice_s": x.required_notice_s,
                "given_notice_s": x.given_notice_s,
            }
            for x in late
        ]
    }


def late_from_doc(doc: dict[str, Any]) -> tuple[LateNotice, ...]:
    return tuple(
        LateNotice(x["agreement_id"], float(x["required_notice_s"]), float(x["given_notice_s"]))
        for x in doc.get("items", [])
    )
