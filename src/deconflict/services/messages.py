"""Hotline messages between parties of an agreement, with delivery and read receipts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import or_, select

from deconflict.domain.disclosure import operation_view
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound, StateConflict
from deconflict.domain.parties import Principal, Role
from deconflict.services.core import Core, WriteTx, new_id
from deconflict.storage.tables import MessageRow, NoticeRow

MAX_BODY_CHARS = 4_000
MAX_REFERENCES = 20


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    FLASH = "flash"


def message_doc(row: MessageRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "from_party_id": row.from_party_id,
        "to_party_id": row.to_party_id,
        "priority": row.priority,
        "body": row.body,
        "operation_ids": list(row.operation_ids),
        "sent_at": row.sent_at.isoformat(),
        "delivered_at": None if row.delivered_at is None else row.delivered_at.isoformat(),
        "read_at": None if row.read_at is None else row.read_at.isoformat(),
    }


@dataclass(frozen=True)
class MessageDraft:
    to_party_id: str
    body: str
    priority: Priority = Priority.ROUTINE
    operation_ids: tuple[str, ...] = ()


def send(core: Core, principal: Principal, draft: MessageDraft) -> dict[str, Any]:
    if principal.party_id is None or not principal.at_least(Role.OPERATOR):
        raise Forbidden("sending messages needs an operator or supervisor token of a party")
    me = principal.party_id
    body = draft.body.strip()
    if not body or len(body) > MAX_BODY_CHARS:
        raise InvalidInput(f"body must be 1-{MAX_BODY_CHARS} characters", field="body")
    if len(draft.operation_ids) > MAX_REFERENCES:
        raise InvalidInput(f"at most {MAX_REFERENCES} operation references", field="operation_ids")
    with core.write(principal) as tx:
        if draft.to_party_id == me:
            raise InvalidInput("a message goes to another party", field="to_party_id")
        if draft.to_party_id not in tx.book.counterparts(me):
            raise NotFound(f"no counterpart {draft.to_party_id}: you share no agreement with it", field="to_party_id")
        _check_references(tx, me, draft.to_party_id, draft.operation_ids)
        row = MessageRow(
            id=new_id(),
            from_party_id=me,
            to_party_id=draft.to_party_id,
            sender_token_id=principal.token_id,
            priority=draft.priority.value,
            body=body,
            operation_ids=list(dict.fromkeys(draft.operation_ids)),
            sent_at=tx.now,
        )
        row.record_seq = tx.audit("message.sent", ("message", row.id), message_doc(row), [me, draft.to_party_id]).seq
        tx.repo.session.add(row)
        tx.repo.session.flush()
        doc = message_doc(row)
        tx.emit(draft.to_party_id, "message", doc)
        tx.emit(me, "message.sent", doc)
    return doc


def _check_references(tx: WriteTx, me: str, to: str, operation_ids: Sequence[str]) -> None:
    """Referenced operations must be visible to both ends (no disclosure through a reference)."""
    for i, op_id in enumerate(operation_ids):
        op = tx.repo.operation(op_id)
        if op is None or operation_view(me, op, tx.book) is None:
            raise NotFound(f"no operation {op_id}", field=f"operation_ids[{i}]")
        if operation_view(to, op, tx.book) is None:
            raise InvalidInput(f"operation {op_id} is not visible to the receiving party", field=f"operation_ids[{i}]")


def mark_read(core: Core, principal: Principal, message_id: str) -> dict[str, Any]:
    if principal.party_id is None:
        raise Forbidden("a read receipt needs a party token")
    with core.write(principal) as tx:
        row = tx.repo.session.get(MessageRow, message_id)
        if row is None or principal.party_id not in (row.to_party_id, row.from_party_id):
            raise NotFound(f"no message {message_id}", field="message_id")
        if row.to_party_id != principal.party_id:
            raise Forbidden("only the receiving party marks a message read")
        if row.read_at is not None:
            raise StateConflict(f"message {message_id} was already read at {row.read_at.isoformat()}")
        if row.delivered_at is None:
            _delivered(tx, row)
        row.read_at = tx.now
        tx.repo.session.flush()
        doc = message_doc(row)
        for p in (row.from_party_id, row.to_party_id):
            tx.emit(p, "message.read", doc)
        tx.audit("message.read", ("message", row.id), {"read_at": doc["read_at"]}, [row.from_party_id, row.to_party_id])
    return doc


def list_messages(core: Core, principal: Principal, limit: int = 100) -> list[dict[str, Any]]:
    if principal.party_id is None:
        raise Forbidden("listing messages needs a party token")
    me = principal.party_id
    stmt = (
        select(MessageRow)
        .where(or_(MessageRow.to_party_id == me, MessageRow.from_party_id == me))
        .order_by(MessageRow.record_seq.desc())
        .limit(limit)
    )
    with core.read() as repo:
        rows = list(repo.session.execute(stmt).scalars())
    unseen = [r.id for r in rows if r.to_party_id == me and r.delivered_at is None]
    if unseen:  # listing them is a delivery
        record_delivery(core, principal, me, message_ids=unseen)
        with core.read() as repo:
            rows = list(repo.session.execute(stmt).scalars())
    return [message_doc(r) for r in rows]


def _delivered(tx: WriteTx, row: MessageRow) -> None:
    row.delivered_at = tx.now
    doc = message_doc(row)
    tx.emit(row.from_party_id, "message.delivered", doc)
    parties = [row.from_party_id, row.to_party_id]
    tx.audit("message.delivered", ("message", row.id), {"delivered_at": doc["delivered_at"]}, parties)


class _ReceiptMemo:
    """Per process: ids already stamped as delivered, and ids being stamped right now.

    Ten consoles of one party receive the same notice at once; only the first should go to the
    store (and take the write lock) to stamp it. Bounded: the oldest ids are forgotten first.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._done: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._busy: set[tuple[str, str]] = set()
        self._size = size

    def claim(self, party_id: str, ids: Iterable[str]) -> list[str]:
        with self._lock:
            keys = [(party_id, i) for i in dict.fromkeys(ids)]
            mine = [k for k in keys if k not in self._done and k not in self._busy]
            self._busy.update(mine)
            return [i for _, i in mine]

    def release(self, party_id: str, ids: Iterable[str], delivered: set[str]) -> None:
        with self._lock:
            for i in ids:
                self._busy.discard((party_id, i))
                if i in delivered:
                    self._done[(party_id, i)] = None
            while len(self._done) > self._size:
                self._done.popitem(last=False)


