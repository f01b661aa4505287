"""Request and response schemas. Geometry follows ASTM F3548-21 `Volume4D`; corridors are an extension."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Unknown fields are errors; NaN and infinity are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LatLngPoint(Strict):
    lat: float
    lng: float


class Radius(Strict):
    value: float
    units: Literal["M"] = "M"


class Altitude(Strict):
    value: float
    reference: Literal["W84"] = "W84"
    units: Literal["M", "FT"] = "M"


class Time(Strict):
    value: datetime
    format: Literal["RFC3339"] = "RFC3339"


class Circle(Strict):
    center: LatLngPoint
    radius: Radius


class Polygon(Strict):
    vertices: list[LatLngPoint] = Field(max_length=100_000)


class Corridor(Strict):
    """deconflict extension: every point within `half_width` of the polyline `path`."""

    path: list[LatLngPoint] = Field(min_length=2, max_length=10_000)
    half_width: Radius


class Volume3D(Strict):
    outline_circle: Circle | None = None
    outline_polygon: Polygon | None = None
    outline_corridor: Corridor | None = None
    altitude_lower: Altitude
    altitude_upper: Altitude


class Volume4D(Strict):
    volume: Volume3D
    time_start: Time
    time_end: Time


class ZoneVolume4D(Strict):
    """A zone's volume: like `Volume4D`, but either time bound may be omitted (open-ended)."""

    volume: Volume3D
    time_start: Time | None = None
    time_end: Time | None = None


class PrivateIn(Strict):
    callsigns: list[str] = Field(default_factory=list, max_length=1000)
    aircraft_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="aircraft flying it (e.g. ICAO 24-bit addresses)"
    )
    aircraft_count: int | None = Field(default=None, ge=0, le=100_000)
    purpose: str | None = Field(default=None, max_length=10_000)


class OperationCreate(Strict):
    extents: list[Volume4D] = Field(min_length=1, max_length=100)
    state: Literal["proposed", "accepted"] = "accepted"
    private: PrivateIn = Field(default_factory=PrivateIn)
    reject_on_conflict: bool = False


class OperationUpdate(Strict):
    """The operation's extents as they are to be; an extent sent back unchanged is not judged again
    (notice, end in the past). What is omitted is kept."""

    version: str = Field(min_length=1, max_length=64)
    extents: list[Volume4D] = Field(min_length=1, max_length=100)
    state: Literal["proposed", "accepted"] | None = Field(
        default=None, description="omitted: the operation keeps its state (an activated one stays activated)"
    )
    private: PrivateIn | None = Field(default=None, description="omitted: the private details are kept")
    reject_on_conflict: bool = False


class TransitionRequest(Strict):
    version: str | None = Field(default=None, max_length=64)


class CheckRequest(Strict):
    extents: list[Volume4D] = Field(min_length=1, max_length=100)
    operation_id: str | None = Field(
        default=None,
        max_length=64,
        description="check an update of this own operation: its unchanged extents are not judged again",
    )


class LateNoticeOut(BaseModel):
    agreement_id: str
    required_notice_s: float
    given_notice_s: float
    late_by_s: float


class PrivateOut(BaseModel):
    callsigns: list[str]
    aircraft_ids: list[str]
    aircraft_count: int | None
    purpose: str | None


class OperationPublic(BaseModel):
    """What any party sharing an agreement may see: geometry, time, state, owner, version."""

    id: str
    party_id: str
    state: str
    version: str
    extents: list[dict[str, Any]]
    late_notice: list[LateNoticeOut]


class OperationOwn(OperationPublic):
    """The owner's view, with the private details."""

    private: PrivateOut


class ConflictSide(BaseModel):
    kind: str
    id: str
    party_id: str
    extent: int


class ConflictOut(BaseModel):
    id: int | None = None
    mine: ConflictSide
    theirs: ConflictSide
    agreement_ids: list[str]
    time_start: str | None
    time_end: str | None
    time_gap_s: float
    altitude_lower_m: float
    altitude_upper_m: float
    vertical_gap_m: float
    horizontal_distance_m: float
    lateral_buffer_m: float
    vertical_buffer_m: float
    time_buffer_s: float
    overlap: dict[str, Any] | None
    created_at: str | None = None


class FilingResponse(BaseModel):
    operation: OperationOwn
    conflicts: list[ConflictOut]


class CheckResponse(BaseModel):
    conflicts: list[ConflictOut]
    late_notice: list[LateNoticeOut]
    notice_error: str | None


class PartyCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["observer", "operator", "supervisor"] = "supervisor"


class PartyOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class PartyCreated(BaseModel):
    party: PartyOut
    token: str


class TokenCreate(Strict):
    party: str | None = Field(default=None, description="party name; omitted for an admin token")
    role: Literal["observer", "operator", "supervisor", "admin"]
    label: str = Field(default="", max_length=200)


class TokenCreated(BaseModel):
    id: str
    token: str


