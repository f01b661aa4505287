"""Table rows. Times are timezone-aware UTC; durations in seconds; lengths in metres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes; returns them aware in UTC on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by storage")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Counter(Base):
    """Named counters; the `revision` row serialises every write (row lock / SQLite write lock)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class PartyRow(Base):
    __tablename__ = "parties"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    #: The last sequence number given to an event of this party's stream.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: When a stream connection (or an events poll) of this party was last seen alive.
    last_seen_at: Mapped[datetime | None]
    #: The channel state counterparts were last told about: `ok` or `degraded`.
    channel_state: Mapped[str] = mapped_column(String(16), default="degraded", server_default="degraded")


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AgreementRow(Base):
    __tablename__ = "agreements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    area: Mapped[dict[str, Any] | None]
    min_notice_s: Mapped[float] = mapped_column(Float)
    lateral_buffer_m: Mapped[float] = mapped_column(Float)
    vertical_buffer_m: Mapped[float] = mapped_column(Float)
    time_buffer_s: Mapped[float] = mapped_column(Float)
    late_policy: Mapped[str] = mapped_column(String(16))
    ack_deadline_s: Mapped[float] = mapped_column(Float, default=600.0, server_default="600")
    require_ack: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    escalation_interval_s: Mapped[float] = mapped_column(Float, default=300.0, server_default="300")
    tactical_lateral_m: Mapped[float] = mapped_column(Float, default=9260.0, server_default="9260")
    tactical_vertical_m: Mapped[float] = mapped_column(Float, default=304.8, server_default="304.8")
    lookahead_s: Mapped[float] = mapped_column(Float, default=300.0, server_default="300")
    share_track_identity: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class AgreementMemberRow(Base):
    __tablename__ = "agreement_members"
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    accepted_at: Mapped[datetime | None]


class OperationRow(Base):
    __tablename__ = "operations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
    private: Mapped[dict[str, Any]]
    late_notice: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExtentRow(Base):
    __tablename__ = "extents"
    __table_args__ = (Index("ix_extents_time", "time_start", "time_end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    volume: Mapped[dict[str, Any]]
    time_start: Mapped[datetime]
    time_end: Mapped[datetime]
    altitude_lower_m: Mapped[float] = mapped_column(Float)
    altitude_upper_m: Mapped[float] = mapped_column(Float)


class ZoneRow(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    volume: Mapped[dict[str, Any]]
    version: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ConflictRow(Base):
    """A conflict as it was reported when found; `cleared_at` is set when either side changes."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    subject_party_id: Mapped[str] = mapped_column(String(36), index=True)
    other_kind: Mapped[str] = mapped_column(String(16))
    other_id: Mapped[str] = mapped_column(String(36), index=True)
    other_party_id: Mapped[str] = mapped_column(String(36), index=True)
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None] = mapped_column(index=True)


class AuditEntryRow(Base):
    """One link of the hash chain; written in the same transaction as the change it records."""

    __tablename__ = "audit_entries"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_party_id: Mapped[str | None] = mapped_column(String(36))
    actor_token_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    parties: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]]
    payload_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditPartyRow(Base):
    """Which parties an audit entry concerns: the entries each party may fetch and keep."""

    __tablename__ = "audit_parties"
    party_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class CheckpointRow(Base):
    """A signed statement of the chain head: (head_seq, head_hash) at a time, Ed25519."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class EventRow(Base):
    """One event of one party's stream; `seq` counts up per party without gaps."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("party_id", "seq", name="uq_events_party_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


#: A notice still open: not answered and not replaced by a newer one (what the escalation scan looks at).
NOTICE_OPEN_SQL = "decision IS NULL AND superseded_at IS NULL"


class NoticeRow(Base):
    """A notice of one operation change to one counterpart party, and its answer."""

    __tablename__ = "notices"
    __table_args__ = (
        # The escalation scan's own index: only the open notices, by when each is next due. Without it every
        # tick read every notice ever sent (answered ones included) to find the few that are due.
        Index(
            "ix_notices_due",
            text("coalesce(next_escalation_at, deadline_at)"),
            sqlite_where=text(NOTICE_OPEN_SQL),
            postgresql_where=text(NOTICE_OPEN_SQL),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The seq of the audit entry that recorded the sending: a total order, also within one instant.
    record_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    operation_id: Mapped[str] = mapped_column(String(36), index=True)
    operation_version: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    from_party_id: Mapped[str] = mapped_column(String(36), index=True)
    to_party_id: Mapped[str] = mapped_column(String(36), index=True)
    agreement_ids: Mapped[list[str]] = mapped_column(JSON)
    content: Mapped[dict[str, Any]]
    sent_at: Mapped[datetime]
    operation_start: Mapped[datetime | None]
    lead_time_s: Mapped[float | None] = mapped_column(Float)
    degraded_channel: Mapped[bool] = mapped_column(Boolean)
    deadline_at: Mapped[datetime]
    require_ack: Mapped[bool] = mapped_column(Boolean)
    escalation_interval_s: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None]
    responder_token_id: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None]


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    from_party_id: Mapped[str] = mapped_column(String(36), index=True)
    to_party_id: Mapped[str] = mapped_column(String(36), index=True)
    sender_token_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    operation_ids: Mapped[list[str]] = mapped_column(JSON)
    sent_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class WebhookRow(Base):
    """A party's webhook; `cursor_seq` is the last event it acknowledged (the outbox is `events`)."""

    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(36), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_success_at: Mapped[datetime | None]


class TrackReportRow(Base):
    """Every accepted position report (SI units); the latest per aircraft is the live track state.

    Rows are appended under the global write lock, so `id` order is commit order and every replica
    follows the table by id.
    """

    __tablename__ = "track_reports"
    #: 64-bit on PostgreSQL (a feed at 80,000 reports/s exhausts 32 bits in hours); SQLite's rowid.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    party_id: Mapped[str] = mapped_column(String(36))
    aircraft_id: Mapped[str] = mapped_column(String(32))
    callsign: Mapped[str | None] = mapped_column(String(16))
    #: Report time and arrival time in seconds since the Unix epoch (UTC): plain floats, because
    #: a feed writes thousands of rows a second and date conversion would dominate the insert.
    at_s: Mapped[float] = mapped_column(Float, index=True)
    lat_deg: Mapped[float] = mapped_column(Float)
    lng_deg: Mapped[float] = mapped_column(Float)
    alt_m: Mapped[float] = mapped_column(Float)
    ground_speed_mps: Mapped[float] = mapped_column(Float)
    track_deg: Mapped[float] = mapped_column(Float)
    vertical_rate_mps: Mapped[float] = mapped_column(Float)
    received_at_s: Mapped[float] = mapped_column(Float)


class AlertRow(Base):
    """A live alert (loss of separation, intrusion, non-conformance) and its latest transition.

    `subjects` names what is involved (tracks, zone, operation) as stored, with identities; every
    read goes through the redaction in `services.alerts` before it leaves the service.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open alert per condition (whichever replica raised it), and the way to find it.
        Index("ux_alerts_open_key", "key", unique=True, sqlite_where=text("open = 1"), postgresql_where=text("open")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    open: Mapped[bool] = mapped_column(Boolean)
    parties: Mapped[list[str]] = mapped_column(JSON)
    subjects: Mapped[dict[str, Any]]
    detail: Mapped[dict[str, Any]]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class LeaseRow(Base):
    """A named job that only one replica runs at a time (e.g. the live detection cycle)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class ServiceKeyRow(Base):
    """Secrets of the deployment kept in the store, e.g. the key of counterparts' track aliases."""

    __tablename__ = "service_keys"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
