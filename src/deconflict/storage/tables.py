"""Table rows. Times are timezone-aware UTC; durations in seconds; lengths in metres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, TypeDecorator
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
