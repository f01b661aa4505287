"""Validated settings, from the environment (DECONFLICT_*) or passed in explicitly."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DECONFLICT_", extra="ignore")

    database_url: str = "sqlite:///./deconflict.db"
    #: Optional admin bearer token from the environment (tokens can also be issued with the CLI).
    admin_token: str | None = None
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    max_area_km2: float = Field(default=10_000.0, gt=0)
    max_vertices: int = Field(default=1_000, ge=3)
    dev: bool = False
    #: The service's Ed25519 key for audit checkpoints (created on first start). Default: next to a
    #: SQLite database file, or `./deconflict-signing-key.pem`.
    signing_key_file: str | None = None
    #: Seconds between the scheduler's rounds (deadlines, escalations, channel states, checkpoints).
    tick_s: float = Field(default=1.0, gt=0, le=60)
    #: A party with no live connection for this long has a degraded channel.
    degraded_after_s: float = Field(default=120.0, gt=0)
    #: A signed checkpoint of the audit chain at least this often (when it grew).
    checkpoint_interval_s: float = Field(default=600.0, gt=0)
    #: Stream keep-alive (and sign of life) interval, and the longest a send may block before the
    #: client counts as not reading and is disconnected (it resumes by sequence).
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    stream_send_timeout_s: float = Field(default=30.0, gt=0)
    #: How often an idle stream looks at the store for events committed by other replicas.
    stream_poll_s: float = Field(default=1.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    webhook_max_backoff_s: float = Field(default=60.0, ge=1)

    # -- the live picture (step 3) --
    #: Replay mode: the server's clock follows the replayed reports' times, and detection cycles
    #: run as replayed time passes (exercises and analysis; not for live operations).
    replay: bool = False
    #: Seconds between detection cycles (tactical conflicts, intrusions, conformance).
    cycle_s: float = Field(default=1.0, gt=0, le=60)
    #: A track without a report for this long is stale (shown, not predicted); later it is dropped.
    track_stale_after_s: float = Field(default=30.0, gt=0)
    track_drop_after_s: float = Field(default=300.0, gt=0)
    #: Reports further ahead of the server clock, or older, than this are rejected.
    report_max_future_s: float = Field(default=5.0, ge=0)
    report_max_age_s: float = Field(default=300.0, gt=0)
    max_track_batch: int = Field(default=10_000, gt=0, le=100_000)
    #: Position reports are kept this long (for analysis), then deleted by the scheduler.
    track_retention_s: float = Field(default=86_400.0, ge=300)
    max_track_body_bytes: int = Field(default=16 * 1_048_576, gt=0)
    #: Also predict conflicts between two aircraft of the same party (default minima).
    tactical_same_party: bool = False
    #: Alert level by time to loss of separation or to entry: warning, caution; advisory beyond.
    alert_warning_s: float = Field(default=60.0, gt=0)
    alert_caution_s: float = Field(default=120.0, gt=0)
    #: Hysteresis: an alert clears, or eases to a lower level, only after holding this long.
    alert_hold_s: float = Field(default=5.0, ge=0)
    #: How far outside its operation's volumes a declared aircraft may be (lateral, vertical).
    conformance_lateral_m: float = Field(default=100.0, ge=0)
    conformance_vertical_m: float = Field(default=60.0, ge=0)

    def signing_key_path(self) -> str:
        if self.signing_key_file:
            return self.signing_key_file
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return self.database_url[len(prefix) :] + ".signing-key.pem"
        return "./deconflict-signing-key.pem"

    def check_secrets(self) -> None:
        """Refuse a weak admin token outside development mode."""
        if self.admin_token is not None and len(self.admin_token) < 24 and not self.dev:
            raise ValueError("DECONFLICT_ADMIN_TOKEN must be at least 24 characters (or run with --dev)")
