"""One audit entry as a line of the after-action timeline: a category, a sentence, a few checked facts.

Only allow-listed payload fields are copied out (`DETAIL_KEYS`), never a whole payload, so what a
counterpart may not see (e.g. an operation's digest of private details) cannot leak into a report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from deconflict.domain.audit import AuditEntry

#: The payload fields a timeline line may carry.
DETAIL_KEYS = (
    "trigger",
    "operation_id",
    "lead_time_s",
    "decision",
    "reason",
    "response_time_s",
    "escalation",
    "deadline_at",
    "priority",
    "delivered_at",
    "read_at",
)

_CATEGORIES = {
    "operation.filed": "filing",
    "operation.changed": "filing",
    "operation.activated": "operation",
    "operation.ended": "operation",
    "operation.cancelled": "operation",
    "operation.nonconforming": "conformance",
    "operation.conforming": "conformance",
    "notice.sent": "notice",
    "notice.acknowledged": "acknowledgement",
    "notice.unable": "acknowledgement",
    "notice.objection": "objection",
    "notice.objection_withdrawn": "objection",
    "notice.escalated": "escalation",
    "notice.delivered": "receipt",
    "message.sent": "message",
    "message.delivered": "receipt",
    "message.read": "receipt",
}

#: A party id -> its name, or None for a party the reader may not know of.
Namer = Callable[[str | None], str | None]


def category(action: str) -> str:
    if action in _CATEGORIES:
        return _CATEGORIES[action]
    prefix = action.split(".", 1)[0]
    return prefix if prefix in ("channel", "zone", "agreement") else "administration"


def fmt_duration(seconds: float | None) -> str:
    """'2 h 05 min', '9 min 30 s', '-4 min' (negative: after the start); '—' for none."""
    if seconds is None:
        return "—"
    sign, s = ("-" if seconds < 0 else ""), round(abs(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{sign}{h} h {m:02d} min"
    if m:
        return f"{sign}{m} min" + (f" {sec} s" if sec else "")
    return f"{sign}{sec} s"


def timeline_item(entry: AuditEntry, name: Namer, notice: Mapping[str, Any] | None) -> dict[str, Any]:
    """The line for `entry`; `notice` is the report's notice document when the entry is about one."""
    p = entry.payload
    detail = {k: p[k] for k in DETAIL_KEYS if k in p}
    if "to_party_id" in p:
        detail["to_party"] = name(p["to_party_id"]) or "another party"
    if isinstance(p.get("operation"), Mapping):
        op = p["operation"]
        detail.update(operation_id=op.get("id"), state=op.get("state"), extents=len(op.get("extents", [])))
    actor = (name(entry.actor_party_id) or "another party") if entry.actor_party_id else entry.actor_token_id
    return {
        "at": entry.at.isoformat(),
        "seq": entry.seq,
        "entry_hash": entry.entry_hash,
        "action": entry.action,
        "category": category(entry.action),
        "actor": actor,
        "actor_role": entry.actor_role,
        "subject": {"kind": entry.subject_kind, "id": entry.subject_id},
        "parties": sorted({n for n in (name(pid) for pid in entry.parties) if n}),
        "summary": _summary(entry, str(actor), detail, name),
        "detail": detail,
        "late": bool(notice and notice["late"] and entry.action == "notice.sent"),
        "overdue": bool(notice and notice["overdue"] and entry.action.startswith("notice.")),
    }


def _summary(entry: AuditEntry, actor: str, d: Mapping[str, Any], name: Namer) -> str:
    action, short = entry.action, entry.subject_id[:8]
    op = str(d.get("operation_id") or "")[:8]
    if action.startswith("operation."):
        verb = action.split(".", 1)[1]
        return f"{actor} {verb} operation {short} ({d.get('extents', 0)} extents)"
    if action == "notice.sent":
        return (
            f"notice {short} to {d.get('to_party')}: operation {op} {d.get('trigger')}, "
            f"lead time {fmt_duration(d.get('lead_time_s'))}"
        )
    if action in ("notice.acknowledged", "notice.objection", "notice.unable"):
        reason = f": {d['reason']}" if d.get("reason") else ""
        return (
            f"{actor} answered notice {short} ({operation_label(op)}) {d.get('decision')} "
            f"after {fmt_duration(d.get('response_time_s'))}{reason}"
        )
    if action == "notice.objection_withdrawn":
        return f"{actor} withdrew the objection to notice {short}"
    if action == "notice.escalated":
        return (
            f"notice {short} to {d.get('to_party')} unanswered past its deadline: "
            f"escalation {d.get('escalation')} to both supervisors"
        )
    if action == "notice.delivered":
        return f"notice {short} delivered to {d.get('to_party') or actor}"
    if action == "message.sent":
        return f"{actor} sent a {d.get('priority')} message {short} to {d.get('to_party')}"
    if action in ("message.delivered", "message.read"):
        return f"message {short} {action.split('.', 1)[1]}"
    return _administrative(entry, actor, name)


def _administrative(entry: AuditEntry, actor: str, name: Namer) -> str:
    action, p, verb = entry.action, entry.payload, entry.action.split(".", 1)[-1]
    if action == "party.created":
        return f"party {p.get('name')} created"
    if action == "token.issued":
        return f"{p.get('role')} token issued to {name(entry.parties[0]) if entry.parties else 'an administrator'}"
    if action == "agreement.created":
        members = ", ".join(sorted(n for n in (name(pid) for pid in p.get("parties", [])) if n))
        return f"agreement {p.get('name')!r} created between {members}"
    if action.startswith("zone."):
        return f"{actor} {verb} zone {p.get('name')!r}"
    if action.startswith("channel."):
        return f"channel of {name(entry.subject_id) or 'another party'} is {verb}"
    return f"{actor}: {action} {entry.subject_kind} {entry.subject_id[:8]}"


def operation_label(op_short: str) -> str:
    return f"operation {op_short}" if op_short else "operation"
