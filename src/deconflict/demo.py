"""The seeded demo scenario: two parties sharing a region, ~20 operations (some conflicting), zones,
and the last twenty minutes of their hotline traffic.

The history is scripted on a manual clock that starts 20 minutes before the server does and
never passes the real time: notices go out, most are acknowledged within minutes, one draws an
objection, messages are exchanged and read, and one notice is left unanswered past its
10-minute deadline, so the server's first scheduler round escalates it. Red's last filing goes out
moments before the server starts, so Blue's console opens on a notice still awaiting its answer.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from deconflict.demo_flights import SURVEY_AIRCRAFT, SURVEY_CENTRE, SURVEY_RADIUS_M
from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy
from deconflict.domain.clock import Clock, ManualClock
from deconflict.domain.hotline import Decision
from deconflict.domain.operations import OperationState, PrivateDetails
from deconflict.domain.parties import Principal, Role
from deconflict.domain.volumes import AltitudeBand, LatLng, TimeWindow, Volume4D, circle_outline, polygon_outline
from deconflict.domain.zones import ZoneKind
from deconflict.services import agreements, messages, notices, operations, parties, zones
from deconflict.services.core import Core

#: The demo region: northern France, around Reims (an area with both military and civil activity).
CENTRE = LatLng(49.25, 4.03)
FL_M = 30.48  # one flight level (100 ft) in metres


@dataclass(frozen=True)
class DemoParties:
    blue_token: str
    red_token: str
    admin_token: str
    conflicts_filed: int
    notices_sent: int
    acknowledged: int
    objections: int
    unanswered: int
    blue: Principal
    red: Principal
    #: Blue's operation in progress, flown by the demo's simulated survey aircraft.
    live_operation_id: str


def _box(centre: LatLng, half_km: float, angle_deg: float = 0.0) -> list[LatLng]:
    out = []
    for k in range(4):
        a = math.radians(angle_deg + 45 + 90 * k)
        dlat = half_km * math.sqrt(2) * math.cos(a) / 111.2
        dlng = half_km * math.sqrt(2) * math.sin(a) / (111.2 * math.cos(math.radians(centre.lat)))
        out.append(LatLng(centre.lat + dlat, centre.lng + dlng))
    return out


HISTORY_S = 20 * 60
#: The operation in progress is filed an hour before the server starts (with the agreed notice).
LIVE_HISTORY_S = 60 * 60


def seed(core: Core, seed_value: int = 7) -> DemoParties:
    """Create the parties, their agreement, zones, operations and hotline history; returns the tokens."""
    real_clock: Clock = core.clock
    real_now = real_clock.now()
    script = ManualClock(real_now - timedelta(seconds=LIVE_HISTORY_S))
    core.clock = script
    try:
        return _seed(core, script, real_now, random.Random(seed_value))
    finally:
        core.clock = real_clock


def _seed(core: Core, script: ManualClock, real_now: datetime, rng: random.Random) -> DemoParties:
    now = real_now.replace(second=0, microsecond=0)
    _, admin = parties.issue_token(core, None, Role.ADMIN, "demo admin")
    admin_p = Principal("demo", None, None, Role.ADMIN)
    blue, blue_token = parties.create_party(core, "Blue Air Force", Role.SUPERVISOR, "demo")
    red, red_token = parties.create_party(core, "Red Civil Operations", Role.SUPERVISOR, "demo")
    agreements.create_agreement(
        core,
        admin_p,
        agreements.AgreementDraft(
            name="Champagne sector hotline",
            party_names=(blue.name, red.name),
            area=None,
            min_notice_s=30 * 60,
            buffers=Buffers(lateral_m=1852.0, vertical_m=152.4, time_s=300.0),
            late_policy=LatePolicy.REJECT,
            hotline=HotlineRules(ack_deadline_s=600.0, require_ack=True, escalation_interval_s=300.0),
        ),
    )
    blue_p = Principal("demo", blue.id, blue.name, Role.SUPERVISOR)
    red_p = Principal("demo", red.id, red.name, Role.SUPERVISOR)
    limits = core.limits
    live_op = _operation_in_progress(core, script, real_now, blue_p, red_p)
    script.set(real_now - timedelta(seconds=HISTORY_S))
    zones.create_zone(
        core,
        red_p,
        "Reims hospital helipad",
        ZoneKind.NO_FLY,
        Volume4D(circle_outline(LatLng(49.238, 4.043), 1500, limits), AltitudeBand(0, 600), TimeWindow(None, None)),
    )
    zones.create_zone(
        core,
        blue_p,
        "Mourmelon range",
        ZoneKind.NOTIFY,
        Volume4D(polygon_outline(_box(LatLng(49.12, 4.36), 8), limits), AltitudeBand(0, 3000), TimeWindow(None, None)),
    )
    conflicts = 0
    for i in range(20):
        principal = blue_p if i % 2 == 0 else red_p
        start = now + timedelta(minutes=45 + 30 * rng.randint(0, 16))
        end = start + timedelta(minutes=rng.choice([30, 60, 90, 120, 180]))
        where = LatLng(CENTRE.lat + rng.uniform(-0.35, 0.35), CENTRE.lng + rng.uniform(-0.5, 0.5))
        if i % 2 == 0:
            outline = polygon_outline(_box(where, rng.uniform(4, 15), rng.uniform(0, 90)), limits)
            band = AltitudeBand(FL_M * rng.choice([50, 80, 100]), FL_M * rng.choice([150, 200, 250]))
            private = PrivateDetails((f"VIPER{i:02d}", f"VIPER{i + 1:02d}"), 2, "training sortie (confidential)")
        else:
            outline = circle_outline(where, rng.uniform(2000, 9000), limits)
            band = AltitudeBand(0, FL_M * rng.choice([10, 40, 60, 120]))
            private = PrivateDetails((f"F-GX{i:02d}",), 1, "aerial survey for the regional council")
        draft = operations.OperationDraft(
            (Volume4D(outline, band, TimeWindow(start, end)),), private, OperationState.ACCEPTED
        )
        result = operations.file_operation(core, principal, draft)
        conflicts += len(result.conflicts)
        script.advance(20)
    # Two deliberately overlapping filings so the conflict is always there to see.
    shared = LatLng(49.30, 4.10)
    start = now + timedelta(hours=1)
    for principal, shape in (
        (blue_p, polygon_outline(_box(shared, 6), limits)),
        (red_p, circle_outline(shared, 4000, limits)),
    ):
        draft = operations.OperationDraft(
            (Volume4D(shape, AltitudeBand(0, 1500), TimeWindow(start, start + timedelta(hours=2))),),
            PrivateDetails((), 1, "demo conflict"),
        )
        conflicts += len(operations.file_operation(core, principal, draft).conflicts)
        script.advance(30)
    sent, acknowledged, objections, unanswered = _hotline_traffic(core, script, real_now, blue_p, red_p)
    conflicts += _last_filing(core, script, real_now, red_p)
    return DemoParties(
        blue_token,
        red_token,
        admin,
        conflicts,
        sent + 2,  # with the live operation's filing notice (acknowledged at once) and the last filing's
        acknowledged + 1,
        objections,
        unanswered,
        blue_p,
        red_p,
        live_op,
    )


def _operation_in_progress(core: Core, script: ManualClock, real_now: datetime, blue: Principal, red: Principal) -> str:
    """Blue's survey around SURVEY_CENTRE, filed with 35 minutes' notice, acknowledged, activated."""
    start = real_now - timedelta(minutes=25)
    volume = Volume4D(
        circle_outline(LatLng(*SURVEY_CENTRE), SURVEY_RADIUS_M, core.limits),
        AltitudeBand(0, 1500),
        TimeWindow(start, start + timedelta(hours=4)),
    )
    private = PrivateDetails(("VIPER51",), 1, "photo survey of the Aisne bridges", (SURVEY_AIRCRAFT,))
    op = operations.file_operation(core, blue, operations.OperationDraft((volume,), private)).operation
    script.advance(120)
    (notice,) = notices.list_notices(core, red, notices.NoticeQuery(direction="in", status="pending"))
    notices.answer(core, red, notice["id"], Decision.ACKNOWLEDGED, None)
    script.set(start + timedelta(minutes=2))
    operations.act(core, blue, op.id, "activate")
    return op.id


def _last_filing(core: Core, script: ManualClock, real_now: datetime, red: Principal) -> int:
    """Red's air ambulance transfer, filed 20 s before the server starts, across Blue's box at the deliberate
    overlap: its notice is pending (with 10 minutes to answer) when a newcomer opens Blue's console."""
    script.set(real_now - timedelta(seconds=20))
    start = real_now.replace(second=0, microsecond=0) + timedelta(minutes=50)
    volume = Volume4D(
        circle_outline(LatLng(49.33, 4.16), 3000, core.limits),
        AltitudeBand(0, 900),
        TimeWindow(start, start + timedelta(minutes=45)),
    )
    private = PrivateDetails(("SAMU51",), 1, "air ambulance transfer Reims to Châlons")
    return len(operations.file_operation(core, red, operations.OperationDraft((volume,), private)).conflicts)


