"""The one place JetStream's stream is declared: name, subjects, retention, de-duplication."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

#: Headers every carepair message carries besides `Nats-Msg-Id` (the event id).
POSITION_HEADER = "Carepair-Position"
PRODUCER_HEADER = "Carepair-Producer"
EVENT_TYPE_HEADER = "Carepair-Event-Type"
CORRELATION_HEADER = "Carepair-Correlation-Id"


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Names and retention of carepair's stream; tests give each run its own name and prefix."""

    name: str = "CAREPAIR"
    subject_prefix: str = "carepair"
    replicas: int = 1
    duplicate_window_seconds: float = 120.0

    def subject(self, producer: str, event_type: str) -> str:
        return f"{self.subject_prefix}.{producer}.{event_type}"

    def producer_filter(self, producer: str) -> str:
        return f"{self.subject_prefix}.{producer}.>"

    def config(self) -> StreamConfig:
        # Limits retention with no limits: history is kept, so a projection can be rebuilt by
        # replaying the stream. The producers' stores remain the record either way.
        return StreamConfig(
            name=self.name,
            subjects=[f"{self.subject_prefix}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            num_replicas=self.replicas,
            duplicate_window=self.duplicate_window_seconds,
        )


async def ensure_stream(js: JetStreamContext, settings: StreamSettings) -> None:
    """Creates the stream, or brings an existing one's settings in line."""
    try:
        await js.stream_info(settings.name)
    except NotFoundError:
        await js.add_stream(settings.config())
    else:
        await js.update_stream(settings.config())
