"""Alembic environment shared by every carepair database: the URL comes from the caller."""

from alembic import context
from sqlalchemy import create_engine, pool, text

url = context.config.attributes["url"]
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes migrating one database at once take turns; the lock ends with the commit.
            connection.execute(text("SELECT pg_advisory_xact_lock(622925)"))
        context.run_migrations()
connectable.dispose()
