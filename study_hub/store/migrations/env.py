"""Alembic environment: runs migrations on the engine the app/CLI made (or one built from Settings)."""

from alembic import context

from study_hub.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # run by the plain `alembic` command: use the configured database
    from study_hub.config import Settings
    from study_hub.store.db import make_engine

    engine = make_engine(Settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
