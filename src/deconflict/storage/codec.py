"""Domain values <-> JSON documents stored in rows (canonical SI form, re-validated on load)."""

from __future__ import annotations

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
    circle_outline,
    polygon_outline,
)

#: Stored outlines were validated under the limits in force when written; reloading must not reject them.
_NO_LIMITS = Limits(max_area_m2=float("inf"), max_vertices=1_000_000)


def outline_to_doc(outline: Outline) -> dict[str, Any]:
    if outline.is_circle:
        return {"kind": "circle", "center": [outline.center.lat, outline.center.lng], "radius_m": outline.radius_m}
    return {"kind": "polygon", "vertices": [[v.lat, v.lng] for v in outline.vertices]}


def outline_from_doc(doc: dict[str, Any]) -> Outline:
    if doc["kind"] == "circle":
        lat, lng = doc["center"]
        return circle_outline(LatLng(lat, lng), float(doc["radius_m"]), _NO_LIMITS)
    return polygon_outline([LatLng(lat, lng) for lat, lng in doc["vertices"]], _NO_LIMITS)


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
    return Volume4D(
        outline=outline_from_doc(doc["outline"]),
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
