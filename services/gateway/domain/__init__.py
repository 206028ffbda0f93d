"""The gateway has no domain of its own: it is the edge in front of the services."""