_memos: WeakKeyDictionary[Core, _ReceiptMemo] = WeakKeyDictionary()


def receipt_ids(events: Iterable[Any]) -> tuple[list[str], list[str]]:
    """The message and notice ids among delivered events (what a delivery receipt is about)."""
    events = list(events)
    return (
        [e.data["id"] for e in events if e.kind == "message"],
        [e.data["id"] for e in events if e.kind == "notice"],
    )


def record_delivery(
    core: Core,
    actor: Principal,
    party_id: str,
    message_ids: Iterable[str] = (),
    notice_ids: Iterable[str] = (),
) -> None:
    """The party received these messages / notices (stream, poll, webhook): stamp and tell the senders."""
    memo = _memos.setdefault(core, _ReceiptMemo())
    message_ids, notice_ids = memo.claim(party_id, message_ids), memo.claim(party_id, notice_ids)
    claimed = message_ids + notice_ids
    if not claimed:
        return
    delivered: set[str] = set()
    try:
        delivered = stamp_deliveries(core, [Delivery(actor, party_id, message_ids, notice_ids)])
    finally:
        memo.release(party_id, claimed, delivered)


@dataclass(frozen=True)
class Delivery:
    """Messages and notices that reached `party_id` through a connection of `actor`."""

    actor: Principal
    party_id: str
    message_ids: list[str]
    notice_ids: list[str]


def stamp_deliveries(core: Core, deliveries: list[Delivery]) -> set[str]:
    """Stamp what is still undelivered, all parties in one transaction; returns the ids now delivered."""
    with core.read() as repo:
        pending = [
            (
                d,
                _undelivered(repo.session, MessageRow, d.message_ids, d.party_id),
                _undelivered(repo.session, NoticeRow, d.notice_ids, d.party_id),
            )
            for d in deliveries
        ]
    pending = [(d, m, n) for d, m, n in pending if m or n]
    if not pending:
        return set()
    stamped: set[str] = set()
    with core.write(pending[0][0].actor) as tx:
        for d, pending_m, pending_n in pending:
            tx.actor = d.actor  # each receipt's entry names the connection that received it
            for m in _rows(tx, MessageRow, pending_m):
                if m.delivered_at is None:
                    _delivered(tx, m)
                    stamped.add(m.id)
            for n in _rows(tx, NoticeRow, pending_n):
                if n.delivered_at is None:
                    n.delivered_at = tx.now
                    doc = {"id": n.id, "to_party_id": n.to_party_id, "delivered_at": tx.now.isoformat()}
                    tx.emit(n.from_party_id, "notice.delivered", doc)
                    tx.audit("notice.delivered", ("notice", n.id), doc, [n.from_party_id, n.to_party_id])
                    stamped.add(n.id)
        if not stamped:  # another replica stamped them first
            tx.abandon()
    return stamped


def _undelivered(session: Any, table: Any, ids: list[str], party_id: str) -> list[str]:
    if not ids:
        return []
    stmt = select(table.id).where(table.id.in_(ids), table.to_party_id == party_id, table.delivered_at.is_(None))
    return list(session.execute(stmt).scalars())


def _rows(tx: WriteTx, table: Any, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    stmt = select(table).where(table.id.in_(ids)).order_by(table.record_seq)
    return list(tx.repo.session.execute(stmt).scalars())
