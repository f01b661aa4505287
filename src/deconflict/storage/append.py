"""Append-only rows (audit entries and their links, events, notices) written by the driver's executemany.

A filing that notifies 19 counterparts appends about a hundred such rows. SQLAlchemy's Core
executemany builds a parameter dictionary per row and runs every value through its bind processors
one call at a time, which cost more than the database's own inserts. Here the statement is compiled
once per table, column set and dialect, and rows go to the driver as plain tuples (or dicts, for
drivers with named parameters), converted by the same bind processors SQLAlchemy would use, so what
is stored is identical (tests/storage/test_append.py compares the raw rows on both backends). The
statement still goes through the connection (`exec_driver_sql`): the transaction, error translation
and cursor events are the same. Measured side by side, a 19-counterpart filing is about 3 % faster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: The row keys in parameter order, each with its bind processor (None: passed as is).
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    #: The bind names, for drivers with named parameters; None for positional ones.
    names: tuple[str, ...] | None


@lru_cache(maxsize=128)
def _compiled(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Compiled:
    missing = [
        c.name for c in table.columns if c.name not in keys and c.default is not None and c.server_default is None
    ]
    if missing:
        raise ValueError(f"append to {table.name}: columns with Python-side defaults must be given: {missing}")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    processors = tuple((k, table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in keys)
    if dialect.positional:
        order = compiled.positiontup or []
        by_key = dict(processors)
        return _Compiled(compiled.string, tuple((k, by_key[k]) for k in order), None)
    return _Compiled(compiled.string, processors, keys)


def append_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the same keys, each key a column of `table`) in one executemany."""
    if not rows:
        return
    connection = session.connection()
    plan = _compiled(table, tuple(rows[0]), connection.dialect)
    columns = plan.columns
    values = [tuple(v if p is None else p(v) for v, p in ((row[k], p) for k, p in columns)) for row in rows]
    if plan.names is None:
        connection.exec_driver_sql(plan.sql, values)
    else:
        names = plan.names
        connection.exec_driver_sql(plan.sql, [dict(zip(names, v, strict=True)) for v in values])
