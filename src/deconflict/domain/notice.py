"""Minimum notice: how far ahead of its start an operation must be filed, on server time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from deconflict.domain.agreements import LatePolicy
from deconflict.domain.errors import NoticeTooLate
from deconflict.domain.operations import LateNotice
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import Volume4D


def format_duration(seconds: float) -> str:
    """'1 h 05 min 30 s' style, for messages read by people."""
    seconds = round(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def check_notice(
    party_id: str,
    extents: Sequence[Volume4D],
    now: datetime,
    book: AgreementBook,
    positions: Sequence[int] | None = None,
) -> tuple[LateNotice, ...]:
    """Late notices to flag; raises NoticeTooLate when an agreement with a `reject` policy is breached.

    Each extent is judged against every agreement of the party whose area it touches. `positions`
    gives each extent's index in the request (when only some of its extents are checked), so that
    errors name the right one.
    """
    flagged: dict[str, LateNotice] = {}
    numbered = zip(positions if positions is not None else range(len(extents)), extents, strict=True)
    for i, volume in numbered:
        if volume.time.start is None:
            continue
        given_s = (volume.time.start - now).total_seconds()
        for agreement, required_s, policy in book.notice_rules(party_id, volume.outline):
            if given_s >= required_s:
                continue
            late = LateNotice(agreement.id, required_s, given_s)
            if policy is LatePolicy.REJECT:
                when = "already started" if given_s < 0 else f"starts in {format_duration(given_s)}"
                raise NoticeTooLate(
                    f"late by {format_duration(late.late_by_s)}: extent {i} {when} (server time "
                    f"{now.isoformat()}), but agreement {agreement.name!r} requires at least "
                    f"{format_duration(required_s)} notice",
                    field=f"extents[{i}].time_start",
                    extra={
                        "late_by_s": round(late.late_by_s, 3),
                        "required_notice_s": required_s,
                        "given_notice_s": round(given_s, 3),
                        "agreement_id": agreement.id,
                        "server_time": now.isoformat(),
                    },
                )
            previous = flagged.get(agreement.id)
            if previous is None or late.late_by_s > previous.late_by_s:
                flagged[agreement.id] = late
    return tuple(flagged[k] for k in sorted(flagged))


def merge_late(earlier: Sequence[LateNotice], later: Sequence[LateNotice]) -> tuple[LateNotice, ...]:
    """Late notices of an operation after a change: per agreement, the latest (largest) lateness stays."""
    merged: dict[str, LateNotice] = {}
    for late in (*earlier, *later):
        kept = merged.get(late.agreement_id)
        if kept is None or late.late_by_s > kept.late_by_s:
            merged[late.agreement_id] = late
    return tuple(merged[k] for k in sorted(merged))
