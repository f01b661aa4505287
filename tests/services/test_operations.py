"""Filing use cases on both backends: conflicts recorded for both sides, versions, notice, races."""

from __future__ import annotations

import threading

import pytest

from deconflict.domain.agreements import HotlineRules, LatePolicy
from deconflict.domain.errors import (
    ConflictDetected,
    Forbidden,
    InvalidTransition,
    NotFound,
    NoticeTooLate,
    VersionMismatch,
)
from deconflict.domain.operations import OperationState
from deconflict.domain.parties import Principal, Role
from deconflict.services import conflicts, operations
from deconflict.services.core import Core
from deconflict.settings import Settings
from deconflict.storage import journal
from tests.services.helpers import circle_draft, setup_parties


def _open_pairs(core: Core, party_id: str) -> set[frozenset[str]]:
    with core.read() as repo:
        return {frozenset((c["mine"]["id"], c["theirs"]["id"])) for c in conflicts.open_for_party(repo, party_id)}


def test_overlapping_filings_are_a_conflict_both_parties_see(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    b = operations.file_operation(core, p["Red"], circle_draft(48.02, 2.0))
    assert a.conflicts == []
    assert [c.other_id for c in b.conflicts] == [a.operation.id]
    pair = frozenset((a.operation.id, b.operation.id))
    assert _open_pairs(core, p["Blue"].party_id or "") == {pair}
    assert _open_pairs(core, p["Red"].party_id or "") == {pair}


def test_several_conflicts_of_one_filing_reach_both_streams_with_their_recorded_ids(core: Core) -> None:
    """One filing meeting three operations (two parties): each recorded row's id is on the stream of both of its
    parties, the rows in the order the check reported them."""
    p = setup_parties(core, "Blue", "Red", "Green")
    others = [
        operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0)).operation.id,
        operations.file_operation(core, p["Green"], circle_draft(48.01, 2.0)).operation.id,
        operations.file_operation(core, p["Red"], circle_draft(47.99, 2.0)).operation.id,
    ]
    filed = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.01))
    assert sorted(c.other_id for c in filed.conflicts) == sorted(others)
    with core.read() as repo:
        rows = [r for r in repo.open_conflicts(party_id=p["Blue"].party_id) if r.subject_id == filed.operation.id]
        streams = {
            name: [
                (e.data["id"], e.data["theirs"]["id"] if name == "Blue" else e.data["mine"]["id"])
                for e in journal.events_after(repo.session, p[name].party_id or "", 0, 10_000)
                if e.kind == "conflict" and filed.operation.id in (e.data["mine"]["id"], e.data["theirs"]["id"])
            ]
            for name in ("Blue", "Red", "Green")
        }
    assert [r.other_id for r in sorted(rows, key=lambda r: r.id)] == [c.other_id for c in filed.conflicts]
    recorded = [(r.id, r.other_id) for r in sorted(rows, key=lambda r: r.id)]
    assert streams["Blue"] == recorded
    assert streams["Red"] == [(i, o) for i, o in recorded if o != others[1]]
    assert streams["Green"] == [(i, o) for i, o in recorded if o == others[1]]


def test_same_party_never_conflicts_with_itself(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    again = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    assert again.conflicts == []


def test_reject_on_conflict_stores_nothing(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    with pytest.raises(ConflictDetected) as caught:
        operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0), reject_on_conflict=True)
    assert len(caught.value.extra["conflicts"]) == 1
    with core.read() as repo:
        assert len(repo.operations()) == 1


def test_update_needs_current_version_and_recomputes_conflicts(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    b = operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0))
    with pytest.raises(VersionMismatch):
        operations.update_operation(core, p["Red"], b.operation.id, "stale", circle_draft(10.0, 10.0))
    moved = operations.update_operation(core, p["Red"], b.operation.id, b.operation.version, circle_draft(10.0, 10.0))
    assert moved.conflicts == []
    assert moved.operation.version != b.operation.version
    assert _open_pairs(core, p["Blue"].party_id or "") == set()
    back = operations.update_operation(core, p["Red"], b.operation.id, moved.operation.version, circle_draft(48.0, 2.0))
    assert [c.other_id for c in back.conflicts] == [a.operation.id]


