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

    def check_secrets(self) -> None:
        """Refuse a weak admin token outside development mode."""
        if self.admin_token is not None and len(self.admin_token) < 24 and not self.dev:
            raise ValueError("DECONFLICT_ADMIN_TOKEN must be at least 24 characters (or run with --dev)")
