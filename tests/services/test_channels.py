"""Channel health on the manual clock: signs of life, degraded after 120 s, back to ok, told to both sides."""

from __future__ import annotations

from typing import Any

import pytest

from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal, Role
from deconflict.services import channels, parties
from deconflict.services.core import Core
from deconflict.storage import journal
from tests.services.helpers import ADMIN, setup_parties


def pid(principal: Principal) -> str:
    assert principal.party_id is not None
    return principal.party_id


def channel_events(core: Core, principal: Principal) -> list[dict[str, Any]]:
    with core.read() as repo:
        return [r.data for r in journal.events_after(repo.session, pid(principal), 0, 10_000) if r.kind == "channel"]


def channel_entries(core: Core) -> list[tuple[str, str, tuple[str, ...]]]:
    with core.read() as repo:
        return [
            (e.action, e.subject_id, e.parties)
            for e in journal.iter_entries(repo.session)
            if e.action.startswith("channel.")
        ]


@pytest.fixture
def p(core: Core) -> dict[str, Principal]:
    out = setup_parties(core, "Blue", "Red")
    grey, _ = parties.create_party(core, "Grey")
    out["Grey"] = Principal("t-Grey", grey.id, "Grey", Role.SUPERVISOR)
    return out


def states(core: Core, principal: Principal) -> list[tuple[str, str, str]]:
    return [(c["counterpart"]["name"], c["state"], c["own_state"]) for c in channels.list_channels(core, principal)]


def test_a_party_never_seen_is_degraded_and_nothing_is_announced(core: Core, p: dict[str, Principal]) -> None:
    assert states(core, p["Blue"]) == [("Red", "degraded", "degraded")]
    assert states(core, p["Grey"]) == []  # no agreement, no channel
    assert channels.refresh_states(core) == 0
    assert channel_events(core, p["Blue"]) == []
    assert channel_entries(core) == []


def test_degraded_after_120_s_without_a_sign_of_life_and_back(
    core: Core, clock: ManualClock, p: dict[str, Principal]
) -> None:
    blue, red = pid(p["Blue"]), pid(p["Red"])
    channels.touch(core, red)
    assert states(core, p["Blue"]) == [("Red", "ok", "degraded")]
    assert states(core, p["Red"]) == [("Blue", "degraded", "ok")]
    assert channels.refresh_states(core) == 1
    assert channels.refresh_states(core) == 0  # nothing changed: no event
    ok = {"party_id": red, "party": "Red", "state": "ok", "last_seen_at": clock.now().isoformat()}
    assert channel_events(core, p["Blue"]) == channel_events(core, p["Red"]) == [ok]
    assert channel_events(core, p["Grey"]) == []

    clock.advance(120)
    assert channels.refresh_states(core) == 0
    assert states(core, p["Blue"]) == [("Red", "ok", "degraded")]
    clock.advance(1)
    assert states(core, p["Blue"]) == [("Red", "degraded", "degraded")]
    assert channels.refresh_states(core) == 1
    assert channels.refresh_states(core) == 0
    degraded = {**ok, "state": "degraded"}
    assert channel_events(core, p["Blue"]) == channel_events(core, p["Red"]) == [ok, degraded]

    channels.touch(core, red)
    assert channels.refresh_states(core) == 1
    back = {**ok, "last_seen_at": clock.now().isoformat()}
    assert channel_events(core, p["Blue"])[-1] == back
    parties_of = tuple(sorted([blue, red]))
    assert channel_entries(core) == [
        ("channel.ok", red, parties_of),
        ("channel.degraded", red, parties_of),
        ("channel.ok", red, parties_of),
    ]


def test_regular_signs_of_life_keep_the_channel_ok(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    channels.touch(core, pid(p["Blue"]))
    assert channels.refresh_states(core) == 1
    for _ in range(10):
        clock.advance(100)
        channels.touch(core, pid(p["Blue"]))
        assert channels.refresh_states(core) == 0
    assert states(core, p["Red"]) == [("Blue", "ok", "degraded")]
    assert len(channel_events(core, p["Red"])) == 1


def test_both_parties_changing_at_once(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    channels.touch(core, pid(p["Blue"]))
    channels.touch(core, pid(p["Red"]))
    assert channels.refresh_states(core) == 2
    clock.advance(121)
    assert channels.refresh_states(core) == 2
    for name in ("Blue", "Red"):
        told = [(e["party"], e["state"]) for e in channel_events(core, p[name])]
        assert sorted(told[:2]) == [("Blue", "ok"), ("Red", "ok")]
        assert sorted(told[2:]) == [("Blue", "degraded"), ("Red", "degraded")]


def test_a_party_without_agreements_is_told_only_itself(
    core: Core, clock: ManualClock, p: dict[str, Principal]
) -> None:
    channels.touch(core, pid(p["Grey"]))
    assert channels.refresh_states(core) == 1
    assert [e["state"] for e in channel_events(core, p["Grey"])] == ["ok"]
    assert channel_events(core, p["Blue"]) == []
    assert channel_entries(core) == [("channel.ok", pid(p["Grey"]), (pid(p["Grey"]),))]


def test_custom_degraded_after(core: Core, clock: ManualClock, p: dict[str, Principal]) -> None:
    core.degraded_after_s = 20.0
    channels.touch(core, pid(p["Red"]))
    clock.advance(20)
    assert states(core, p["Blue"]) == [("Red", "ok", "degraded")]
    clock.advance(0.5)
    assert states(core, p["Blue"]) == [("Red", "degraded", "degraded")]


def test_channels_belong_to_parties(core: Core) -> None:
    with pytest.raises(Forbidden):
        channels.list_channels(core, ADMIN)
