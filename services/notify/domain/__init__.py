"""The notify domain (pure): no rules yet; when a reminder is due will be decided here."""
