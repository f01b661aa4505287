"""Conversions at the edge: API schemas (feet, FIXM units, corridors) <-> domain values (SI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deconflict.api import schemas as s
from deconflict.domain.conflicts import Conflict
from deconflict.domain.corridor import corridor_vertices
from deconflict.domain.disclosure import OperationView
from deconflict.domain.errors import InvalidInput
from deconflict.domain.operations import LateNotice
from deconflict.domain.volumes import (
    LatLng,
    Limits,
    Outline,
    Volume4D,
    altitude_band,
    circle_outline,
    polygon_outline,
    time_window,
)
from deconflict.domain.zones import Zone
from deconflict.services.conflicts import conflict_doc
from deconflict.services.views import volume_doc

FEET_TO_M = 0.3048
#: Areas of interest and query boxes may be as large as a country: only the vertex limit applies.
AREA_LIMITS = Limits(max_area_m2=float("inf"))


def altitude_m(alt: s.Altitude) -> float:
    return alt.value * FEET_TO_M if alt.units == "FT" else alt.value


def outline(v: s.Volume3D, limits: Limits, field: str) -> Outline:
    given = [name for name in ("outline_polygon", "outline_circle", "outline_corridor") if getattr(v, name) is not None]
    if len(given) != 1:
        raise InvalidInput(
            "exactly one of outline_polygon, outline_circle, outline_corridor must be given", field=field
        )
    if v.outline_polygon is not None:
        points = [LatLng(p.lat, p.lng) for p in v.outline_polygon.vertices]
        return polygon_outline(points, limits, field_name=f"{field}.outline_polygon")
    if v.outline_circle is not None:
        c = v.outline_circle
        return circle_outline(LatLng(c.center.lat, c.center.lng), c.radius.value, limits, f"{field}.outline_circle")
    assert v.outline_corridor is not None
    corridor = v.outline_corridor
    vertices = corridor_vertices(
        [LatLng(p.lat, p.lng) for p in corridor.path], corridor.half_width.value, f"{field}.outline_corridor"
    )
    return polygon_outline(vertices, limits, field_name=f"{field}.outline_corridor")


def polygon_area(p: s.Polygon, limits: Limits, field: str) -> Outline:
    return polygon_outline([LatLng(v.lat, v.lng) for v in p.vertices], limits, field_name=field)


def volume(
    v: s.Volume4D | s.ZoneVolume4D,
    now: datetime | None,
    limits: Limits,
    field: str,
    open_ended: bool = False,
) -> Volume4D:
    """`now`: refuse an end at or before it (None: the caller judges that, as an update does)."""
    shape = outline(v.volume, limits, f"{field}.volume")
    band = altitude_band(altitude_m(v.volume.altitude_lower), altitude_m(v.volume.altitude_upper), f"{field}.volume")
    start = v.time_start.value if v.time_start is not None else None
    end = v.time_end.value if v.time_end is not None else None
    window = time_window(start, end, now, open_ended=open_ended, field_name=field)
    return Volume4D(shape, band, window)


def volumes(items: list[s.Volume4D], now: datetime, limits: Limits, *, past_ok: bool = False) -> tuple[Volume4D, ...]:
    return tuple(volume(v, None if past_ok else now, limits, f"extents[{i}]") for i, v in enumerate(items))


volume_out = volume_doc


def late_out(items: tuple[LateNotice, ...]) -> list[s.LateNoticeOut]:
    return [
        s.LateNoticeOut(
            agreement_id=x.agreement_id,
            required_notice_s=x.required_notice_s,
            given_notice_s=round(x.given_notice_s, 3),
            late_by_s=round(x.late_by_s, 3),
        )
        for x in items
    ]


def operation_out(view: OperationView) -> s.OperationPublic | s.OperationOwn:
    """The schema for a redacted view: private details appear only in the owner's view."""
    common: dict[str, Any] = {
        "id": view.id,
        "party_id": view.party_id,
        "state": view.state.value,
        "version": view.version,
        "extents": [volume_out(v) for v in view.extents],
        "late_notice": late_out(view.late_notice),
    }
    if view.private is None:
        return s.OperationPublic(**common)
    p = view.private
    return s.OperationOwn(
        **common,
        private=s.PrivateOut(
            callsigns=list(p.callsigns),
            aircraft_ids=list(p.aircraft_ids),
            aircraft_count=p.aircraft_count,
            purpose=p.purpose,
        ),
    )


def zone_out(z: Zone) -> s.ZoneOut:
    return s.ZoneOut(
        id=z.id,
        party_id=z.party_id,
        name=z.name,
        kind=z.kind.value,
        volume=volume_out(z.volume),
        version=z.version,
        created_at=z.created_at,
    )


def conflict_out(c: Conflict, subject_kind: str, subject_id: str, subject_party: str) -> s.ConflictOut:
    """A freshly found conflict, from the subject's (the caller's) side."""
    doc = conflict_doc(c)
    return s.ConflictOut(
        mine=s.ConflictSide(kind=subject_kind, id=subject_id, party_id=subject_party, extent=c.subject_extent),
        theirs=s.ConflictSide(kind=c.other_kind, id=c.other_id, party_id=c.other_party_id, extent=c.other_extent),
        **{k: v for k, v in doc.items() if k in _CONFLICT_FIELDS},
    )


_CONFLICT_FIELDS = set(s.ConflictOut.model_fields) - {"id", "mine", "theirs", "created_at"}