def _hotline_traffic(
    core: Core, script: ManualClock, real_now: datetime, blue: Principal, red: Principal
) -> tuple[int, int, int, int]:
    """Answer the notices as duty officers would: most acknowledged, one objection, one left unanswered."""
    inbox = {
        p.party_id: notices.list_notices(core, p, notices.NoticeQuery(direction="in", status="pending", limit=1000))
        for p in (blue, red)
    }
    sent = sum(len(v) for v in inbox.values())
    script.advance(30)
    red_inbox = sorted(inbox[red.party_id], key=lambda n: n["sent_at"])
    blue_inbox = sorted(inbox[blue.party_id], key=lambda n: n["sent_at"])
    # Red objects to Blue's newest filing (the deliberate overlap), and leaves the one before it
    # unanswered: past its deadline by the time the server starts, so it escalates.
    objected, unanswered = red_inbox[-1], red_inbox[-2]
    notices.answer(
        core,
        red,
        objected["id"],
        Decision.OBJECTION,
        "Overlaps our survey block north-east of Reims below 1,500 m; please move east of 4.2E or after 14:00Z.",
    )
    acknowledged = 0
    for n in sorted(red_inbox[:-2] + blue_inbox, key=lambda n: n["sent_at"]):
        who = red if n["to_party_id"] == red.party_id else blue
        notices.answer(core, who, n["id"], Decision.ACKNOWLEDGED, None)
        acknowledged += 1
        script.advance(5)
    first = messages.send(
        core,
        blue,
        messages.MessageDraft(
            red.party_id or "",
            "Blue duty officer: we see your objection and will re-plan; confirm your survey ends 14:00Z.",
            messages.Priority.URGENT,
            (objected["operation_id"],),
        ),
    )
    script.advance(60)
    messages.record_delivery(core, red, red.party_id or "", [first["id"]])
    messages.mark_read(core, red, first["id"])
    script.advance(45)
    messages.send(
        core,
        red,
        messages.MessageDraft(
            blue.party_id or "", "Red duty officer: confirmed, survey ends 14:00Z.", messages.Priority.ROUTINE
        ),
    )
    assert script.now() <= real_now, "the scripted history must end before the real time"
    assert unanswered["status"] == "pending"
    return sent, acknowledged, 1, 1
