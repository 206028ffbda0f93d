"""The HTTP edge every service shares: errors, credentials, read-your-writes, health."""
