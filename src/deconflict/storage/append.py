"""Append-only rows (audit entries and their links, events, notices) written by the driver's executemany.

A filing that notifies 19 counterparts appends about a hundred such rows. SQLAlchemy's Core
executemany builds a parameter dictionary per row and runs every value through its bind processors
one call at a time, which cost more than the database's own inserts. Here the statement is compiled
once per table, column set and dialect, and rows go to the driver as plain tuples (or dicts, for
drivers with named parameters), converted by the same bind processors SQLAlchemy would use, so what
is stored is identical (tests/storage/test_append.py compares the raw rows on both backends). The
statement still goes through the connection (`exec_driver_sql`): the transaction, error translation
and cursor events are the same (docs/benchmarks.md, "HTTP filing, afternoon session of
2026-12-03", has what it saved).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: The row keys in parameter order.
    keys: tuple[str, ...]
    #: Per key, its bind processor (None: the value is passed as is), whether that processor leaves
    #: None as None (then a None, frequent in these rows, skips the call), and whether equal values
    #: are converted once (datetimes: a command's rows mostly carry its one instant).
    processors: tuple[tuple[Callable[[Any], Any] | None, bool, bool], ...]
    #: The bind names, for drivers with named parameters; None for positional ones.
    names: tuple[str, ...] | None


def _processor(table: Table, key: str, dialect: Dialect) -> tuple[Callable[[Any], Any] | None, bool, bool]:
    column_type = table.c[key].type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    # A JSON column turns None into the JSON text 'null': only a processor that keeps None may be skipped.
    keeps_none = process is None or process(None) is None
    # Equal datetimes are the same instant (whatever their zones), which every backend stores alike. A
    # notice's three times, an event's or an audit entry's: one conversion a command, not one a row.
    once = process is not None and isinstance(getattr(column_type, "impl_instance", column_type), DateTime)
    return process, keeps_none, once


@lru_cache(maxsize=128)
def _compiled(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Compiled:
    missing = [
        c.name for c in table.columns if c.name not in keys and c.default is not None and c.server_default is None
    ]
    if missing:
        raise ValueError(f"append to {table.name}: columns with Python-side defaults must be given: {missing}")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ()) if dialect.positional else keys
    processors = tuple(_processor(table, k, dialect) for k in order)
    return _Compiled(compiled.string, order, processors, None if dialect.positional else keys)


def _bound(plan: _Compiled, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows' parameters, converted column by column (one list comprehension per column that
    has a processor: far fewer interpreter frames than a generator per row)."""
    columns = []
    for key, (process, keeps_none, once) in zip(plan.keys, plan.processors, strict=True):
        values = [row[key] for row in rows]
        if process is not None and once:
            converted = {v: None if v is None and keeps_none else process(v) for v in set(values)}
            values = [converted[v] for v in values]
        elif process is not None and keeps_none:
            values = [None if v is None else process(v) for v in values]
        elif process is not None:
            values = [process(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def append_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the same keys, each key a column of `table`) in one executemany."""
    if not rows:
        return
    connection = session.connection()
    plan = _compiled(table, tuple(rows[0]), connection.dialect)
    values = _bound(plan, rows)
    if plan.names is None:
        connection.exec_driver_sql(plan.sql, values)
    else:
        names = plan.names
        connection.exec_driver_sql(plan.sql, [dict(zip(names, v, strict=True)) for v in values])
