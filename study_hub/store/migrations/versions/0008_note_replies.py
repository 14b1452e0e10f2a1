"""discussion under shared notes (交流研讨): note_replies (one level, optionally quoting a reply; one row per
note, author and text) and note_reads (how far each person has read each note's discussion)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('note_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('quote_reply_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_note_replies_author_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hidden_by'], ['users.id'], name=op.f('fk_note_replies_hidden_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_note_replies_note_id_notes'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quote_reply_id'], ['note_replies.id'],
                            name=op.f('fk_note_replies_quote_reply_id_note_replies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_replies'))
    )
    op.create_index('ix_note_replies_note', 'note_replies', ['note_id', 'id'], unique=False)
    op.create_index(op.f('ix_note_replies_author_id'), 'note_replies', ['author_id'], unique=False)
    op.create_index('uq_note_replies_once', 'note_replies', ['note_id', 'author_id', 'fingerprint'], unique=True)
    op.create_table('note_reads',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('last_seen_reply_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_note_reads_note_id_notes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_note_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'note_id', name=op.f('pk_note_reads'))
    )
    op.create_index(op.f('ix_note_reads_note_id'), 'note_reads', ['note_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_note_reads_note_id'), table_name='note_reads')
    op.drop_table('note_reads')
    op.drop_index('uq_note_replies_once', table_name='note_replies')
    op.drop_index(op.f('ix_note_replies_author_id'), table_name='note_replies')
    op.drop_index('ix_note_replies_note', table_name='note_replies')
    op.drop_table('note_replies')
