"""The after-action report: what happened in a time window, read from the record, as one plain dict.

The dict is the JSON format; `deconflict.report_html` renders it as a self-contained page.
With a party, it holds only what that party is party to, as that party may see it: a
counterpart's private details (callsigns, aircraft count, purpose) never enter it.

Sections are built in the order of `SECTIONS`; each builder sees the sections built before it
in `ctx.results`. A new kind of record (step 3's alerts) is one more entry there: the JSON
lists it under `sections`, and the HTML shows a section it has no special view for as a table.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from deconflict.domain.audit import GENESIS_HASH, AuditEntry, digest
from deconflict.domain.disclosure import TrackDisclosure, TrackIdentity, operation_view
from deconflict.domain.errors import InvalidInput, NotFound
from deconflict.domain.hotline import PLAN_TRIGGERS, Trigger
from deconflict.domain.rules import AgreementBook
from deconflict.services import audit
from deconflict.services.alerts import alert_doc
from deconflict.services.conflicts import oriented
from deconflict.services.core import Core
from deconflict.services.messages import message_doc
from deconflict.services.notices import notice_doc
from deconflict.services.report_timeline import timeline_item
from deconflict.services.tracks import alias_key
from deconflict.services.views import public_operation_doc
from deconflict.services.zones import zone_doc
from deconflict.storage import journal
from deconflict.storage.repository import SqlRepository
from deconflict.storage.tables import AgreementRow, AlertRow, ConflictRow, MessageRow, NoticeRow

FORMAT = "deconflict.report/1"


@dataclass(frozen=True)
class ReportQuery:
    start: datetime
    end: datetime
    #: Only what this party is party to; None for the whole record (an administrator's view).
    party_name: str | None = None


@dataclass
class Context:
    repo: SqlRepository
    start: datetime
    end: datetime
    now: datetime
    viewer: str | None
    names: dict[str, str]
    book: AgreementBook
    #: The audit entries of the window the viewer is party to.
    entries: list[AuditEntry]
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Operations and zones the report touches: drawn on the map.
    operation_ids: set[str] = field(default_factory=set)
    zone_ids: set[str] = field(default_factory=set)
    #: The key of counterparts' track aliases (alerts name a counterpart's aircraft by alias).
    alias_key: bytes = b""

    @property
    def session(self) -> Session:
        return self.repo.session

    def name(self, party_id: str | None) -> str | None:
        """The party's name; None for a party the viewer shares no agreement with."""
        return None if party_id is None else self.names.get(party_id)

    def label(self, party_id: str) -> str:
        return self.names.get(party_id, "another party")


def _within(column: Any, ctx: Context) -> Any:
    return and_(column >= ctx.start, column <= ctx.end)


def _notices(ctx: Context) -> list[dict[str, Any]]:
    """Notices sent, answered or gone overdue in the window, with lead and response times."""
    stmt = select(NoticeRow).where(
        or_(_within(NoticeRow.sent_at, ctx), _within(NoticeRow.responded_at, ctx), _within(NoticeRow.overdue_at, ctx))
    )
    if ctx.viewer is not None:
        stmt = stmt.where(or_(NoticeRow.to_party_id == ctx.viewer, NoticeRow.from_party_id == ctx.viewer))
    min_notice = {a: float(s) for a, s in ctx.session.execute(select(AgreementRow.id, AgreementRow.min_notice_s))}
    out = []
    for row in ctx.session.execute(stmt.order_by(NoticeRow.sent_at, NoticeRow.id)).scalars():
        doc = {k: v for k, v in notice_doc(row).items() if k not in ("operation", "conflicts")}
        required = max((min_notice.get(a, 0.0) for a in row.agreement_ids), default=0.0)
        lead = row.lead_time_s
        unanswered = row.decision is None and row.superseded_at is None
        doc.update(
            from_party=ctx.label(row.from_party_id),
            to_party=ctx.label(row.to_party_id),
            conflicts=len(row.content.get("conflicts", [])),
            required_notice_s=required,
            late=Trigger(row.trigger) in PLAN_TRIGGERS and lead is not None and lead < required,
            overdue=row.overdue_at is not None or doc["answered_late"] or (unanswered and row.deadline_at <= ctx.now),
        )
        ctx.operation_ids.add(row.operation_id)
        out.append(doc)
    return out


