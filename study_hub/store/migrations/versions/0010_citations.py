"""citations between documents (法条联想): the references found in passages and what they resolve to; the keys
documents are cited by

The stored documents' citations are found and resolved here, by the code ingest uses (``store.citations.rebuild``),
so an upgraded library has them at once: re-ingesting unchanged files would not (an unchanged file is a no-op).
New tables only: ``documents`` is not copied (on SQLite, with foreign keys enforced, a copy would delete every
passage). Downgrade drops the two tables.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citation_keys',
    sa.Column('document_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_citation_keys_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'key', name=op.f('pk_citation_keys'))
    )
    op.create_index(op.f('ix_citation_keys_key'), 'citation_keys', ['key'], unique=False)
    op.create_table('citations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=200), nullable=False),
    sa.Column('passage_id', sa.String(length=240), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('surface', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('target_key', sa.String(length=300), nullable=True),
    sa.Column('article', sa.String(length=40), nullable=True),
    sa.Column('to_document_id', sa.String(length=200), nullable=True),
    sa.Column('to_passage_id', sa.String(length=240), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_citations_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['passage_id'], ['passages.id'],
                            name=op.f('fk_citations_passage_id_passages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_document_id'], ['documents.id'],
                            name=op.f('fk_citations_to_document_id_documents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_passage_id'], ['passages.id'],
                            name=op.f('fk_citations_to_passage_id_passages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citations'))
    )
    op.create_index(op.f('ix_citations_document_id'), 'citations', ['document_id'], unique=False)
    op.create_index(op.f('ix_citations_passage_id'), 'citations', ['passage_id'], unique=False)
    op.create_index(op.f('ix_citations_target_key'), 'citations', ['target_key'], unique=False)
    op.create_index(op.f('ix_citations_to_document_id'), 'citations', ['to_document_id'], unique=False)
    op.create_index(op.f('ix_citations_to_passage_id'), 'citations', ['to_passage_id'], unique=False)

    from study_hub.store.citations import rebuild

    rebuild(Session(bind=op.get_bind()))  # inside the migration's transaction: all of it or none


def downgrade() -> None:
    op.drop_index(op.f('ix_citations_to_passage_id'), table_name='citations')
    op.drop_index(op.f('ix_citations_to_document_id'), table_name='citations')
    op.drop_index(op.f('ix_citations_target_key'), table_name='citations')
    op.drop_index(op.f('ix_citations_passage_id'), table_name='citations')
    op.drop_index(op.f('ix_citations_document_id'), table_name='citations')
    op.drop_table('citations')
    op.drop_index(op.f('ix_citation_keys_key'), table_name='citation_keys')
    op.drop_table('citation_keys')
