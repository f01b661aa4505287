"""Which agreements apply between two parties (`deconflict.domain.rules`)."""

from __future__ import annotations

import itertools

import pytest

from deconflict.domain.agreements import AgreementState, Buffers
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import LatLng, circle_outline
from tests.domain.test_conflicts import LIMITS, SUBJECT, agreement

FAR = circle_outline(LatLng(-30.0, 150.0), 5_000.0, LIMITS)


def test_between_parties_is_between_for_any_outlines_without_areas() -> None:
    """Each pair of parties, both ways: the answer `between` gives for two outlines, whichever they are."""
    book = AgreementBook(
        [
            agreement("ab", "A", "B", buffers=Buffers(500.0, 50.0, 60.0)),
            agreement("abc", "A", "B", "C", buffers=Buffers(200.0, 300.0, 30.0)),
            agreement("cd", "C", "D"),
            agreement("ae", "A", "E", state=AgreementState.PENDING),
        ]
    )
    for a, b in itertools.product("ABCDEZ", repeat=2):
        expected = book.between(a, b, SUBJECT, FAR)
        assert book.between(a, b, FAR, SUBJECT) == expected
        assert book.between_parties(a, b) == expected
        assert book.between_parties(a, b) == expected  # and again, from what it kept
    widest = book.between_parties("A", "B")
    assert widest is not None
    assert widest.agreement_ids == ("ab", "abc")
    assert widest.buffers == Buffers(500.0, 300.0, 60.0)
    assert book.between_parties("A", "E") is None  # a pending agreement binds nobody
    assert book.between_parties("A", "A") is None


def test_between_parties_refuses_an_agreement_with_an_area() -> None:
    book = AgreementBook([agreement("ab", "A", "B", area=SUBJECT), agreement("ac", "A", "C")])
    assert book.between_parties("A", "C") is not None
    with pytest.raises(ValueError, match="ab has an area of interest"):
        book.between_parties("A", "B")
