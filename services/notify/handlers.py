"""What the notify service does: no commands yet; reminders by SMS and WeChat are to come here."""

COMMAND_HANDLERS: dict[type, object] = {}
EVENT_HANDLERS: dict[str, object] = {}
