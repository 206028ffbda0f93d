"""structlog JSON logs carrying the correlation id, with personal data kept out by design.

Nothing logs payloads. As a second line of defence, keys that name personal data are
replaced by "[redacted]" before a line is written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "name",
        "full_name",
        "id_number",
        "resident_id",
        "phone",
        "mobile",
        "address",
        "residence",
        "health",
        "disability",
        "guardian",
        "photo",
        "photos",
        "text",
        "note",
        "payload",
        "data",
        "body",
        "birth_date",
    }
)


def redact_personal(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is when a line is written (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(service: str, level: str = "info") -> None:
    """Sends JSON lines to stderr with service, level, time and any bound correlation id."""
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(stream=_CurrentStderr(), level=numeric, format="%(message)s", force=True)
    for chatty in ("alembic", "httpx", "httpcore"):
        # Their INFO lines are per request or per migration step: noise, and not JSON.
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
