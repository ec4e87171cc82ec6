"""Alembic's environment: runs on the engine that backend.feedback.migrate hands over."""

from alembic import context
from sqlalchemy import text

from backend.feedback.store import metadata

# Any constant shared by every backend: concurrent migrators wait for each other on it.
MIGRATION_LOCK = 7_283_001

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        context.run_migrations()