def _messages(ctx: Context) -> list[dict[str, Any]]:
    stmt = select(MessageRow).where(
        or_(_within(MessageRow.sent_at, ctx), _within(MessageRow.delivered_at, ctx), _within(MessageRow.read_at, ctx))
    )
    if ctx.viewer is not None:
        stmt = stmt.where(or_(MessageRow.to_party_id == ctx.viewer, MessageRow.from_party_id == ctx.viewer))
    out = []
    for row in ctx.session.execute(stmt.order_by(MessageRow.sent_at, MessageRow.id)).scalars():
        doc = message_doc(row)
        doc.update(from_party=ctx.label(row.from_party_id), to_party=ctx.label(row.to_party_id))
        ctx.operation_ids.update(row.operation_ids)
        out.append(doc)
    return out


def _conflicts(ctx: Context) -> list[dict[str, Any]]:
    """Conflicts found or cleared in the window, each from the viewer's side (the subject's, for all)."""
    stmt = select(ConflictRow).where(or_(_within(ConflictRow.created_at, ctx), _within(ConflictRow.cleared_at, ctx)))
    if ctx.viewer is not None:
        stmt = stmt.where(or_(ConflictRow.subject_party_id == ctx.viewer, ConflictRow.other_party_id == ctx.viewer))
    out = []
    for row in ctx.session.execute(stmt.order_by(ConflictRow.created_at, ConflictRow.id)).scalars():
        doc = oriented(row, ctx.viewer or row.subject_party_id)
        doc["cleared_at"] = None if row.cleared_at is None else row.cleared_at.isoformat()
        for side in ("mine", "theirs"):
            doc[side]["party"] = ctx.label(doc[side]["party_id"])
            ids = ctx.operation_ids if doc[side]["kind"] == "operation" else ctx.zone_ids
            ids.add(doc[side]["id"])
        out.append(doc)
    return out


def _timeline(ctx: Context) -> list[dict[str, Any]]:
    """Every audit entry of the window the viewer is party to, and the conflicts, in time order."""
    flags = {n["id"]: n for n in ctx.results.get("notices", [])}
    items: list[tuple[tuple[datetime, int, int], dict[str, Any]]] = []
    for entry in ctx.entries:
        item = timeline_item(entry, ctx.name, flags.get(entry.subject_id))
        if entry.subject_kind == "operation":
            ctx.operation_ids.add(entry.subject_id)
        elif entry.subject_kind == "zone":
            ctx.zone_ids.add(entry.subject_id)
        items.append(((entry.at, 0, entry.seq), item))
    for c in ctx.results.get("conflicts", []):
        for kind, at in (("conflict.found", c["created_at"]), ("conflict.cleared", c["cleared_at"])):
            when = None if at is None else datetime.fromisoformat(at)
            if when is None or not ctx.start <= when <= ctx.end:
                continue
            items.append(((when, 1, int(c["id"])), _conflict_item(c, kind, at)))
    return [item for _key, item in sorted(items, key=lambda kv: kv[0])]


def _conflict_item(c: dict[str, Any], action: str, at: str) -> dict[str, Any]:
    """A timeline line for a conflict found or cleared (recorded with its filing, not as its own entry)."""
    return {
        "at": at,
        "seq": None,
        "entry_hash": None,
        "action": action,
        "category": "conflict",
        "actor": None,
        "actor_role": None,
        "subject": {"kind": "conflict", "id": str(c["id"])},
        "parties": sorted({c["mine"]["party"], c["theirs"]["party"]}),
        "summary": f"{action.split('.')[1]}: {_side(c['mine'])} against {_side(c['theirs'])}",
        "detail": {},
        "late": False,
        "overdue": False,
    }


