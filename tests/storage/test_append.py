"""append_rows against both backends: what it stores is exactly what SQLAlchemy's own insert stores."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Table, event, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deconflict.services.core import Core
from deconflict.storage.append import append_rows
from deconflict.storage.journal import table_of
from deconflict.storage.tables import EventRow, NoticeRow, TokenRow
from tests.conftest import T0


def _notice(notice_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": notice_id,
        "record_seq": 7,
        "operation_id": "op-1",
        "operation_version": "v1",
        "trigger": "filed",
        "from_party_id": "p-from",
        "to_party_id": "p-to",
        "agreement_ids": ["a-2", "a-1"],
        "content": {"operation": {"extents": [{"lat": 48.85, "lng": 2.35}]}, "conflicts": [], "note": "é ✈"},
        "sent_at": T0,
        "operation_start": T0 + timedelta(hours=2, microseconds=123_456),
        "lead_time_s": 7200.123456,
        "degraded_channel": True,
        "deadline_at": T0 + timedelta(minutes=10),
        "require_ack": False,
        "escalation_interval_s": 300.0,
        "escalations": 0,
        "delivered_at": None,
        "decision": None,
        "reason": None,
        "responded_at": None,
        "responder_token_id": None,
        "withdrawn_at": None,
        "superseded_at": None,
        "overdue_at": None,
        "next_escalation_at": None,
    }
    return {**row, **changes}


def _raw(session: Session, table: Table, key: str, value: Any) -> tuple[Any, ...]:
    """The row as the database holds it (no result processing): what a reader of the store sees."""
    columns = ", ".join(c.name for c in table.columns if c.name != "id")
    found = session.execute(text(f"SELECT {columns} FROM {table.name} WHERE {key} = :v"), {"v": value}).one()
    return tuple(found)


def test_rows_are_stored_exactly_as_sqlalchemy_stores_them(core: Core) -> None:
    notices = table_of(NoticeRow)
    with Session(core.engine) as session, session.begin():
        session.execute(insert(notices), [_notice("by-sqlalchemy")])
        append_rows(session, notices, [_notice("by-append"), _notice("second", decision="ack", reason=None)])
    with Session(core.engine) as session:
        ours = _raw(session, notices, "id", "by-append")
        theirs = _raw(session, notices, "id", "by-sqlalchemy")
        assert ours[1:] == theirs[1:]  # all but the id
        read = session.get(NoticeRow, "by-append")
        assert read is not None
        assert read.content == _notice("x")["content"]
        assert read.agreement_ids == ["a-2", "a-1"]
        assert read.degraded_channel is True
        assert read.require_ack is False
        assert read.lead_time_s == pytest.approx(7200.123456, abs=1e-9)
        assert read.operation_start is not None
        assert read.operation_start.replace(tzinfo=T0.tzinfo) == T0 + timedelta(hours=2, microseconds=123_456)
        second = session.get(NoticeRow, "second")
        assert second is not None
        assert second.decision == "ack"


def test_none_in_a_json_column_is_stored_as_sqlalchemy_stores_it(core: Core) -> None:
    """JSON turns None into the text 'null' (NULL only for a none_as_null column): not a value to skip."""
    notices = table_of(NoticeRow)
    with Session(core.engine) as session, session.begin():
        session.execute(insert(notices), [_notice("by-sqlalchemy", content=None, reason=None)])
        append_rows(session, notices, [_notice("by-append", content=None, reason=None)])
    with Session(core.engine) as session:
        ours = _raw(session, notices, "id", "by-append")
        theirs = _raw(session, notices, "id", "by-sqlalchemy")
        sql_nulls = session.execute(text("SELECT count(*) FROM notices WHERE content IS NULL")).scalar()
    assert ours[1:] == theirs[1:]
    assert sql_nulls == 0  # both hold JSON null, not SQL NULL


def test_autoincrement_ids_are_assigned_in_order(core: Core) -> None:
    events = table_of(EventRow)
    rows = [{"party_id": "p", "seq": s, "kind": "k", "at": T0, "data": {"n": s}} for s in range(1, 6)]
    with Session(core.engine) as session, session.begin():
        append_rows(session, events, rows)
    with Session(core.engine) as session:
        stored = session.execute(select(EventRow.id, EventRow.seq, EventRow.data).order_by(EventRow.id)).all()
    assert [s for _, s, _ in stored] == [1, 2, 3, 4, 5]
    assert [d for _, _, d in stored] == [{"n": s} for s in range(1, 6)]
    assert len({i for i, _, _ in stored}) == 5


def test_each_row_keeps_its_own_time_when_equal_times_are_converted_once(core: Core) -> None:
    """Equal datetimes are converted once a statement: the same instant in another zone is stored as
    SQLAlchemy stores it, and rows with other times keep theirs."""
    events = table_of(EventRow)
    times = [
        T0,
        T0.astimezone(timezone(timedelta(hours=5, minutes=30))),
        T0 + timedelta(microseconds=1),
        T0,
        T0 + timedelta(hours=1),
    ]
    ours = [{"party_id": "ours", "seq": s, "kind": "k", "at": t, "data": {}} for s, t in enumerate(times, 1)]
    theirs = [{**row, "party_id": "theirs"} for row in ours]
    with Session(core.engine) as session, session.begin():
        session.execute(insert(events), theirs)
        append_rows(session, events, ours)
    with Session(core.engine) as session:
        stored = {
            party: [
                t for (t,) in session.execute(text(f"SELECT at FROM events WHERE party_id = '{party}' ORDER BY seq"))
            ]
            for party in ("ours", "theirs")
        }
        read = session.execute(select(EventRow.at).where(EventRow.party_id == "ours").order_by(EventRow.seq)).scalars()
        assert list(read) == times
    assert stored["ours"] == stored["theirs"]
    assert stored["ours"][0] == stored["ours"][1] == stored["ours"][3]
    assert len(set(stored["ours"])) == 3


def test_a_naive_time_is_still_refused(core: Core) -> None:
    events = table_of(EventRow)
    rows = [
        {"party_id": "p", "seq": s, "kind": "k", "at": t, "data": {}}
        for s, t in ((1, T0), (2, T0.replace(tzinfo=None)))
    ]
    with Session(core.engine) as session, session.begin(), pytest.raises(ValueError, match="naive"):
        append_rows(session, events, rows)


def test_rows_roll_back_with_the_transaction(core: Core) -> None:
    events = table_of(EventRow)

    def failing_command() -> None:
        with Session(core.engine) as session, session.begin():
            append_rows(session, events, [{"party_id": "p", "seq": 1, "kind": "k", "at": T0, "data": {}}])
            raise RuntimeError("the command fails after appending")

    with pytest.raises(RuntimeError):
        failing_command()
    with Session(core.engine) as session:
        assert session.execute(select(EventRow.id)).first() is None


def test_a_duplicate_key_fails_the_whole_statement(core: Core) -> None:
    events = table_of(EventRow)
    row = {"party_id": "p", "seq": 1, "kind": "k", "at": T0, "data": {}}
    with Session(core.engine) as session, session.begin():
        with pytest.raises(IntegrityError):
            append_rows(session, events, [row, row])
        session.rollback()
    with Session(core.engine) as session:
        assert session.execute(select(EventRow.id)).first() is None


def test_no_rows_is_no_statement(core: Core) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(core.engine, "before_cursor_execute", count)
    try:
        with Session(core.engine) as session, session.begin():
            append_rows(session, table_of(EventRow), [])
    finally:
        event.remove(core.engine, "before_cursor_execute", count)
    assert not any("INSERT" in s.upper() for s in statements)


def test_a_missing_column_with_a_python_default_is_refused(core: Core) -> None:
    """`tokens.label` has a default only SQLAlchemy applies: left out, it would silently be NULL."""
    row = {"id": "t", "party_id": None, "role": "admin", "token_hash": "h" * 64, "created_at": T0, "revoked_at": None}
    with Session(core.engine) as session, session.begin(), pytest.raises(ValueError, match="label"):
        append_rows(session, table_of(TokenRow), [row])