def test_other_partys_operation_is_forbidden_and_unknown_is_not_found(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    with pytest.raises(Forbidden):
        operations.act(core, p["Red"], a.operation.id, "cancel")
    with pytest.raises(NotFound):
        operations.act(core, p["Red"], "no-such-id", "cancel")
    observer = Principal("o", p["Blue"].party_id, "Blue", Role.OBSERVER)
    with pytest.raises(Forbidden):
        operations.file_operation(core, observer, circle_draft(48.0, 2.0))


def test_lifecycle_and_ended_operations_leave_the_picture(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red", hotline=HotlineRules(require_ack=False))
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0))
    with pytest.raises(InvalidTransition):
        operations.act(core, p["Blue"], a.operation.id, "end")
    activated = operations.act(core, p["Blue"], a.operation.id, "activate")
    assert activated.operation.state is OperationState.ACTIVATED
    ended = operations.act(core, p["Blue"], a.operation.id, "end")
    assert ended.operation.state is OperationState.ENDED
    assert _open_pairs(core, p["Red"].party_id or "") == set()
    late = operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0))
    assert late.conflicts == []


def test_late_filing_is_rejected_with_how_late(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    with pytest.raises(NoticeTooLate) as caught:
        operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0, start_h=0.25))
    assert caught.value.extra["late_by_s"] == pytest.approx(900.0)
    assert "late by 15 min 00 s" in caught.value.detail


def test_late_filing_is_flagged_under_flag_policy(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red", late_policy=LatePolicy.FLAG)
    result = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0, start_h=0.25))
    (late,) = result.operation.late_notice
    assert late.late_by_s == pytest.approx(900.0)


def test_concurrent_filings_from_two_processes_always_see_each_other(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """Two service instances (separate in-memory indexes, like two replicas) share one store.

    Many pairs of conflicting filings are fired at the same instant; every stored conflicting
    pair must be in the recorded conflicts, i.e. the later filer was told about the earlier one.
    """
    from deconflict.api.app import build_core

    first = build_core(Settings(database_url=database_url), clock)
    second = build_core(Settings(database_url=database_url), clock, migrate=False)
    p = setup_parties(first, "Blue", "Red")
    rounds = 8
    results: dict[tuple[int, str], operations.FilingResult] = {}
    errors: list[BaseException] = []

    def file(core: Core, who: str, i: int, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            results[(i, who)] = operations.file_operation(core, p[who], circle_draft(40.0 + i, 5.0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for i in range(rounds):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=file, args=(first, "Blue", i, barrier)),
            threading.Thread(target=file, args=(second, "Red", i, barrier)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    for i in range(rounds):
        blue, red = results[(i, "Blue")], results[(i, "Red")]
        told = [c.other_id for c in blue.conflicts] + [c.other_id for c in red.conflicts]
        # exactly one of the two (the later) was told about the other, never neither
        assert sorted(told) == sorted([x for x in (blue.operation.id, red.operation.id) if x in told])
        assert len(told) == 1
    expected = {frozenset((results[(i, "Blue")].operation.id, results[(i, "Red")].operation.id)) for i in range(rounds)}
    assert _open_pairs(first, p["Blue"].party_id or "") == expected
    second.engine.dispose()
    first.engine.dispose()


def test_late_extent_added_by_an_update_is_named_by_its_position(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0))
    soon = circle_draft(48.0, 2.0, start_h=0.25)
    draft = operations.OperationDraft(a.operation.extents + soon.extents, a.operation.private)
    with pytest.raises(NoticeTooLate) as caught:
        operations.update_operation(core, p["Blue"], a.operation.id, a.operation.version, draft)
    assert caught.value.field == "extents[1].time_start"
