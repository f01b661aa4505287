"""notices: a partial index on when each open notice is next due (the escalation scan)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 08:00:00
"""

from alembic import op
import sqlalchemy as sa

from deconflict.storage.tables import NOTICE_OPEN_SQL

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_notices_due",
        "notices",
        [sa.text("coalesce(next_escalation_at, deadline_at)")],
        sqlite_where=sa.text(NOTICE_OPEN_SQL),
        postgresql_where=sa.text(NOTICE_OPEN_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_notices_due", table_name="notices")
