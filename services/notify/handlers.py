"""What the notify service does; its commands and event handlers arrive with the notify issue."""

COMMAND_HANDLERS: dict[type, object] = {}
EVENT_HANDLERS: dict[str, object] = {}
