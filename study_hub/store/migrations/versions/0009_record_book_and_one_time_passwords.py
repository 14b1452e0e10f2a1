"""study_sessions.presider_id / recorder_id (主持人, 记录人 of the record book); users.must_change_password
(a one-time password must be replaced at the next sign-in)

Plain ADD COLUMN on both backends, no batch copy: copying `study_sessions` on SQLite drops the old table, and
with foreign keys enforced that would delete its attendance rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('study_sessions', sa.Column('presider_id', sa.Integer(), nullable=True))
    op.add_column('study_sessions', sa.Column('recorder_id', sa.Integer(), nullable=True))
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; nothing refers to these three.
    op.drop_column('users', 'must_change_password')
    op.drop_column('study_sessions', 'recorder_id')
    op.drop_column('study_sessions', 'presider_id')
