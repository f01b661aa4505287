"""The demo scenario: both parties see activity, zones and at least one conflict, with private details kept."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from deconflict.demo import seed
from deconflict.domain.clock import ManualClock
from deconflict.services import conflicts, messages, notices
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


def test_demo_shows_the_hotline_at_work(api_core: Core, clock: ManualClock) -> None:
    seeded = seed(api_core)
    red = authenticate(api_core, seeded.red_token)
    blue = authenticate(api_core, seeded.blue_token)
    assert red is not None
    assert blue is not None
    everything = notices.NoticeQuery(direction="all", limit=1000)
    docs = notices.list_notices(api_core, red, everything)
    by_status = Counter(d["status"] for d in docs)
    assert by_status["acknowledged"] >= 10
    assert by_status["objection"] == 1
    # Not yet overdue: the server's first scheduler round does that; and Red's last filing, just sent.
    assert by_status["pending"] == 2
    assert len(docs) == seeded.notices_sent
    (waiting,) = notices.list_notices(api_core, blue, notices.NoticeQuery(direction="in", status="pending"))
    assert datetime.fromisoformat(waiting["deadline_at"]) - clock.now() > timedelta(minutes=9)
    assert waiting["conflicts"]
    # The scripted history ends before the real time, so the unanswered notice's deadline has passed.
    assert all(datetime.fromisoformat(d["sent_at"]) <= clock.now() for d in docs)
    assert notices.escalate_due(api_core) == 1
    escalated = notices.list_notices(api_core, blue, notices.NoticeQuery(direction="out", status="overdue"))
    assert [d["escalations"] for d in escalated] == [1]
    sent = messages.list_messages(api_core, blue)
    assert any(m["read_at"] for m in sent)


def test_demo_flights_raise_each_kind_of_alert_within_a_minute(api_core: Core, clock: ManualClock) -> None:
    from deconflict.demo_flights import DemoFlights
    from deconflict.domain.operations import OperationState
    from deconflict.services import operations
    from deconflict.services.live import LiveMonitor

    seeded = seed(api_core)
    flights = DemoFlights(api_core, seeded.blue, seeded.red)
    monitor = LiveMonitor(api_core)
    raised: dict[str, set[str]] = {}
    for _ in range(60):
        assert flights.step() == 4
        for change in monitor.cycle().transitions:
            if change.change.value == "raised":
                kind = str(change.alert.key).split("|")[0]
                raised.setdefault(kind, set()).add(str(change.alert.key))
        clock.advance(1)
    assert set(raised) == {"loss_of_separation", "intrusion", "nonconformance"}
    op = operations.get_operation(api_core, seeded.red, seeded.live_operation_id)
    assert op.state is OperationState.NONCONFORMING
