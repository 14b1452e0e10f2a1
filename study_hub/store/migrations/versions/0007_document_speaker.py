"""documents.speaker: the person who spoke, beside the issuing body; issuers that fold a speaker in are split

"国务院（总理李强）" becomes issuer 国务院 + speaker 总理李强, by the rule ingest uses (``split_issuer``), so a
migrated row equals the same document ingested again. The split rows get a new ``updated_at``: the next index
update re-indexes them and the issuer facet shows the body. Downgrade folds the speaker back into the issuer.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from study_hub.domain import fold_issuer, split_issuer

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

documents = sa.table('documents', sa.column('id', sa.String), sa.column('issuer', sa.Text),
                     sa.column('speaker', sa.Text), sa.column('updated_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy: copying `documents` on SQLite drops the old table, and with foreign
    # keys enforced that would delete every passage.
    op.add_column('documents', sa.Column('speaker', sa.Text(), nullable=True))
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(documents.c.id, documents.c.issuer).where(
        sa.or_(documents.c.issuer.like('%）'), documents.c.issuer.like('%)')))).all()
    for doc_id, issuer in rows:
        body, speaker = split_issuer(issuer)
        if speaker is not None:
            bind.execute(documents.update().where(documents.c.id == doc_id).values(
                issuer=body, speaker=speaker, updated_at=now))


def downgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(documents.c.id, documents.c.issuer, documents.c.speaker).where(
        documents.c.speaker.is_not(None), documents.c.speaker != '')).all()
    for doc_id, issuer, speaker in rows:
        bind.execute(documents.update().where(documents.c.id == doc_id).values(
            issuer=fold_issuer(issuer, speaker), updated_at=now))
    op.drop_column('documents', 'speaker')
