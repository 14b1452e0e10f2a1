"""document_versions: every text a document has had; documents.status / status_date: its validity (时效性)

Each existing document gets its version 1: its text and metadata as they are, dated when it was last saved
(``updated_at``), without heading levels (they were not kept; such a version is cut as plain text when it is
compared). Every existing document's status is ``unknown`` until someone says otherwise, so nothing is re-indexed
for it (the index's status field comes with the next full build, which the new index format asks for).
Downgrade drops the versions and the two columns.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

META = ("title", "issuer", "speaker", "level", "kind", "date", "doc_number", "language", "dates", "status",
        "status_date")
documents = sa.table('documents', *(sa.column(name) for name in (
    'id', 'title', 'issuer', 'speaker', 'level', 'kind', 'date', 'doc_number', 'language', 'status', 'status_date',
    'source_path', 'source_format', 'source_hash', 'text', 'char_count')),
    sa.column('dates', sa.JSON), sa.column('updated_at', sa.DateTime(timezone=True)))
versions = sa.table('document_versions', sa.column('document_id', sa.String), sa.column('number', sa.Integer),
                    sa.column('text', sa.Text), sa.column('meta', sa.JSON), sa.column('source_path', sa.Text),
                    sa.column('source_format', sa.String), sa.column('source_hash', sa.String),
                    sa.column('char_count', sa.Integer), sa.column('ingested_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy: copying `documents` on SQLite drops the old table, and with foreign
    # keys enforced that would delete every passage.
    op.add_column('documents', sa.Column('status', sa.String(length=20), server_default='unknown', nullable=False))
    op.add_column('documents', sa.Column('status_date', sa.String(length=10), nullable=True))
    op.create_index(op.f('ix_documents_status'), 'documents', ['status'], unique=False)
    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('heading_levels', sa.JSON(), nullable=True),
    sa.Column('source_path', sa.Text(), nullable=False),
    sa.Column('source_format', sa.String(length=10), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('char_count', sa.Integer(), nullable=False),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_document_versions_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_versions'))
    )
    op.create_index('uq_document_versions_number', 'document_versions', ['document_id', 'number'], unique=True)

    bind = op.get_bind()
    ids = bind.execute(sa.select(documents.c.id).order_by(documents.c.id)).scalars().all()
    for start in range(0, len(ids), 200):  # a few hundred texts in memory at a time
        rows = bind.execute(sa.select(documents).where(documents.c.id.in_(ids[start:start + 200]))).mappings().all()
        if rows:
            bind.execute(versions.insert(), [
                {"document_id": row["id"], "number": 1, "text": row["text"],
                 "meta": {name: row[name] for name in META}, "source_path": row["source_path"],
                 "source_format": row["source_format"], "source_hash": row["source_hash"],
                 "char_count": row["char_count"], "ingested_at": row["updated_at"]} for row in rows])


def downgrade() -> None:
    op.drop_index('uq_document_versions_number', table_name='document_versions')
    op.drop_table('document_versions')
    op.drop_index(op.f('ix_documents_status'), table_name='documents')  # SQLite drops no indexed column
    op.drop_column('documents', 'status_date')
    op.drop_column('documents', 'status')
