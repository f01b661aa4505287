"""The write path's kept tail (audit head, event counters, agreements stamp) with several replicas:
two `Core`s on one store, writing in turn, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, select

from deconflict.api.app import build_core
from deconflict.domain.agreements import Buffers, LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import ConflictDetected
from deconflict.domain.parties import Principal, Role
from deconflict.services import agreements, audit, messages, operations, parties
from deconflict.services.core import Core
from deconflict.settings import Settings
from deconflict.storage.tables import EventRow, PartyRow
from tests.services.helpers import ADMIN, circle_draft, setup_parties


@pytest.fixture
def replicas(database_url: str, clock: ManualClock) -> Iterator[tuple[Core, Core]]:
    """Two service instances on one store, like two server processes."""
    first = build_core(Settings(database_url=database_url), clock)
    second = build_core(Settings(database_url=database_url), clock, migrate=False)
    yield first, second
    second.engine.dispose()
    first.engine.dispose()


def assert_record_whole(core: Core) -> None:
    """The chain verifies, and each party's events are numbered 1..n with its counter at n."""
    verdict = audit.verify(core, None)
    assert verdict.ok, verdict.problem
    with core.read() as repo:
        counters = dict(repo.session.execute(select(PartyRow.id, PartyRow.event_seq)).all())
        seqs: dict[str, list[int]] = {}
        for party_id, seq in repo.session.execute(select(EventRow.party_id, EventRow.seq).order_by(EventRow.seq)):
            seqs.setdefault(party_id, []).append(seq)
    for party_id, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), party_id
        assert counters[party_id] == len(numbers), party_id


def _file(core: Core, who: Principal, i: int) -> operations.FilingResult:
    return operations.file_operation(core, who, circle_draft(40.0 + 0.01 * (i % 3), 5.0))


def test_replicas_writing_in_turn_keep_one_chain_and_gapless_streams(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red", "Green")
    # runs of one replica (where it may use what it kept) broken by the other's writes
    order = [first, first, second, first, second, second, first, first, first, second, first]
    for i, core in enumerate(order):
        who = p[("Blue", "Red", "Green")[i % 3]]
        _file(core, who, i)
        to = p["Red"] if who is p["Blue"] else p["Blue"]
        messages.send(core, who, messages.MessageDraft(to.party_id or "", f"message {i}"))
    assert_record_whole(first)
    assert_record_whole(second)


def test_filings_see_agreements_made_by_either_replica(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    _file(first, p["Blue"], 0)  # first keeps its tail, agreements stamp included
    grey, _token = parties.create_party(second, "Grey")
    buffers = Buffers(1852.0, 152.4, 300.0)
    draft = agreements.AgreementDraft("wide", ("Blue", "Grey"), None, 1800.0, buffers, LatePolicy.REJECT)
    agreements.create_agreement(second, ADMIN, draft)
    assert _told(first, _file(first, p["Blue"], 1)) == {p["Red"].party_id, grey.id}
    # and one it made itself, after a command of its own (its kept stamp is then out of date)
    _file(first, p["Blue"], 2)
    white, _token = parties.create_party(first, "White")
    agreements.create_agreement(first, ADMIN, replace(draft, name="white", party_names=("Blue", "White")))
    assert _told(first, _file(first, p["Blue"], 3)) == {p["Red"].party_id, grey.id, white.id}
    assert_record_whole(first)


def _told(core: Core, result: operations.FilingResult) -> set[str]:
    """The parties sent a notice of the filing."""
    with core.read() as repo:
        rows = repo.session.execute(select(EventRow).where(EventRow.kind == "notice")).scalars()
        return {e.party_id for e in rows if e.data["operation_id"] == result.operation.id}


def _append_then_fail(core: Core, who: Principal) -> None:
    with core.write(who) as tx:
        tx.audit("test.half", ("test", "x"), {}, [who.party_id or ""])
        tx.emit(who.party_id or "", "test", {})
        raise RuntimeError("boom")


def test_nothing_kept_from_a_command_that_rolled_back(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    _file(first, p["Red"], 0)
    with pytest.raises(RuntimeError):
        _append_then_fail(first, p["Blue"])
    with pytest.raises(ConflictDetected):  # a refused filing rolls back after its reads
        operations.file_operation(first, p["Blue"], circle_draft(40.0, 5.0), reject_on_conflict=True)
    _file(first, p["Blue"], 1)
    _file(second, p["Red"], 2)
    _file(first, p["Blue"], 3)
    assert_record_whole(first)


class _Statements:
    """The SQL statements sent through an engine while active."""

    def __init__(self, core: Core) -> None:
        self.sent: list[str] = []
        event.listen(core.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sent.append(" ".join(statement.split()).lower())

    def reads_of_the_tail(self) -> int:
        return sum(
            1
            for s in self.sent
            if s.startswith("select")
            and ("from audit_entries order by" in s or "event_seq from parties" in s or "where counters.name" in s)
        )


def test_the_tail_is_read_again_only_after_another_writer(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    _file(first, p["Blue"], 0)
    seen = _Statements(first)
    _file(first, p["Blue"], 1)
    assert seen.reads_of_the_tail() == 0  # nobody wrote in between: all three kept
    _file(second, p["Red"], 2)
    seen.sent.clear()
    _file(first, p["Blue"], 3)
    assert seen.reads_of_the_tail() == 3  # the head, the counters and the stamp
    assert_record_whole(first)


def test_a_command_that_checks_nothing_does_not_load_the_index(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    blue_op = _file(first, p["Blue"], 0).operation
    # A token issued by a process that has not needed the index yet: the index stays unloaded.
    parties.issue_token(second, "Red", Role.OPERATOR, "console 2")
    parties.create_party(second, "Grey")
    assert second.index_revision is None
    assert len(second.index) == 0
    # Its first filing loads it, and sees what the other process filed.
    found = _file(second, p["Red"], 0).conflicts
    assert [(c.other_id, c.other_party_id) for c in found] == [(blue_op.id, p["Blue"].party_id)]
    assert second.index_revision is not None
    with second.read() as repo:
        assert second.index_revision == repo.current_revision()
    assert len(second.index) == 2


def test_a_loaded_index_follows_commands_that_do_not_need_it(replicas: tuple[Core, Core]) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    _file(second, p["Red"], 0)  # loads second's index
    blue_op = _file(first, p["Blue"], 1).operation
    parties.issue_token(second, "Blue", Role.OBSERVER)
    # The token command brought the loaded index up to date, with first's filing in it.
    assert [e.owner_id for e in second.index.entries_of("operation", blue_op.id)] == [blue_op.id]
    with second.read() as repo:
        assert second.index_revision == repo.current_revision()


@pytest.mark.parametrize("collector_on", [True, False])
def test_warm_up_loads_the_index_and_leaves_the_collector_as_it_was(
    replicas: tuple[Core, Core], collector_on: bool
) -> None:
    first, second = replicas
    p = setup_parties(first, "Blue", "Red")
    blue_op = _file(first, p["Blue"], 0).operation
    was = gc.isenabled()
    collector_while_adding: list[bool] = []
    add = second.index.add

    def watched_add(entry: Any) -> None:
        collector_while_adding.append(gc.isenabled())
        add(entry)

    second.index.add = watched_add  # type: ignore[method-assign]
    (gc.enable if collector_on else gc.disable)()
    try:
        assert second.warm_up() == 1
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was else gc.disable)()
    assert collector_while_adding == [False]  # paused while the index loaded
    assert [e.owner_id for e in second.index.entries_of("operation", blue_op.id)] == [blue_op.id]
