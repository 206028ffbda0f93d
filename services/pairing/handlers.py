"""What the pairing service does; its commands and event handlers arrive with the pairing issue."""

COMMAND_HANDLERS: dict[type, object] = {}
EVENT_HANDLERS: dict[str, object] = {}