def _side(s: dict[str, Any]) -> str:
    return f"{s['party']} {s['kind']} {s['id'][:8]} (extent {s['extent']})"


def _alerts(ctx: Context) -> list[dict[str, Any]]:
    """Live alerts raised or cleared in the window, with their last level and numbers; a
    counterpart's aircraft appear by alias unless an agreement shares track identities."""
    # Every alert open at some time in the window (raised before it and cleared after it included).
    stmt = select(AlertRow).where(
        AlertRow.raised_at <= ctx.end, or_(AlertRow.cleared_at.is_(None), AlertRow.cleared_at >= ctx.start)
    )
    out = []
    for row in ctx.session.execute(stmt.order_by(AlertRow.raised_at, AlertRow.id)).scalars():
        if ctx.viewer is not None and ctx.viewer not in row.parties:
            continue
        viewer = ctx.viewer or ""
        identify = TrackDisclosure(viewer, ctx.book, ctx.alias_key).describe if ctx.viewer else _full_identity
        doc = alert_doc(row, identify)
        cleared = row.cleared_at
        zone = doc["zone"] or {}
        out.append(
            {
                "id": row.id,
                "kind": row.kind,
                "level": row.level,
                "raised_at": doc["raised_at"],
                "cleared_at": doc["cleared_at"],
                "open_s": round(((cleared or ctx.now) - row.raised_at).total_seconds(), 1),
                "parties": ", ".join(ctx.label(p) for p in row.parties),
                "aircraft": ", ".join(
                    f"{t['aircraft_id'] or t['track']} ({ctx.label(t['party_id'])})" for t in doc["tracks"]
                ),
                "zone": zone.get("name"),
                "operation_id": doc["operation_id"],
                "detail": ", ".join(f"{k}={v}" for k, v in doc["detail"].items()),
            }
        )
        if doc["operation_id"]:
            ctx.operation_ids.add(doc["operation_id"])
        if zone.get("id"):
            ctx.zone_ids.add(zone["id"])
    return out


def _full_identity(party_id: str, aircraft_id: str, callsign: str | None, lat: float, lng: float) -> TrackIdentity:
    """The whole record's view (an administrator's report): aircraft named as reported."""
    return TrackIdentity(party_id, aircraft_id, aircraft_id, callsign)


Section = Callable[[Context], list[dict[str, Any]]]
#: Built in this order; later builders may read earlier results.
SECTIONS: tuple[tuple[str, Section], ...] = (
    ("notices", _notices),
    ("messages", _messages),
    ("conflicts", _conflicts),
    ("alerts", _alerts),
    ("timeline", _timeline),
)


