"""Documents that leave the service outside an HTTP response (events, notices, audit payloads).

They use the same ASTM F3548 shapes as the API, and they are built only from what the receiving
party may see: an `OperationView` from `domain.disclosure.operation_view`, never an `Operation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deconflict.domain.disclosure import OperationView
from deconflict.domain.volumes import Volume4D


def time_doc(t: datetime | None) -> dict[str, str] | None:
    if t is None:
        return None
    return {"value": t.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}


def volume_doc(v: Volume4D) -> dict[str, Any]:
    """An extent as an ASTM F3548 `Volume4D` (metres above the WGS84 ellipsoid)."""
    o = v.outline
    shape: dict[str, Any]
    if o.is_circle:
        shape = {
            "outline_circle": {
                "center": {"lat": o.center.lat, "lng": o.center.lng},
                "radius": {"value": o.radius_m, "units": "M"},
            }
        }
    else:
        shape = {"outline_polygon": {"vertices": [{"lat": p.lat, "lng": p.lng} for p in o.vertices]}}
    return {
        "volume": {
            **shape,
            "altitude_lower": {"value": v.altitude.lower_m, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": v.altitude.upper_m, "reference": "W84", "units": "M"},
        },
        "time_start": time_doc(v.time.start),
        "time_end": time_doc(v.time.end),
    }


def public_operation_doc(view: OperationView) -> dict[str, Any]:
    """The part of an operation every party bound to its owner may see: no private details."""
    return {
        "id": view.id,
        "party_id": view.party_id,
        "state": view.state.value,
        "version": view.version,
        "extents": [volume_doc(v) for v in view.extents],
        "late_notice": [
            {
                "agreement_id": x.agreement_id,
                "required_notice_s": x.required_notice_s,
                "given_notice_s": round(x.given_notice_s, 3),
                "late_by_s": round(x.late_by_s, 3),
            }
            for x in view.late_notice
        ],
    }
