"""Minimal disclosure: the single function deciding what a party may see of another's activity.

Every endpoint that returns an operation or a conflict passes it through `operation_view`.
A counterpart sees geometry, time, state, owner and version; never the private details.
"""

from __future__ import annotations

from dataclasses import dataclass

from deconflict.domain.operations import LateNotice, Operation, OperationState, PrivateDetails
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import Volume4D


@dataclass(frozen=True)
class OperationView:
    id: str
    party_id: str
    state: OperationState
    version: str
    extents: tuple[Volume4D, ...]
    late_notice: tuple[LateNotice, ...]
    #: Present only when the viewer owns the operation.
    private: PrivateDetails | None


def operation_view(viewer_party_id: str, op: Operation, book: AgreementBook | None) -> OperationView | None:
    """What `viewer_party_id` may see of `op`, or None if it may not see it at all.

    `book` may be None only when the viewer is the owner.
    """
    own = viewer_party_id == op.party_id
    if not own and (
        book is None or not book.shares_area(viewer_party_id, op.party_id, (e.outline for e in op.extents))
    ):
        return None
    late = op.late_notice
    if not own:  # only the late notices under agreements the viewer is party to
        assert book is not None
        shared = {a.id for a in book.of_party(viewer_party_id) if op.party_id in a.party_ids}
        late = tuple(x for x in late if x.agreement_id in shared)
    return OperationView(
        id=op.id,
        party_id=op.party_id,
        state=op.state,
        version=op.version,
        extents=op.extents,
        late_notice=late,
        private=op.private if own else None,
    )
