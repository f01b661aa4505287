"""core schema: parties, tokens, agreements, operations, extents, zones, conflicts

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 00:43:39.819062
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('agreements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('area', sa.JSON(), nullable=True),
    sa.Column('min_notice_s', sa.Float(), nullable=False),
    sa.Column('lateral_buffer_m', sa.Float(), nullable=False),
    sa.Column('vertical_buffer_m', sa.Float(), nullable=False),
    sa.Column('time_buffer_s', sa.Float(), nullable=False),
    sa.Column('late_policy', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('conflicts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=False),
    sa.Column('subject_party_id', sa.String(length=36), nullable=False),
    sa.Column('other_kind', sa.String(length=16), nullable=False),
    sa.Column('other_id', sa.String(length=36), nullable=False),
    sa.Column('other_party_id', sa.String(length=36), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflicts_cleared_at'), ['cleared_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_other_id'), ['other_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_other_party_id'), ['other_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_subject_party_id'), ['subject_party_id'], unique=False)

    op.create_table('counters',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('parties',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('agreement_members',
    sa.Column('agreement_id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('agreement_id', 'party_id')
    )
    op.create_table('operations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('private', sa.JSON(), nullable=False),
    sa.Column('late_notice', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operations_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operations_revision'), ['revision'], unique=False)
        batch_op.create_index(batch_op.f('ix_operations_state'), ['state'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_party_id'), ['party_id'], unique=False)

    op.create_table('zones',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('volume', sa.JSON(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zones_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zones_revision'), ['revision'], unique=False)

    op.create_table('extents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operation_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('volume', sa.JSON(), nullable=False),
    sa.Column('time_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('altitude_lower_m', sa.Float(), nullable=False),
    sa.Column('altitude_upper_m', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('extents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extents_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index('ix_extents_time', ['time_start', 'time_end'], unique=False)

    
    op.bulk_insert(sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger)), [{"name": "revision", "value": 0}])


def downgrade() -> None:
    
    with op.batch_alter_table('extents', schema=None) as batch_op:
        batch_op.drop_index('ix_extents_time')
        batch_op.drop_index(batch_op.f('ix_extents_operation_id'))

    op.drop_table('extents')
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zones_revision'))
        batch_op.drop_index(batch_op.f('ix_zones_party_id'))

    op.drop_table('zones')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_party_id'))

    op.drop_table('tokens')
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operations_state'))
        batch_op.drop_index(batch_op.f('ix_operations_revision'))
        batch_op.drop_index(batch_op.f('ix_operations_party_id'))

    op.drop_table('operations')
    op.drop_table('agreement_members')
    op.drop_table('parties')
    op.drop_table('counters')
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflicts_subject_party_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_subject_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_other_party_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_other_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_cleared_at'))

    op.drop_table('conflicts')
    op.drop_table('agreements')
    
