"""Alembic environment shared by every carepair database: the URL comes from the caller."""

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.attributes["url"]
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
