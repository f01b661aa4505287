"""Hotline messages on both backends: who may write to whom, references, delivery and read receipts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from deconflict.domain.agreements import Buffers, LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound, StateConflict
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import LatLng, Limits, circle_outline
from deconflict.services import agreements, messages, notices, operations, parties
from deconflict.services.core import SYSTEM, Core
from deconflict.services.messages import MessageDraft, Priority
from deconflict.storage import journal
from tests.conftest import T0
from tests.services.helpers import ADMIN, circle_draft, setup_parties


def pid(principal: Principal) -> str:
    assert principal.party_id is not None
    return principal.party_id


def events(core: Core, principal: Principal, kind: str) -> list[dict[str, Any]]:
    with core.read() as repo:
        return [r.data for r in journal.events_after(repo.session, pid(principal), 0, 10_000) if r.kind == kind]


def entries(core: Core, action: str) -> list[Any]:
    with core.read() as repo:
        return [e for e in journal.iter_entries(repo.session) if e.action == action]


@pytest.fixture
def p(core: Core) -> dict[str, Principal]:
    """Blue and Red share an agreement; Grey shares none with them."""
    out = setup_parties(core, "Blue", "Red")
    grey, _ = parties.create_party(core, "Grey")
    out["Grey"] = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    return out


def test_send_to_a_counterpart(core: Core, p: dict[str, Principal]) -> None:
    op = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    draft = MessageDraft(pid(p["Red"]), "  Tanker on station at 0900  ", Priority.FLASH, (op.id, op.id))
    doc = messages.send(core, p["Blue"], draft)
    assert doc["body"] == "Tanker on station at 0900"
    assert (doc["priority"], doc["operation_ids"]) == ("flash", [op.id])
    assert (doc["from_party_id"], doc["to_party_id"]) == (pid(p["Blue"]), pid(p["Red"]))
    assert (doc["sent_at"], doc["delivered_at"], doc["read_at"]) == (T0.isoformat(), None, None)
    assert events(core, p["Red"], "message") == [doc]
    assert events(core, p["Blue"], "message.sent") == [doc]
    assert events(core, p["Grey"], "message") == []
    (entry,) = entries(core, "message.sent")
    assert (entry.actor_party_id, entry.actor_token_id, entry.actor_role) == (pid(p["Blue"]), "t-Blue", "supervisor")
    assert set(entry.parties) == {pid(p["Blue"]), pid(p["Red"])}


def test_send_errors_store_nothing(core: Core, p: dict[str, Principal]) -> None:
    with pytest.raises(NotFound, match="share no agreement"):
        messages.send(core, p["Blue"], MessageDraft(pid(p["Grey"]), "hello"))
    with pytest.raises(NotFound):
        messages.send(core, p["Blue"], MessageDraft("no-such-party", "hello"))
    with pytest.raises(InvalidInput, match="another party"):
        messages.send(core, p["Blue"], MessageDraft(pid(p["Blue"]), "note to self"))
    with pytest.raises(InvalidInput, match="body"):
        messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "   "))
    with pytest.raises(InvalidInput, match="body"):
        messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "x" * (messages.MAX_BODY_CHARS + 1)))
    too_many = tuple(f"op-{i}" for i in range(messages.MAX_REFERENCES + 1))
    with pytest.raises(InvalidInput, match="references"):
        messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "hello", operation_ids=too_many))
    observer = Principal("o", pid(p["Blue"]), "Blue", Role.OBSERVER)
    with pytest.raises(Forbidden):
        messages.send(core, observer, MessageDraft(pid(p["Red"]), "hello"))
    assert messages.list_messages(core, p["Blue"]) == []
    assert entries(core, "message.sent") == []
    assert events(core, p["Blue"], "message.sent") == []


def test_a_pending_agreement_is_not_yet_a_channel(core: Core, p: dict[str, Principal]) -> None:
    grey, _ = parties.create_party(core, "Green")
    draft = agreements.AgreementDraft(
        "proposal", ("Blue", "Green"), None, 1800.0, Buffers(1852.0, 152.4, 300.0), LatePolicy.REJECT
    )
    agreements.create_agreement(core, p["Blue"], draft)
    with pytest.raises(NotFound):
        messages.send(core, p["Blue"], MessageDraft(grey.id, "hello"))
    assert messages.list_messages(core, p["Blue"]) == []


def test_references_must_be_visible_to_both_ends(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    grey, _ = parties.create_party(core, "Grey")
    grey_p = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    # Blue-Grey share an agreement limited to an area far away from Blue-Red activity.
    far = circle_outline(LatLng(10.0, 10.0), 50_000.0, Limits())
    draft = agreements.AgreementDraft("south", ("Blue", "Grey"), far, 1800.0, Buffers(0, 0, 0), LatePolicy.REJECT)
    agreements.create_agreement(core, ADMIN, draft)
    red_op = operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0)).operation
    grey_op = operations.file_operation(core, grey_p, circle_draft(10.0, 10.0)).operation
    blue_op = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    with pytest.raises(NotFound, match=grey_op.id) as caught:  # Grey's operation: Blue-Red cannot see it
        messages.send(core, p["Red"], MessageDraft(pid(p["Blue"]), "see", operation_ids=(red_op.id, grey_op.id)))
    assert caught.value.field == "operation_ids[1]"
    with pytest.raises(NotFound):
        messages.send(core, p["Red"], MessageDraft(pid(p["Blue"]), "see", operation_ids=("no-such-op",)))
    with pytest.raises(InvalidInput, match="not visible to the receiving party"):
        messages.send(core, p["Blue"], MessageDraft(grey.id, "see", operation_ids=(red_op.id,)))
    doc = messages.send(core, p["Red"], MessageDraft(pid(p["Blue"]), "see", operation_ids=(red_op.id, blue_op.id)))
    assert doc["operation_ids"] == [red_op.id, blue_op.id]


def test_listing_is_a_delivery_told_to_the_sender(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    sent = messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "hello"))
    assert messages.list_messages(core, p["Blue"])[0]["delivered_at"] is None  # the sender listing is no delivery
    clock.advance(3)
    (got,) = messages.list_messages(core, p["Red"])
    assert got["delivered_at"] == (T0 + timedelta(seconds=3)).isoformat()
    (receipt,) = events(core, p["Blue"], "message.delivered")
    assert (receipt["id"], receipt["delivered_at"]) == (sent["id"], got["delivered_at"])
    clock.advance(3)
    assert messages.list_messages(core, p["Red"]) == [got]  # delivered once
    assert len(events(core, p["Blue"], "message.delivered")) == 1
    (entry,) = entries(core, "message.delivered")
    assert set(entry.parties) == {pid(p["Blue"]), pid(p["Red"])}


def test_record_delivery_of_messages_and_notices(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    sent = messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "hello"))
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    (notice,) = notices.list_notices(core, p["Red"], notices.NoticeQuery(direction="in"))
    clock.advance(2)
    # Only what was sent to the party counts: Blue's own ids and unknown ids are ignored.
    messages.record_delivery(core, SYSTEM, pid(p["Blue"]), [sent["id"]], [notice["id"]])
    messages.record_delivery(core, SYSTEM, pid(p["Red"]), ["nope"], ["nope"])
    assert events(core, p["Blue"], "message.delivered") == []
    messages.record_delivery(core, SYSTEM, pid(p["Red"]), [sent["id"]], [notice["id"]])
    at = (T0 + timedelta(seconds=2)).isoformat()
    assert [e["delivered_at"] for e in events(core, p["Blue"], "message.delivered")] == [at]
    assert events(core, p["Blue"], "notice.delivered") == [
        {"id": notice["id"], "to_party_id": pid(p["Red"]), "delivered_at": at}
    ]
    assert notices.get_notice(core, p["Blue"], notice["id"])["delivered_at"] == at
    clock.advance(2)
    messages.record_delivery(core, SYSTEM, pid(p["Red"]), [sent["id"]], [notice["id"]])  # again: nothing new
    assert len(events(core, p["Blue"], "message.delivered")) == 1
    assert len(events(core, p["Blue"], "notice.delivered")) == 1
    (entry,) = entries(core, "notice.delivered")
    assert (entry.actor_token_id, entry.actor_role) == ("system", "admin")
    (entry,) = entries(core, "message.delivered")
    assert set(entry.parties) == {pid(p["Blue"]), pid(p["Red"])}  # the receiver is party to its receipt


def test_read_receipt(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    sent = messages.send(core, p["Blue"], MessageDraft(pid(p["Red"]), "hello", Priority.URGENT))
    with pytest.raises(Forbidden, match="receiving party"):
        messages.mark_read(core, p["Blue"], sent["id"])
    with pytest.raises(NotFound):
        messages.mark_read(core, p["Grey"], sent["id"])
    with pytest.raises(NotFound):
        messages.mark_read(core, p["Red"], "no-such-message")
    clock.advance(7)
    doc = messages.mark_read(core, p["Red"], sent["id"])
    at = (T0 + timedelta(seconds=7)).isoformat()
    assert (doc["read_at"], doc["delivered_at"]) == (at, at)  # read implies delivered
    assert len(events(core, p["Blue"], "message.delivered")) == 1
    for name in ("Blue", "Red"):
        assert events(core, p[name], "message.read") == [doc]
    clock.advance(1)
    with pytest.raises(StateConflict, match="already read"):
        messages.mark_read(core, p["Red"], sent["id"])
    assert len(entries(core, "message.read")) == 1
    assert messages.list_messages(core, p["Blue"]) == [doc]
