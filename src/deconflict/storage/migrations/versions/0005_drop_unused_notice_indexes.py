"""notices: drop the single-column indexes on deadline_at and next_escalation_at

No query reads them since 0004: the escalation scan uses ix_notices_due. Each filing wrote one entry
per counterpart into each of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 18:20:00
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_notices_deadline_at", table_name="notices")
    op.drop_index("ix_notices_next_escalation_at", table_name="notices")


def downgrade() -> None:
    op.create_index("ix_notices_next_escalation_at", "notices", ["next_escalation_at"])
    op.create_index("ix_notices_deadline_at", "notices", ["deadline_at"])
