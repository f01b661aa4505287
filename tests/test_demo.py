"""The demo scenario: both parties see activity, zones and at least one conflict, with private details kept."""

from __future__ import annotations

from deconflict.demo import seed
from deconflict.domain.clock import ManualClock
from deconflict.services import conflicts
from deconflict.services.core import Core
from deconflict.services.parties import authenticate


def test_demo_seed_gives_a_newcomer_something_to_see(api_core: Core, clock: ManualClock) -> None:
    seeded = seed(api_core)
    blue = authenticate(api_core, seeded.blue_token)
    red = authenticate(api_core, seeded.red_token)
    assert blue is not None
    assert red is not None
    assert authenticate(api_core, seeded.admin_token) is not None
    with api_core.read() as repo:
        ops = repo.operations()
        assert len(ops) >= 20
        assert {o.party_id for o in ops} == {blue.party_id, red.party_id}
        assert len(repo.zones()) >= 2
        for who in (blue, red):
            assert conflicts.open_for_party(repo, who.party_id or "")
    assert seeded.conflicts_filed >= 1
