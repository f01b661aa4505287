"""/api/v1/notices, /messages and /channels: the hotline between parties."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from deconflict.api.deps import CoreDep, PartyPrincipal
from deconflict.api.hotline_schemas import MessageCreate, NoticeAnswer
from deconflict.domain.hotline import Decision, NoticeStatus
from deconflict.services import channels, messages, notices

router = APIRouter(tags=["hotline"])


@router.get("/notices")
def list_notices(
    core: CoreDep,
    principal: PartyPrincipal,
    direction: Annotated[str, Query(pattern="^(in|out|all)$", description="received, sent or both")] = "all",
    status_: Annotated[NoticeStatus | None, Query(alias="status")] = None,
    operation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The caller's notices, newest first."""
    q = notices.NoticeQuery(direction, None if status_ is None else status_.value, operation_id, limit)
    return notices.list_notices(core, principal, q)


@router.get("/notices/{notice_id}")
def get_notice(notice_id: str, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    return notices.get_notice(core, principal, notice_id)


@router.post("/notices/{notice_id}/ack")
def answer_notice(notice_id: str, body: NoticeAnswer, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    """Answer a notice sent to your party: acknowledged, objection (with a reason) or unable."""
    return notices.answer(core, principal, notice_id, Decision(body.decision), body.reason)


@router.post("/notices/{notice_id}/withdraw")
def withdraw_objection(notice_id: str, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    """Take back your objection: the filer may then activate (if nothing else blocks)."""
    return notices.withdraw_objection(core, principal, notice_id)


@router.post("/messages", status_code=status.HTTP_201_CREATED)
def send_message(body: MessageCreate, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    draft = messages.MessageDraft(
        body.to_party_id, body.body, messages.Priority(body.priority), tuple(body.operation_ids)
    )
    return messages.send(core, principal, draft)


@router.get("/messages")
def list_messages(
    core: CoreDep, principal: PartyPrincipal, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Messages sent and received, newest first; listing delivers the received ones."""
    return messages.list_messages(core, principal, limit)


@router.post("/messages/{message_id}/read")
def mark_read(message_id: str, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    """Read receipt: the sender is told, with the server time."""
    return messages.mark_read(core, principal, message_id)


@router.get("/channels")
def list_channels(core: CoreDep, principal: PartyPrincipal) -> list[dict[str, Any]]:
    """One channel per counterpart: its state (can they hear you?) and yours (as they see you)."""
    return channels.list_channels(core, principal)