def _volumes(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The operations and zones involved, as the viewer may see them: each operation as its last
    recorded version in the window (the audit payload holds only its public part), else as it is now."""
    recorded: dict[str, dict[str, Any]] = {}
    for e in ctx.entries:
        if e.subject_kind == "operation" and e.action.startswith("operation.") and "operation" in e.payload:
            recorded[e.subject_id] = {**e.payload["operation"], "as_of": e.at.isoformat()}
    repo_ops = {}
    missing = sorted(ctx.operation_ids - recorded.keys())
    if missing:
        for op in ctx.repo.operations(ids=missing):
            view = operation_view(ctx.viewer or op.party_id, op, ctx.book)
            if view is not None:
                repo_ops[op.id] = {**public_operation_doc(view), "as_of": ctx.now.isoformat()}
    operations = [{**doc, "party": ctx.label(doc["party_id"])} for doc in (recorded | repo_ops).values()]
    zones = []
    for zone_id in sorted(ctx.zone_ids):
        found = ctx.repo.zone(zone_id)
        if found is not None and (ctx.viewer is None or found[0].party_id in ctx.names):
            zones.append({**zone_doc(found[0]), "active": found[1], "party": ctx.label(found[0].party_id)})
    operations.sort(key=lambda d: (str(d["party"]), d["id"]))
    return operations, zones


def _summary(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    notices, timeline = results.get("notices", []), results.get("timeline", [])
    answered = [n["response_time_s"] for n in notices if n["response_time_s"] is not None]
    decisions = [n["decision"] for n in notices]
    return {
        "timeline_entries": len(timeline),
        "filings": sum(1 for t in timeline if t["category"] == "filing"),
        "notices": len(notices),
        "late_notices": sum(1 for n in notices if n["late"]),
        "overdue_notices": sum(1 for n in notices if n["overdue"]),
        "acknowledged": decisions.count("acknowledged"),
        "objections": decisions.count("objection"),
        "unable": decisions.count("unable"),
        "unanswered": decisions.count(None),
        "escalations": sum(1 for t in timeline if t["category"] == "escalation"),
        "messages": len(results.get("messages", [])),
        "conflicts": len(results.get("conflicts", [])),
        "alerts": len(results.get("alerts", [])),
        "median_response_time_s": statistics.median(answered) if answered else None,
        "max_response_time_s": max(answered) if answered else None,
    }


def _integrity(core: Core, session: Session, public_key_hex: str | None) -> dict[str, Any]:
    head = journal.audit_head(session) or (0, GENESIS_HASH)
    cp = journal.latest_checkpoint(session)
    verdict = audit.verify(core, public_key_hex)
    return {
        "head": {"seq": head[0], "hash": head[1]},
        "checkpoint": None if cp is None else cp.to_doc(),
        "entries_after_checkpoint": head[0] - (cp.head_seq if cp else 0),
        "public_key": public_key_hex,
        "verification": audit.verdict_doc(verdict),
    }


def build(core: Core, q: ReportQuery, public_key_hex: str | None = None) -> dict[str, Any]:
    """The report for [q.start, q.end] (both inclusive), optionally as one party sees it."""
    if q.start.tzinfo is None or q.end.tzinfo is None:
        raise InvalidInput("report times must carry a UTC offset", field="start")
    if q.start > q.end:
        raise InvalidInput(f"the window starts ({q.start.isoformat()}) after it ends ({q.end.isoformat()})")
    q = ReportQuery(q.start.astimezone(UTC), q.end.astimezone(UTC), q.party_name)
    with core.read() as repo:
        book = core.book(repo)
        everyone = {p.id: p.name for p in repo.parties()}
        viewer = None
        if q.party_name is not None:
            party = repo.party_by_name(q.party_name)
            if party is None:
                raise NotFound(f"no party named {q.party_name!r}", field="party")
            viewer = party.id
            visible = {viewer} | book.counterparts(viewer)
            everyone = {pid: name for pid, name in everyone.items() if pid in visible}
        entries = journal.entries_between(repo.session, q.start, q.end, viewer)
        ctx = Context(repo, q.start, q.end, core.clock.now(), viewer, everyone, book, entries)
        ctx.alias_key = alias_key(core, repo.session)
        for name, builder in SECTIONS:
            ctx.results[name] = builder(ctx)
        operations, zones = _volumes(ctx)
        report: dict[str, Any] = {
            "format": FORMAT,
            "generated_at": ctx.now.isoformat(),
            "window": {"from": q.start.isoformat(), "to": q.end.isoformat()},
            "party": None if viewer is None else {"id": viewer, "name": everyone[viewer]},
            "parties": dict(sorted(everyone.items(), key=lambda kv: kv[1])),
            "summary": _summary(ctx.results),
            "sections": [name for name, _ in SECTIONS],
            **ctx.results,
            "operations": operations,
            "zones": zones,
        }
        report["audit"] = _integrity(core, repo.session, public_key_hex)
    report["digest"] = digest(report)
    return report
