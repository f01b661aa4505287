"""Webhooks: each party's events POSTed in order, signed, retried with backoff from a persisted cursor.

The outbox is the `events` table itself: a webhook keeps `cursor_seq`, the last sequence its
receiver answered 2xx for. A restart therefore loses nothing, and a receiver that was down for
an hour gets everything, in order, when it is back. Delivery is at least once: a receiver
de-duplicates by the `X-Deconflict-Seq` header (a crash between its 2xx and our cursor update
repeats one event).

Signature: `X-Deconflict-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's secret of
`<X-Deconflict-Timestamp>.<raw body>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, select, update

from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.services.core import Core, new_id
from deconflict.services.messages import receipt_ids, record_delivery
from deconflict.storage import journal
from deconflict.storage.tables import EventRow, PartyRow, WebhookRow

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_PARTY = 10
MAX_URL_CHARS = 2_000


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_url(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"url must be at most {MAX_URL_CHARS} characters", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("a webhook url must be http:// or https://", field="url")
    if not parts.hostname:
        raise InvalidInput("a webhook url needs a host", field="url")
    if parts.username or parts.password:
        raise InvalidInput("put no credentials in a webhook url: verify the signature instead", field="url")
    return url


def webhook_doc(row: WebhookRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "created_at": row.created_at.isoformat(),
        "active": row.active,
        "delivered_seq": row.cursor_seq,
        "attempts": row.attempts,
        "next_attempt_at": None if row.next_attempt_at is None else row.next_attempt_at.isoformat(),
        "last_error": row.last_error,
        "last_success_at": None if row.last_success_at is None else row.last_success_at.isoformat(),
    }


def _supervisor(principal: Principal) -> str:
    if principal.party_id is None or not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("managing webhooks needs a supervisor token")
    return principal.party_id


def create(core: Core, principal: Principal, url: str, from_seq: int | None = None) -> tuple[dict[str, Any], str]:
    """Register a webhook; returns it and its signing secret (shown once). Delivery starts after
    `from_seq` (default: the party's current last event, so history is not replayed)."""
    party_id = _supervisor(principal)
    url = check_url(url)
    secret = secrets.token_hex(32)
    with core.write(principal) as tx:
        session = tx.repo.session
        count = len(
            list(
                session.execute(
                    select(WebhookRow.id).where(WebhookRow.party_id == party_id, WebhookRow.active)
                ).scalars()
            )
        )
        if count >= MAX_WEBHOOKS_PER_PARTY:
            raise InvalidInput(f"a party has at most {MAX_WEBHOOKS_PER_PARTY} webhooks", field="url")
        last = journal.last_event_seq(session, party_id)
        if from_seq is not None and not 0 <= from_seq <= last:
            raise InvalidInput(f"from_seq must be between 0 and {last}", field="from_seq")
        row = WebhookRow(
            id=new_id(),
            party_id=party_id,
            url=url,
            secret=secret,
            created_at=tx.now,
            active=True,
            cursor_seq=last if from_seq is None else from_seq,
            attempts=0,
        )
        session.add(row)
        session.flush()
        tx.audit("webhook.created", ("webhook", row.id), {"url": url, "from_seq": row.cursor_seq}, [party_id])
        return webhook_doc(row), secret


def list_for(core: Core, principal: Principal) -> list[dict[str, Any]]:
    if principal.party_id is None:
        raise Forbidden("webhooks belong to parties: use a party token")
    with core.read() as repo:
        stmt = select(WebhookRow).where(WebhookRow.party_id == principal.party_id, WebhookRow.active)
        return [webhook_doc(r) for r in repo.session.execute(stmt.order_by(WebhookRow.created_at)).scalars()]


def delete(core: Core, principal: Principal, webhook_id: str) -> None:
    party_id = _supervisor(principal)
    with core.write(principal) as tx:
        row = tx.repo.session.get(WebhookRow, webhook_id)
        if row is None or row.party_id != party_id or not row.active:
            raise NotFound(f"no webhook {webhook_id}", field="webhook_id")
        row.active = False
        tx.audit("webhook.deleted", ("webhook", row.id), {"url": row.url}, [party_id])


def event_doc(row: EventRow) -> dict[str, Any]:
    return {"seq": row.seq, "kind": row.kind, "at": row.at.isoformat(), "data": row.data}


class WebhookSender:
    """Delivers every due webhook; one instance runs per server process (leases keep replicas apart)."""

    def __init__(
        self,
        core: Core,
        timeout_s: float = 5.0,
        max_backoff_s: float = 60.0,
        batch: int = 100,
        lease_s: float = 30.0,
    ) -> None:
        self.core = core
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self.batch = batch
        # A batch stops at half the lease; with one request of `timeout_s` on top it still ends inside it.
        self.lease_s = max(lease_s, 4 * timeout_s)
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Until when (loop time) a nudge need not look: no webhook was registered at the last look.
        #: Commits nudge the sender; without webhooks that was a query per command for nothing.
        self._none_until = 0.0

    def backoff_s(self, attempts: int) -> float:
        """1, 2, 4, ... seconds, capped: a receiver back after an hour is retried within the cap."""
        return float(min(self.max_backoff_s, 2 ** max(0, attempts - 1)))

    def nudge(self) -> None:
        """Look for due webhooks now; safe from any thread (the routes run in a thread pool)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.wake.set)

    async def run(self, poll_s: float = 1.0) -> None:
        """Deliver forever. Each webhook is delivered by its own task, so a slow or dead receiver
        delays only its own party: the next round does not wait for it."""
        self._loop = asyncio.get_running_loop()
        busy: dict[str, asyncio.Task[int]] = {}

        def finished(hook_id: str, task: asyncio.Task[int]) -> None:
            busy.pop(hook_id, None)
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook delivery failed", exc_info=task.exception())
            self.wake.set()  # more may be pending beyond one batch

        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
            try:
                while True:
                    self.wake.clear()
                    try:  # one bad round must not stop delivery for good
                        if self._loop.time() < self._none_until:
                            due: list[str] = []
                        else:
                            due = await asyncio.to_thread(self._lease_due, set(busy))
                            if not due and not busy and not await asyncio.to_thread(self._any_active):
                                self._none_until = self._loop.time() + poll_s
                        for hook_id in due:
                            task = asyncio.create_task(self._deliver(client, hook_id))
                            busy[hook_id] = task
                            task.add_done_callback(functools.partial(finished, hook_id))
                    except Exception:
                        log.exception("webhook delivery round failed")
                    with contextlib.suppress(TimeoutError):  # not wait_for: it can swallow a cancel (3.11)
                        async with asyncio.timeout(poll_s):
                            await self.wake.wait()
            finally:
                for task in busy.values():
                    task.cancel()
                await asyncio.gather(*busy.values(), return_exceptions=True)

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """One round: every due webhook, concurrently; returns how many events were delivered."""
        due = await asyncio.to_thread(self._lease_due, set())
        return sum(await asyncio.gather(*(self._deliver(client, hook_id) for hook_id in due)))

    def _lease_due(self, exclude: set[str]) -> list[str]:
        now = self.core.clock.now()
        with self.core.read() as repo, repo.session.begin():
            stmt = (
                select(WebhookRow)
                .join(PartyRow, PartyRow.id == WebhookRow.party_id)
                .where(WebhookRow.active, PartyRow.event_seq > WebhookRow.cursor_seq)
                .where(or_(WebhookRow.next_attempt_at.is_(None), WebhookRow.next_attempt_at <= now))
                .where(or_(WebhookRow.lease_until.is_(None), WebhookRow.lease_until <= now))
            )
            if exclude:
                stmt = stmt.where(WebhookRow.id.not_in(exclude))
            due = list(repo.session.execute(stmt.with_only_columns(WebhookRow.id)).scalars())
            leased = []
            for hook_id in due:
                # Take the lease only if nobody else (another replica) took it since the read above.
                taken = repo.session.execute(
                    update(WebhookRow)
                    .where(WebhookRow.id == hook_id)
                    .where(or_(WebhookRow.lease_until.is_(None), WebhookRow.lease_until <= now))
                    .values(lease_until=now + timedelta(seconds=self.lease_s))
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    leased.append(hook_id)
            return leased

    def _any_active(self) -> bool:
        with self.core.read() as repo:
            return repo.session.execute(select(WebhookRow.id).where(WebhookRow.active).limit(1)).first() is not None

    def _pending(self, hook_id: str) -> tuple[WebhookRow, list[EventRow]]:
        with self.core.read() as repo:
            hook = repo.session.get(WebhookRow, hook_id)
            assert hook is not None
            return hook, journal.events_after(repo.session, hook.party_id, hook.cursor_seq, self.batch)

    def _settle(self, hook_id: str, delivered: list[EventRow], error: str | None) -> None:
        now = self.core.clock.now()
        with self.core.read() as repo, repo.session.begin():
            hook = repo.session.get(WebhookRow, hook_id)
            assert hook is not None
            if delivered:
                hook.cursor_seq = max(hook.cursor_seq, delivered[-1].seq)
                hook.last_success_at, hook.attempts = now, 0
            if error is None:
                hook.next_attempt_at, hook.last_error = None, None
            else:
                hook.attempts += 1
                hook.last_error = error[:500]
                hook.next_attempt_at = now + timedelta(seconds=self.backoff_s(hook.attempts))
            hook.lease_until = None
            party_id = hook.party_id
        if delivered:
            _receipts(self.core, party_id, delivered)

    async def _deliver(self, client: httpx.AsyncClient, hook_id: str) -> int:
        hook, events = await asyncio.to_thread(self._pending, hook_id)
        delivered: list[EventRow] = []
        error = None
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + self.lease_s / 2  # settle well inside the lease: no replica takes over
        try:  # settle even when cancelled (shutdown): progress is kept and the lease released
            for ev in events:
                if loop.time() > stop_at:
                    break
                body = json.dumps(event_doc(ev), separators=(",", ":")).encode()
                ts = str(int(self.core.clock.now().timestamp()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Deconflict-Seq": str(ev.seq),
                    "X-Deconflict-Event": ev.kind,
                    "X-Deconflict-Timestamp": ts,
                    "X-Deconflict-Signature": signature(hook.secret, ts, body),
                }
                try:
                    response = await client.post(hook.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    break
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
                    break
                delivered.append(ev)
        finally:
            await asyncio.to_thread(self._settle, hook_id, delivered, error)
        return len(delivered)


def _receipts(core: Core, party_id: str, events: list[EventRow]) -> None:
    """A 2xx from the party's receiver delivers the messages and notices it carried."""
    messages, notices = receipt_ids(events)
    if messages or notices:
        actor = Principal("webhook", party_id, None, Role.OBSERVER)
        record_delivery(core, actor, party_id, messages, notices)
