"""check-in codes valid for every expected member; wrong check-in attempts recorded; orphaned reading items;
unique units per parent, assignments per target, items per position

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
    # Duplicates that races made before the constraints: one assignment kept per target, items renumbered.
    bind = op.get_bind()
    bind.execute(sa.text(
        "DELETE FROM reading_assignments WHERE id NOT IN (SELECT min(id) FROM reading_assignments "
        "GROUP BY list_id, coalesce(unit_id, 0), coalesce(user_id, 0))"))
    rows = bind.execute(sa.text("SELECT id, list_id FROM reading_items ORDER BY list_id, position, id")).all()
    numbered: dict[int, int] = {}
    for item_id, list_id in rows:
        numbered[list_id] = numbered.get(list_id, 0) + 1
        bind.execute(sa.text("UPDATE reading_items SET position = :position WHERE id = :id"),
                     {"position": -numbered[list_id], "id": item_id})
    bind.execute(sa.text("UPDATE reading_items SET position = -position"))
    op.create_index('uq_units_parent_name', 'units', [sa.text('coalesce(parent_id, 0)'), 'name'], unique=True)
    op.create_index('uq_reading_assignments_target', 'reading_assignments',
                    ['list_id', sa.text('coalesce(unit_id, 0)'), sa.text('coalesce(user_id, 0)')], unique=True)
    op.create_index('uq_reading_items_position', 'reading_items', ['list_id', 'position'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_reading_items_position', table_name='reading_items')
    op.drop_index('uq_reading_assignments_target', table_name='reading_assignments')
    op.drop_index('uq_units_parent_name', table_name='units')
    with op.batch_alter_table('reading_items') as batch:
        batch.drop_column('orphaned')
    op.drop_index('ix_checkin_attempts_member', table_name='checkin_attempts')
    op.drop_table('checkin_attempts')
    with op.batch_alter_table('checkin_tokens') as batch:
        batch.add_column(sa.Column('used_by', sa.Integer(), nullable=True))
