"""/api/v1/webhooks: a party's event stream POSTed to its own receiver, signed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from deconflict.api.deps import CoreDep, PartyPrincipal
from deconflict.api.hotline_schemas import WebhookCreate
from deconflict.services import webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_webhook(body: WebhookCreate, request: Request, core: CoreDep, principal: PartyPrincipal) -> dict[str, Any]:
    """Register a receiver; the response holds the signing secret, shown only once."""
    doc, secret = webhooks.create(core, principal, body.url, body.from_seq)
    sender = getattr(request.app.state, "webhook_sender", None)
    if sender is not None:
        sender.nudge()  # this handler runs in a worker thread: asyncio.Event.set is not thread-safe
    return {**doc, "secret": secret}


@router.get("")
def list_webhooks(core: CoreDep, principal: PartyPrincipal) -> list[dict[str, Any]]:
    return webhooks.list_for(core, principal)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: str, core: CoreDep, principal: PartyPrincipal) -> None:
    webhooks.delete(core, principal, webhook_id)
