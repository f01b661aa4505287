"""Filing, changing and ending operations; the dry-run check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from deconflict.domain.conflicts import Conflict, detect
from deconflict.domain.disclosure import OperationView, operation_view
from deconflict.domain.errors import (
    ConflictDetected,
    Forbidden,
    InvalidInput,
    NotFound,
    NoticeTooLate,
    VersionMismatch,
)
from deconflict.domain.hotline import Trigger
from deconflict.domain.notice import check_notice, merge_late
from deconflict.domain.operations import (
    LIVE_STATES,
    LateNotice,
    Operation,
    OperationState,
    PrivateDetails,
    transition,
)
from deconflict.domain.parties import Principal, Role
from deconflict.domain.rules import AgreementBook
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, separation
from deconflict.domain.volumes import (
    ALTITUDE_MAX_M,
    ALTITUDE_MIN_M,
    AltitudeBand,
    Outline,
    TimeWindow,
    Volume4D,
    not_over,
)
from deconflict.services import conflicts as conflict_store
from deconflict.services import notices
from deconflict.services.core import Core, WriteTx, new_id, new_version
from deconflict.services.views import public_operation_doc
from deconflict.storage.codec import volume_to_doc
from deconflict.storage.repository import MAX_ID_FILTER, SqlRepository


@dataclass(frozen=True)
class OperationDraft:
    extents: tuple[Volume4D, ...]
    #: None in an update: keep the operation's private details
    private: PrivateDetails | None
    #: None in an update: keep the operation's state
    state: OperationState | None = OperationState.ACCEPTED


@dataclass(frozen=True)
class FilingResult:
    operation: Operation
    conflicts: list[Conflict]


@dataclass(frozen=True)
class CheckResult:
    conflicts: list[Conflict]
    late_notice: tuple[LateNotice, ...]
    notice_error: str | None


def _operator(principal: Principal) -> str:
    if principal.party_id is None or not principal.at_least(Role.OPERATOR):
        raise Forbidden("filing and changing operations needs an operator or supervisor token of a party")
    return principal.party_id


def _check_initial_state(state: OperationState | None) -> OperationState:
    if state not in (OperationState.PROPOSED, OperationState.ACCEPTED):
        raise InvalidInput("an operation is filed as 'proposed' or 'accepted'", field="state")
    return state


def _reject_if(conflicts: list[Conflict], reject_on_conflict: bool) -> None:
    if reject_on_conflict and conflicts:
        raise ConflictDetected(
            f"{len(conflicts)} conflict(s) with other parties' activity; nothing was stored",
            extra={"conflicts": [conflict_store.conflict_doc(c) for c in conflicts]},
        )


def file_operation(
    core: Core, principal: Principal, draft: OperationDraft, reject_on_conflict: bool = False
) -> FilingResult:
    party_id = _operator(principal)
    state = _check_initial_state(draft.state)
    if draft.private is None:
        raise InvalidInput("a new operation needs its private details (they may be empty)", field="private")
    with core.write(principal) as tx:
        late = check_notice(party_id, draft.extents, tx.now, tx.book)
        op = Operation(
            id=new_id(),
            party_id=party_id,
            state=state,
            extents=draft.extents,
            version=new_version(),
            private=draft.private,
            created_at=tx.now,
            updated_at=tx.now,
            late_notice=late,
        )
        found = detect(party_id, op.extents, core.index, tx.book, exclude=("operation", op.id))
        _reject_if(found, reject_on_conflict)
        _store(core, tx, op, Trigger.FILED, found)
    return FilingResult(op, found)


def _store(
    core: Core, tx: WriteTx, op: Operation, trigger: Trigger, found: list[Conflict] | None = None
) -> list[Conflict]:
    """Save, record conflicts, notify counterparts and append the audit entry: one transaction.
    `found`: the operation's conflicts, when the caller has just detected them (the index does not
    change before commit, so detecting again would find the same)."""
    new = trigger is Trigger.FILED
    tx.repo.save_operation(op, tx.revision, new=new)
    # A new filing has no recorded conflicts to clear (nothing can name an id just made).
    found, recorded = conflict_store.refresh_operation(core, tx, op, clear=not new, found=found)
    told = notices.counterparts(tx, op)
    # Only what every listed party may see: the public view. Private details stay out of the chain
    # (an unsalted digest of them would let a counterpart confirm a guessed callsign). The change
    # is recorded before the notices that announce it.
    doc = {"operation": public_operation_doc(operation_view(op.party_id, op, None) or _never())}
    tx.audit(f"operation.{trigger.value}", ("operation", op.id), doc, [op.party_id, *told])
    tx.emit(op.party_id, f"operation.{trigger.value}", {"operation_id": op.id, "version": op.version})
    notices.issue(core, tx, op, trigger, told, recorded)
    tx.reindex_operation(op)
    return found


def _never() -> Any:
    raise AssertionError("the owner always sees its own operation")


def _owned(tx_repo: SqlRepository, book: AgreementBook, principal: Principal, op_id: str) -> Operation:
    """The caller's own operation; 403 if it is a visible counterpart's, 404 if invisible or unknown."""
    party_id = _operator(principal)
    op = tx_repo.operation(op_id)
    if op is None:
        raise NotFound(f"no operation {op_id}", field="operation_id")
    if op.party_id != party_id:
        if operation_view(party_id, op, book) is None:
            raise NotFound(f"no operation {op_id}", field="operation_id")
        raise Forbidden("this operation belongs to another party")
    return op


def _check_version(op: Operation, version: str | None) -> None:
    if version is None:
        raise InvalidInput("the current version must be given", field="version")
    if version != op.version:
        raise VersionMismatch(
            f"version {version!r} is stale; the operation is now at version {op.version!r}",
            field="version",
            extra={"current_version": op.version},
        )


def update_operation(
    core: Core,
    principal: Principal,
    op_id: str,
    version: str | None,
    draft: OperationDraft,
    reject_on_conflict: bool = False,
) -> FilingResult:
    with core.write(principal) as tx:
        op = _owned(tx.repo, tx.book, principal, op_id)
        _check_version(op, version)
        if not op.live:
            raise InvalidInput(f"an operation that is {op.state.value} cannot be changed", field="state")
        state = op.state
        if draft.state is not None and draft.state != op.state:
            if not (op.state is OperationState.PROPOSED and draft.state is OperationState.ACCEPTED):
                raise InvalidInput(
                    "state may only change from proposed to accepted in an update; use activate/end/cancel",
                    field="state",
                )
            state = draft.state
        changed = _changed(op, draft.extents, tx.now)
        late = check_notice(op.party_id, [v for _, v in changed], tx.now, tx.book, [i for i, _ in changed])
        updated = replace(
            op,
            state=state,
            extents=draft.extents,
            private=op.private if draft.private is None else draft.private,
            version=new_version(),
            updated_at=tx.now,
            late_notice=merge_late(op.late_notice, late),
        )
        found = detect(op.party_id, updated.extents, core.index, tx.book, exclude=("operation", op.id))
        _reject_if(found, reject_on_conflict)
        _store(core, tx, updated, Trigger.CHANGED, found)
    return FilingResult(updated, found)


def _key(volume: Volume4D) -> str:
    return repr(sorted(volume_to_doc(volume).items()))


def _changed(op: Operation, extents: Sequence[Volume4D], now: datetime) -> list[tuple[int, Volume4D]]:
    """The extents (with their positions) that `op` does not already have: only these are judged again
    (one that has ended may be sent back unchanged; a changed one may not end in the past)."""
    existing = {_key(v) for v in op.extents}
    changed = [(i, v) for i, v in enumerate(extents) if _key(v) not in existing]
    for i, v in changed:
        not_over(v.time, now, f"extents[{i}]")
    return changed


def act(core: Core, principal: Principal, op_id: str, action: str, version: str | None = None) -> FilingResult:
    """activate / end / cancel; `version`, when given, must be current."""
    with core.write(principal) as tx:
        op = _owned(tx.repo, tx.book, principal, op_id)
        if version is not None:
            _check_version(op, version)
        updated = replace(op, state=transition(op.state, action), version=new_version(), updated_at=tx.now)
        if action == "activate":
            notices.check_activation(tx, op)
        found = _store(core, tx, updated, _TRIGGERS[action])
    return FilingResult(updated, found)


_TRIGGERS = {"activate": Trigger.ACTIVATED, "end": Trigger.ENDED, "cancel": Trigger.CANCELLED}


def check(
    core: Core, principal: Principal, extents: Sequence[Volume4D], operation_id: str | None = None
) -> CheckResult:
    """Dry run: the conflicts and notice problems a filing would meet now (or, with `operation_id`, an
    update of that own operation to `extents`, whose unchanged extents are not judged again); stores
    nothing."""
    if principal.party_id is None:
        raise Forbidden("a dry-run check needs a party token")
    party_id = principal.party_id
    with core.read(fresh_index=True) as repo:
        book = core.book(repo)
        now = core.clock.now()
        judged = list(enumerate(extents))
        exclude: tuple[str, str] | None = None
        if operation_id is not None:
            op = _owned(repo, book, principal, operation_id)
            judged, exclude = _changed(op, extents, now), ("operation", op.id)
        found = detect(party_id, extents, core.index, book, exclude=exclude)
        try:
            late = check_notice(party_id, [v for _, v in judged], now, book, [i for i, _ in judged])
            error = None
        except NoticeTooLate as exc:  # reported, not raised, in a dry run
            late, error = (), str(exc)
    return CheckResult(found, late, error)


def get_operation(core: Core, principal: Principal, op_id: str) -> OperationView:
    with core.read() as repo:
        op = repo.operation(op_id)
        view = (
            None
            if op is None or principal.party_id is None
            else operation_view(principal.party_id, op, core.book(repo))
        )
    if view is None:
        raise NotFound(f"no operation {op_id}", field="operation_id")
    return view


@dataclass(frozen=True)
class OperationQuery:
    area: Outline | None = None
    time_start: datetime | None = None
    time_end: datetime | None = None
    states: tuple[OperationState, ...] = ()
    party_id: str | None = None
    limit: int = 100


def list_operations(core: Core, principal: Principal, q: OperationQuery) -> list[OperationView]:
    """Visible operations, newest first. An area query on live states is answered through the index."""
    if principal.party_id is None:
        raise Forbidden("listing operations needs a party token")
    viewer = principal.party_id
    use_index = q.area is not None and (not q.states or set(q.states) <= LIVE_STATES)
    views: list[OperationView] = []
    ids: set[str] | None = None
    if use_index:  # the index part holds the process lock; paging through the store does not
        with core.read(fresh_index=True) as repo:
            ids = _ids_in_area(core, q, _visible_parties(core.book(repo), viewer, q))
    with core.read() as repo:
        book = core.book(repo)
        parties = _visible_parties(book, viewer, q)
        offset = 0
        while len(views) < q.limit:
            page = repo.operations(
                party_ids=parties,
                states=q.states or None,
                time_start=q.time_start,
                time_end=q.time_end,
                ids=ids,
                limit=_PAGE,
                offset=offset,
            )
            views.extend(v for v in (_visible(viewer, op, book, q.area) for op in page) if v is not None)
            if len(page) < _PAGE:
                break
            offset += _PAGE
    return views[: q.limit]


_PAGE = 500


def _visible_parties(book: AgreementBook, viewer: str, q: OperationQuery) -> set[str]:
    parties = {viewer} | book.counterparts(viewer)
    return parties & {q.party_id} if q.party_id is not None else parties


def _ids_in_area(core: Core, q: OperationQuery, parties: set[str]) -> set[str] | None:
    assert q.area is not None
    probe = Volume4D(q.area, AltitudeBand(ALTITUDE_MIN_M, ALTITUDE_MAX_M), TimeWindow(q.time_start, q.time_end))
    entries = core.index.candidates(probe, lateral_m=0.0, vertical_m=0.0, time_s=0.0)
    ids = {e.owner_id for e in entries if e.owner_kind == "operation" and e.party_id in parties}
    # A huge area matches too many ids for one IN list: then page through the store instead.
    return ids if len(ids) <= MAX_ID_FILTER else None


def _visible(viewer: str, op: Operation, book: AgreementBook, area: Outline | None) -> OperationView | None:
    if area is not None and not any(
        separation(area, v.outline, 0.0).distance_m <= DISTANCE_TOLERANCE_M for v in op.extents
    ):
        return None
    return operation_view(viewer, op, book)
