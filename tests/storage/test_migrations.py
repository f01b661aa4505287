"""The migrations build exactly the schema that `tables.py` declares, on both backends, and step back down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from deconflict.storage.database import alembic_config, make_engine, upgrade
from deconflict.storage.tables import Base
from tests.conftest import PG_ADMIN_URL

# SQLite cannot reflect expression indexes (ix_notices_due); PostgreSQL compares them too.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no schema at all (a new PostgreSQL database per test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    name = f"deconflict_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_migrations_build_the_declared_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert _differences(empty_engine) == []
    assert set(inspect(empty_engine).get_table_names()) >= set(Base.metadata.tables)


def test_notices_keep_only_the_indexes_their_queries_use(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    names = {ix["name"] for ix in inspect(empty_engine).get_indexes("notices")}
    assert "ix_notices_deadline_at" not in names
    assert "ix_notices_next_escalation_at" not in names
    assert {"ix_notices_to_party_id", "ix_notices_from_party_id", "ix_notices_operation_id"} <= names


def test_downgrade_to_nothing_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    cfg = alembic_config(empty_engine)
    with empty_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert _differences(empty_engine) == []
