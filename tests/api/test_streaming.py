"""The broker's shared reads: a party's connections woken together make one query, and see the same rows."""

from __future__ import annotations

import asyncio

from deconflict.api.streaming import Broker
from deconflict.domain.parties import Principal, Role
from deconflict.services import parties
from deconflict.services.core import SYSTEM, Core


def _party_with_events(core: Core, n: int) -> str:
    party, _ = parties.create_party(core, "Blue")
    with core.write(SYSTEM) as tx:
        for i in range(n):
            tx.emit(party.id, "test", {"i": i})
            tx.audit("test.event", ("party", party.id), {"i": i}, [party.id])
    return party.id


def test_connections_woken_together_share_one_read(core: Core) -> None:
    party_id = _party_with_events(core, 5)
    broker = Broker()

    async def ten_consoles() -> list[list[int]]:
        reads = [broker.read(core, party_id, 0) for _ in range(10)]
        return [[r.seq for r in rows] for rows in await asyncio.gather(*reads)]

    seen = asyncio.run(ten_consoles())
    assert seen == [[1, 2, 3, 4, 5]] * 10
    assert broker.store_reads == 1
    # A connection resuming in the middle is served from the same rows; a caught-up one asks the store.
    assert [r.seq for r in asyncio.run(broker.read(core, party_id, 3))] == [4, 5]
    assert broker.store_reads == 1
    assert asyncio.run(broker.read(core, party_id, 5)) == []
    assert broker.store_reads == 2


def test_new_events_extend_the_shared_rows_and_limits_hold(core: Core) -> None:
    party_id = _party_with_events(core, 3)
    broker = Broker(recent=4)
    assert [r.seq for r in asyncio.run(broker.read(core, party_id, 0))] == [1, 2, 3]
    with core.write(SYSTEM) as tx:
        for i in range(3):
            tx.emit(party_id, "test", {"i": i})
    assert [r.seq for r in asyncio.run(broker.read(core, party_id, 3))] == [4, 5, 6]
    assert [r.seq for r in asyncio.run(broker.read(core, party_id, 2, limit=2))] == [3, 4]  # kept: 3..6
    reads = broker.store_reads
    assert [r.seq for r in asyncio.run(broker.read(core, party_id, 0))] == [1, 2, 3, 4, 5, 6]  # older: the store
    assert broker.store_reads == reads + 1


def test_receipts_of_many_consoles_are_stamped_once_in_one_transaction(core: Core) -> None:
    from deconflict.api.streaming import ReceiptBatcher, read_events
    from deconflict.services import notices, operations
    from tests.services.helpers import circle_draft, setup_parties

    p = setup_parties(core, "Blue", "Red", "Green")
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    batcher = ReceiptBatcher(core)
    for name in ("Red", "Green"):
        party_id = p[name].party_id or ""
        rows = [r for r in read_events(core, party_id, 0) if r.kind == "notice"]
        for console in range(3):  # three consoles of each party got the same notice
            batcher.add(Principal(f"console-{console}", party_id, name, Role.OBSERVER), rows)
    with core.read() as repo:
        before = repo.current_revision()
    asyncio.run(batcher.flush())
    with core.read() as repo:
        assert repo.current_revision() == before + 1  # one write transaction for all six receipts
    delivered = [e for e in read_events(core, p["Blue"].party_id or "", 0) if e.kind == "notice.delivered"]
    assert len(delivered) == 2
    for name in ("Red", "Green"):
        (n,) = notices.list_notices(core, p[name], notices.NoticeQuery(direction="in"))
        assert n["delivered_at"] is not None
    asyncio.run(batcher.flush())  # nothing pending: nothing written
    with core.read() as repo:
        assert repo.current_revision() == before + 1
