"""check-in codes valid for every expected member; wrong check-in attempts recorded; orphaned reading items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkin_tokens') as batch:
        batch.drop_column('used_by')
    op.create_table('checkin_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['study_sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_checkin_attempts_member', 'checkin_attempts', ['session_id', 'user_id', 'at'], unique=False)
    with op.batch_alter_table('reading_items') as batch:
        batch.add_column(sa.Column('orphaned', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('reading_items') as batch:
        batch.drop_column('orphaned')
    op.drop_index('ix_checkin_attempts_member', table_name='checkin_attempts')
    op.drop_table('checkin_attempts')
    with op.batch_alter_table('checkin_tokens') as batch:
        batch.add_column(sa.Column('used_by', sa.Integer(), nullable=True))