class AgreementCreate(Strict):
    name: str = Field(default="", max_length=200)
    parties: list[str] = Field(min_length=2, max_length=100)
    area: Polygon | None = None
    min_notice_s: float = Field(default=1800.0, ge=0, le=365 * 86400)
    lateral_buffer_m: float = Field(default=1852.0, ge=0, le=1_000_000)
    vertical_buffer_m: float = Field(default=152.4, ge=0, le=100_000)
    time_buffer_s: float = Field(default=300.0, ge=0, le=30 * 86400)
    late_policy: Literal["reject", "flag"] = "reject"
    ack_deadline_s: float = Field(default=600.0, gt=0, le=7 * 86400, description="time to answer a notice")
    require_ack: bool = Field(default=True, description="activation waits until every counterpart acknowledged")
    escalation_interval_s: float = Field(default=300.0, ge=10, le=86400, description="repeat of an escalation")
    tactical_lateral_m: float = Field(default=9260.0, gt=0, le=200_000, description="live separation minimum")
    tactical_vertical_m: float = Field(default=304.8, gt=0, le=10_000, description="live separation minimum")
    lookahead_s: float = Field(default=300.0, gt=0, le=3600, description="how far ahead live conflicts are predicted")
    share_track_identity: bool = Field(
        default=False, description="counterparts see aircraft ids and callsigns of tracks (else an opaque alias)"
    )


class AgreementOut(BaseModel):
    id: str
    name: str
    state: str
    parties: dict[str, datetime | None] = Field(description="party id -> acceptance time (null while pending)")
    area: dict[str, Any] | None
    min_notice_s: float
    lateral_buffer_m: float
    vertical_buffer_m: float
    time_buffer_s: float
    late_policy: str
    ack_deadline_s: float
    require_ack: bool
    escalation_interval_s: float
    tactical_lateral_m: float
    tactical_vertical_m: float
    lookahead_s: float
    share_track_identity: bool
    version: str
    created_at: datetime


class ZoneCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["no-fly", "notify"]
    volume: ZoneVolume4D


class ZoneOut(BaseModel):
    id: str
    party_id: str
    name: str
    kind: str
    volume: dict[str, Any]
    version: str
    created_at: datetime


class ZoneCreated(BaseModel):
    zone: ZoneOut
    conflicts: list[ConflictOut]


class Health(BaseModel):
    status: str
    version: str
    server_time: datetime


# -- the live picture ----------------------------------------------------------------------------


class TrackBatch(Strict):
    """Position reports, each checked on its own: `aircraft_id` (e.g. the ICAO 24-bit address, at most
    32 characters), `callsign` (optional), `time` (RFC 3339 with offset), `lat_deg`, `lng_deg`,
    `altitude_ft`, `ground_speed_kt`, `track_deg`, `vertical_rate_fpm`."""

    reports: list[Any] = Field(max_length=100_000)


class RejectedReport(BaseModel):
    index: int
    aircraft_id: str | None
    reasons: list[str]


class TrackIngested(BaseModel):
    accepted: int
    rejected: list[RejectedReport]
    server_time: datetime


class TrackOut(BaseModel):
    track: str = Field(description="the track's name: an opaque alias, stable per party and aircraft")
    party_id: str
    aircraft_id: str | None = Field(description="own tracks, or counterparts' under an agreement sharing identities")
    callsign: str | None
    time: datetime
    lat_deg: float
    lng_deg: float
    altitude_ft: float
    ground_speed_kt: float
    track_deg: float
    vertical_rate_fpm: float
    freshness: Literal["live", "stale"]
    age_s: float


class AlertTrack(BaseModel):
    """An aircraft of an alert, as reported when the alert last changed."""

    track: str = Field(description="the track's alias")
    party_id: str
    aircraft_id: str | None = Field(description="own aircraft, or counterparts' under an agreement sharing identities")
    callsign: str | None
    #: The position is null for a counterpart's aircraft outside every area the viewer shares with it.
    at: datetime | None
    lat_deg: float | None
    lng_deg: float | None
    altitude_ft: float | None
    ground_speed_kt: float | None
    track_deg: float | None
    vertical_rate_fpm: float | None


class AlertZone(BaseModel):
    id: str
    kind: str
    name: str


class AlertOut(BaseModel):
    id: str
    kind: Literal["loss_of_separation", "intrusion", "nonconformance"]
    level: Literal["advisory", "caution", "warning"]
    open: bool
    parties: list[str]
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    tracks: list[AlertTrack]
    zone: AlertZone | None
    operation_id: str | None
    detail: dict[str, float | bool | None] = Field(
        description="latest numbers: predicted_at_s (epoch seconds the times count from), time_to_loss_s, "
        "time_to_cpa_s, horizontal/vertical_at_cpa_m, minima; inside, time_to_entry_s; "
        "lateral/vertical_excess_m, time_outside_window_s"
    )
