"""Request bodies of the hotline endpoints (notices, messages, webhooks, checkpoints)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from deconflict.api.schemas import Strict


class NoticeAnswer(Strict):
    decision: Literal["acknowledged", "objection", "unable"]
    reason: str | None = Field(default=None, max_length=2000, description="required with an objection")


class MessageCreate(Strict):
    to_party_id: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=4000)
    priority: Literal["routine", "urgent", "flash"] = "routine"
    operation_ids: list[str] = Field(default_factory=list, max_length=20)


class WebhookCreate(Strict):
    url: str = Field(min_length=1, max_length=2000, description="http:// or https:// receiver")
    from_seq: int | None = Field(
        default=None, ge=0, description="deliver events after this sequence (default: only new events)"
    )
