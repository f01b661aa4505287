"""Agreements: admin-created are active; supervisor-proposed wait for every member; activation finds conflicts."""

from __future__ import annotations

import pytest

from deconflict.domain.agreements import AgreementState, Buffers, LatePolicy
from deconflict.domain.errors import Forbidden, InvalidInput, NotFound
from deconflict.domain.parties import Principal, Role
from deconflict.services import agreements, conflicts, operations, parties
from deconflict.services.core import Core
from tests.services.helpers import ADMIN, circle_draft


def _draft(*names: str) -> agreements.AgreementDraft:
    return agreements.AgreementDraft("pact", names, None, 1800.0, Buffers(1852.0, 152.4, 300.0), LatePolicy.REJECT)


def _supervisor(core: Core, name: str) -> Principal:
    party, _ = parties.create_party(core, name)
    return Principal("t", party.id, name, Role.SUPERVISOR)


def test_without_agreement_parties_never_conflict(core: Core) -> None:
    blue, red = _supervisor(core, "Blue"), _supervisor(core, "Red")
    operations.file_operation(core, blue, circle_draft(48.0, 2.0))
    assert operations.file_operation(core, red, circle_draft(48.0, 2.0)).conflicts == []


def test_proposed_agreement_activates_when_all_accept_and_finds_existing_conflicts(core: Core) -> None:
    blue, red = _supervisor(core, "Blue"), _supervisor(core, "Red")
    operations.file_operation(core, blue, circle_draft(48.0, 2.0))
    operations.file_operation(core, red, circle_draft(48.0, 2.0))
    record = agreements.create_agreement(core, blue, _draft("Blue", "Red"))
    assert record.agreement.state is AgreementState.PENDING
    with core.read() as repo:
        assert conflicts.open_for_party(repo, red.party_id or "") == []
    accepted = agreements.accept_agreement(core, red, record.agreement.id)
    assert accepted.agreement.state is AgreementState.ACTIVE
    with core.read() as repo:
        assert len(conflicts.open_for_party(repo, red.party_id or "")) == 1
        assert len(conflicts.open_for_party(repo, blue.party_id or "")) == 1


def test_agreement_rules(core: Core) -> None:
    blue = _supervisor(core, "Blue")
    _supervisor(core, "Red")
    _supervisor(core, "Green")
    with pytest.raises(InvalidInput):
        agreements.create_agreement(core, ADMIN, _draft("Blue", "Blue"))
    with pytest.raises(NotFound):
        agreements.create_agreement(core, ADMIN, _draft("Blue", "Nobody"))
    with pytest.raises(Forbidden):
        agreements.create_agreement(core, blue, _draft("Red", "Green"))
    operator = Principal("t", blue.party_id, "Blue", Role.OPERATOR)
    with pytest.raises(Forbidden):
        agreements.create_agreement(core, operator, _draft("Blue", "Red"))
