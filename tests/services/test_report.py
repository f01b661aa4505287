"""The after-action report built from a scripted hotline scenario on both backends."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.audit import digest
from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import InvalidInput, NotFound
from deconflict.domain.hotline import Decision
from deconflict.domain.operations import PrivateDetails
from deconflict.domain.parties import Principal, Role
from deconflict.domain.track_input import ReportLimits
from deconflict.report_html import render
from deconflict.services import agreements, audit, messages, notices, operations, parties
from deconflict.services import report as report_service
from deconflict.services.core import Core
from deconflict.services.operations import OperationDraft
from deconflict.services.report import Context, ReportQuery, build
from deconflict.storage import journal
from tests.conftest import T0
from tests.services.helpers import ADMIN, circle_draft, setup_parties

PRIVATE = {
    "Blue": PrivateDetails(("BLUE-CS1", "BLUE-CS2"), 4, "blue private purpose"),
    "Red": PrivateDetails(("RED-CS",), 2, "red private purpose"),
    "Green": PrivateDetails(("GREEN-CS",), 3, "green private purpose"),
}


def _draft(owner: str, lat: float, lng: float, start_h: float = 2.0) -> OperationDraft:
    return replace(circle_draft(lat, lng, start_h=start_h), private=PRIVATE[owner])


@dataclass
class Scenario:
    p: dict[str, Principal]
    ids: dict[str, str]
    signer: audit.Signer


def _notice_to(core: Core, sender: Principal, to: Principal, op_id: str) -> str:
    mine = notices.list_notices(core, to, notices.NoticeQuery(direction="in", operation_id=op_id))
    assert len(mine) == 1, mine
    assert mine[0]["from_party_id"] == sender.party_id
    return str(mine[0]["id"])


@pytest.fixture
def scenario(core: Core, clock: ManualClock, tmp_path: Path) -> Scenario:
    """Blue, Red and Green; Blue shares an agreement with each of the others, Red and Green share none.

    T0+1 min    Blue files A (starts T0+2 h): notices to Red and Green
    T0+3 min    Red acknowledges A (response 2 min)
    T0+5 min    Blue files B starting at T0+20 min (lead 15 min < 30 min required: late, flagged)
    T0+8 min    Red files C over A: conflict, notice to Blue
    T0+9 min    Blue objects to C
    T0+16 min   Red acknowledges B after 11 min (deadline 10 min: answered late)
    T0+17 min   Green's notices of A and B are escalated (overdue); messages Blue -> Red, Blue -> Green
    """
    p = setup_parties(core, "Blue", "Red", late_policy=LatePolicy.FLAG, hotline=HotlineRules(ack_deadline_s=600.0))
    green, _ = parties.create_party(core, "Green")
    p["Green"] = Principal("t-Green", green.id, "Green", Role.SUPERVISOR)
    draft = agreements.AgreementDraft(
        "blue-green", ("Blue", "Green"), None, 1800.0, Buffers(1852.0, 152.4, 300.0), LatePolicy.FLAG, HotlineRules()
    )
    agreements.create_agreement(core, ADMIN, draft)
    ids: dict[str, str] = {}
    clock.advance(60)
    ids["A"] = operations.file_operation(core, p["Blue"], _draft("Blue", 48.0, 2.0)).operation.id
    ids["nA_red"] = _notice_to(core, p["Blue"], p["Red"], ids["A"])
    ids["nA_green"] = _notice_to(core, p["Blue"], p["Green"], ids["A"])
    clock.advance(120)
    notices.answer(core, p["Red"], ids["nA_red"], Decision.ACKNOWLEDGED, None)
    clock.advance(120)
    ids["B"] = operations.file_operation(core, p["Blue"], _draft("Blue", 48.5, 2.5, start_h=1 / 3)).operation.id
    ids["nB_red"] = _notice_to(core, p["Blue"], p["Red"], ids["B"])
    clock.advance(180)
    ids["C"] = operations.file_operation(core, p["Red"], _draft("Red", 48.02, 2.0)).operation.id
    ids["nC_blue"] = _notice_to(core, p["Red"], p["Blue"], ids["C"])
    clock.advance(60)
    notices.answer(core, p["Blue"], ids["nC_blue"], Decision.OBJECTION, "our tanker track crosses there")
    clock.advance(420)
    notices.answer(core, p["Red"], ids["nB_red"], Decision.ACKNOWLEDGED, None)
    clock.advance(60)
    assert notices.escalate_due(core) == 2  # Green's two notices (Red's and Blue's were answered)
    messages.send(core, p["Blue"], messages.MessageDraft(p["Red"].party_id or "", "Confirm your block over A?"))
    messages.send(core, p["Blue"], messages.MessageDraft(p["Green"].party_id or "", "Green channel only"))
    signer = audit.Signer.load_or_create(tmp_path / "key.pem")
    audit.checkpoint(core, signer)
    return Scenario(p, ids, signer)


def _window(hours: float = 3.0) -> tuple[Any, Any]:
    return T0, T0 + timedelta(hours=hours)


def _report(core: Core, s: Scenario, party: str | None = None, hours: float = 3.0) -> dict[str, Any]:
    return build(core, ReportQuery(*_window(hours), party), s.signer.public_key_hex)


def _notice(report: dict[str, Any], notice_id: str) -> dict[str, Any]:
    (found,) = [n for n in report["notices"] if n["id"] == notice_id]
    return found


def test_timeline_is_in_time_and_chain_order(core: Core, scenario: Scenario) -> None:
    report = _report(core, scenario)
    timeline = report["timeline"]
    keys = [(t["at"], 0 if t["seq"] is not None else 1, t["seq"] or 0) for t in timeline]
    assert keys == sorted(keys)
    seqs = [t["seq"] for t in timeline if t["seq"] is not None]
    assert seqs == sorted(seqs)
    categories = {t["category"] for t in timeline}
    expected = {"filing", "notice", "acknowledgement", "objection", "escalation", "message", "conflict"}
    assert expected <= categories
    # The objection carries its reason; a conflict line exists for the conflict C made with A.
    (objection,) = [t for t in timeline if t["action"] == "notice.objection"]
    assert objection["detail"]["reason"] == "our tanker track crosses there"
    assert objection["actor"] == "Blue"
    assert any(t["action"] == "conflict.found" for t in timeline)


def test_lead_and_response_times_and_flags(core: Core, scenario: Scenario) -> None:
    report = _report(core, scenario)
    ids = scenario.ids
    a_red = _notice(report, ids["nA_red"])
    assert a_red["lead_time_s"] == pytest.approx(2 * 3600 - 60)
    assert a_red["response_time_s"] == pytest.approx(120)
    assert (a_red["late"], a_red["overdue"], a_red["decision"]) == (False, False, "acknowledged")
    b_red = _notice(report, ids["nB_red"])
    assert b_red["lead_time_s"] == pytest.approx(20 * 60 - 5 * 60)
    assert b_red["required_notice_s"] == pytest.approx(1800)
    assert b_red["late"] is True
    assert b_red["response_time_s"] == pytest.approx(11 * 60)
    assert b_red["answered_late"] is True
    assert b_red["overdue"] is True
    green = _notice(report, ids["nA_green"])
    assert (green["status"], green["escalations"], green["overdue"], green["response_time_s"]) == (
        "overdue",
        1,
        True,
        None,
    )
    c_blue = _notice(report, ids["nC_blue"])
    assert (c_blue["decision"], c_blue["reason"], c_blue["conflicts"]) == (
        "objection",
        "our tanker track crosses there",
        1,
    )
    # Timeline lines of flagged notices are flagged too.
    sent_b = [t for t in report["timeline"] if t["action"] == "notice.sent" and t["subject"]["id"] == ids["nB_red"]]
    assert sent_b[0]["late"]
    assert sent_b[0]["overdue"]
    summary = report["summary"]
    assert summary["notices"] == 5
    assert (summary["late_notices"], summary["overdue_notices"]) == (2, 3)  # B to Red and to Green are late
    assert (summary["acknowledged"], summary["objections"], summary["unanswered"]) == (2, 1, 2)
    assert (summary["escalations"], summary["messages"], summary["conflicts"]) == (2, 2, 1)
    assert summary["median_response_time_s"] == pytest.approx(120)


def test_chain_head_checkpoint_and_verdict(core: Core, scenario: Scenario) -> None:
    report = _report(core, scenario)
    with core.read() as repo:
        head = journal.audit_head(repo.session)
        cp = journal.latest_checkpoint(repo.session)
    assert head is not None
    assert cp is not None
    assert report["audit"]["head"] == {"seq": head[0], "hash": head[1]}
    assert report["audit"]["checkpoint"] == cp.to_doc()
    assert report["audit"]["checkpoint"]["key_id"] == scenario.signer.key_id
    assert report["audit"]["entries_after_checkpoint"] == 0
    verdict = report["audit"]["verification"]
    assert verdict["ok"] is True
    assert verdict["head_hash"] == head[1]
    assert verdict["notes"] == []  # the signature was checked with the public key
    # Each timeline line names the chain entry it comes from.
    with core.read() as repo:
        by_seq = {e.seq: e.entry_hash for e in journal.iter_entries(repo.session)}
    assert all(by_seq[t["seq"]] == t["entry_hash"] for t in report["timeline"] if t["seq"] is not None)
    body = {k: v for k, v in report.items() if k != "digest"}
    assert report["digest"] == digest(body)


def test_party_report_shows_only_its_exchanges(core: Core, scenario: Scenario) -> None:
    report = _report(core, scenario, party="Red")
    green_id = scenario.p["Green"].party_id
    text = json.dumps(report)
    assert report["party"] == {"id": scenario.p["Red"].party_id, "name": "Red"}
    assert sorted(report["parties"].values()) == ["Blue", "Red"]
    assert "Green" not in text
    assert green_id not in text
    assert {n["id"] for n in report["notices"]} == {scenario.ids[k] for k in ("nA_red", "nB_red", "nC_blue")}
    assert [m["body"] for m in report["messages"]] == ["Confirm your block over A?"]
    assert not [t for t in report["timeline"] if t["category"] == "escalation"]
    assert {o["id"] for o in report["operations"]} == {scenario.ids[k] for k in ("A", "B", "C")}
    # Filings in the chain carry only the public view: no conflict count that could name third parties.
    filings = {t["subject"]["id"]: t["detail"] for t in report["timeline"] if t["category"] == "filing"}
    assert "conflicts" not in filings[scenario.ids["A"]]
    assert "conflicts" not in filings[scenario.ids["C"]]


@pytest.mark.parametrize("party", [None, "Blue", "Red", "Green"])
def test_no_private_details_in_any_report(core: Core, scenario: Scenario, party: str | None) -> None:
    text = json.dumps(_report(core, scenario, party=party))
    for details in PRIVATE.values():
        for secret in (*details.callsigns, details.purpose or ""):
            assert secret not in text
    for key in ("callsigns", "aircraft_count", "purpose", "private_digest", "private"):
        assert f'"{key}"' not in text


def test_map_volumes_are_the_recorded_versions(core: Core, scenario: Scenario) -> None:
    report = _report(core, scenario)
    ops = {o["id"]: o for o in report["operations"]}
    assert set(ops) == {scenario.ids[k] for k in ("A", "B", "C")}
    circle = ops[scenario.ids["A"]]["extents"][0]["volume"]["outline_circle"]
    assert (circle["center"], circle["radius"]["value"]) == ({"lat": 48.0, "lng": 2.0}, 3000.0)
    assert ops[scenario.ids["C"]]["party"] == "Red"
    assert report["conflicts"][0]["overlap"]["type"] in ("Polygon", "MultiPolygon")


def test_window_bounds_what_is_reported(core: Core, scenario: Scenario) -> None:
    # Up to T0+6 min: A, its answer and B's filing; not C, the objection, the escalations or messages.
    report = _report(core, scenario, hours=0.1)
    actions = [t["action"] for t in report["timeline"]]
    assert "notice.objection" not in actions
    assert "notice.escalated" not in actions
    assert report["messages"] == []
    assert report["conflicts"] == []
    assert {n["operation_id"] for n in report["notices"]} == {scenario.ids["A"], scenario.ids["B"]}
    assert all(T0.isoformat() <= t["at"] <= (T0 + timedelta(minutes=6)).isoformat() for t in report["timeline"])


def test_unknown_party_and_reversed_window_are_refused(core: Core, scenario: Scenario) -> None:
    with pytest.raises(NotFound, match="Purple"):
        build(core, ReportQuery(*_window(), "Purple"))
    start, end = _window()
    with pytest.raises(InvalidInput, match="after it ends"):
        build(core, ReportQuery(end, start))


def test_a_tampered_chain_is_reported_as_such(core: Core, scenario: Scenario) -> None:
    from sqlalchemy import update

    from deconflict.storage.tables import AuditEntryRow

    with core.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(action="forged"))
    verdict = _report(core, scenario)["audit"]["verification"]
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 3


def test_html_escapes_values_and_shows_added_sections(
    core: Core, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = "<script>alert(1)</script> & <b>bold</b>"
    red, blue = scenario.p["Red"], scenario.p["Blue"]
    messages.send(core, red, messages.MessageDraft(blue.party_id or "", hostile))

    def alerts(ctx: Context) -> list[dict[str, Any]]:
        return [{"at": ctx.end.isoformat(), "track": "<unknown>", "overdue": True}]

    monkeypatch.setattr(report_service, "SECTIONS", (*report_service.SECTIONS, ("alerts", alerts)))
    report = _report(core, scenario, party="Blue")
    assert report["sections"][-1] == "alerts"
    assert report["alerts"][0]["track"] == "<unknown>"
    page = render(report)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert '<section id="alerts"><h2>Alerts</h2>' in page
    assert "&lt;unknown&gt;" in page
    assert page.count("<polygon") == 4  # A, B, C and the overlap of A and C


def test_alerts_are_reported_to_their_parties_with_counterpart_aircraft_by_alias(
    core: Core, scenario: Scenario, clock: ManualClock
) -> None:
    from deconflict.services import tracks
    from deconflict.services.live import LiveMonitor
    from tests.services.live_helpers import head_on

    blue_ac, red_ac = head_on(clock.now(), gap_nm=20.0)
    for who, ac in (("Blue", blue_ac), ("Red", red_ac)):
        assert tracks.ingest(core, scenario.p[who], [ac], ReportLimits()).accepted
    assert LiveMonitor(core).cycle().transitions
    red = _report(core, scenario, party="Red")
    (alert,) = red["alerts"]
    assert alert["kind"] == "loss_of_separation"
    assert alert["level"] == "warning"
    assert "bbb002 (Red)" in alert["aircraft"]  # Red's own aircraft by its id
    assert "aaa001" not in json.dumps(red)  # Blue's only by alias
    assert red["summary"]["alerts"] == 1
    assert "aaa001 (Blue)" in _report(core, scenario)["alerts"][0]["aircraft"]  # the whole record
    assert _report(core, scenario, party="Green")["alerts"] == []
    later = clock.now() + timedelta(minutes=1)  # raised before this window and still open in it
    spanning = build(core, ReportQuery(later, later + timedelta(minutes=1), "Red"), scenario.signer.public_key_hex)
    assert [a["id"] for a in spanning["alerts"]] == [alert["id"]]
