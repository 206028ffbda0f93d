"""Alembic revisions of the key store's table (the `keystore` branch)."""
