"""What every event store refuses before it queues a write: events too large, or unstorable.

An event must fit in one NATS message with room to spare, or the relay could never publish it;
and PostgreSQL cannot store U+0000 in text or JSON, which would fail every write committed in
the same batch. Both are refused for the one request that carries them, with a typed error,
on every backend alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from shared.contracts.base import EventPayload
from shared.eventstore.envelope import Metadata
from shared.eventstore.errors import EventTooLarge, UnstorableEvent

#: The default limit of one event's stored size: a quarter of NATS's default maximum payload.
DEFAULT_MAX_EVENT_BYTES = 256 * 1024

_NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"
# U+0000 as JSON writes it: \u0000 after an even number of backslashes (an odd number would
# make it the text "\u0000" typed by someone).
_NUL_IN_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def encode_checked(
    stream_id: str,
    payloads: Sequence[EventPayload],
    datas: Sequence[dict[str, Any]],
    meta: Metadata,
    max_bytes: int,
) -> list[str]:
    """Each event's data as JSON text; raises when one cannot be stored or relayed."""
    if _NUL in stream_id or _NUL in meta.actor:
        raise UnstorableEvent(f"the stream id or the actor of a write to {stream_id[:80]!r} holds U+0000")
    overhead = len(stream_id.encode()) + len(meta.actor.encode())
    texts = []
    for payload, data in zip(payloads, datas, strict=True):
        encoded = orjson.dumps(data)
        if _ESCAPED_NUL in encoded and _NUL_IN_JSON.search(encoded):
            raise UnstorableEvent(f"{payload.event_type} holds U+0000, which no text field may hold")
        size = len(encoded) + overhead
        if size > max_bytes:
            raise EventTooLarge(
                f"{payload.event_type} for {stream_id[:80]!r} is {size} bytes with its actor; "
                f"an event may be at most {max_bytes} bytes"
            )
        texts.append(encoded.decode())
    return texts
