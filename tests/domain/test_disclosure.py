"""The one redaction function: what a viewer may see of another party's operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, LatePolicy
from deconflict.domain.disclosure import operation_view
from deconflict.domain.operations import LateNotice, Operation, OperationState, PrivateDetails
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import AltitudeBand, LatLng, Limits, TimeWindow, Volume4D, circle_outline

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)


def _agreement(agreement_id: str, *parties: str) -> Agreement:
    return Agreement(
        agreement_id,
        agreement_id,
        frozenset(parties),
        None,
        1800.0,
        Buffers(0, 0, 0),
        LatePolicy.FLAG,
        AgreementState.ACTIVE,
    )


def _operation() -> Operation:
    volume = Volume4D(
        circle_outline(LatLng(48.0, 2.0), 1000.0, Limits()),
        AltitudeBand(0.0, 300.0),
        TimeWindow(T0, T0 + timedelta(hours=1)),
    )
    late = (LateNotice("with-red", 1800.0, 600.0), LateNotice("with-green", 3600.0, 600.0))
    private = PrivateDetails(("SECRET1",), 2, "purpose")
    return Operation("op", "blue", OperationState.ACCEPTED, (volume,), "v1", private, T0, T0, late)


def test_owner_sees_everything_and_a_counterpart_only_its_own_agreements_late_notices() -> None:
    book = AgreementBook([_agreement("with-red", "blue", "red"), _agreement("with-green", "blue", "green")])
    op = _operation()
    own = operation_view("blue", op, book)
    assert own is not None
    assert own.private == op.private
    assert [x.agreement_id for x in own.late_notice] == ["with-red", "with-green"]
    red = operation_view("red", op, book)
    assert red is not None
    assert red.private is None
    assert [x.agreement_id for x in red.late_notice] == ["with-red"]  # not Blue's terms with Green
    assert operation_view("yellow", op, book) is None
