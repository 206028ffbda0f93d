"""What each service may publish and subscribe to on NATS: its own subjects and JetStream calls.

The set is the least nats-py needs for what a service does. Its relay publishes to
`<prefix>.<service>.>` and keeps the stream in line (stream info, create, update). Each
JetStream consumer it runs looks its durable consumer up, creates it with its filter (the
filter is part of the create subject, so the server holds the consumer to that producer), pulls
from it and acknowledges what it applied. Every reply (publish acks, API answers, pulled
messages) comes to the service's own inbox prefix, so no service can read another's replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.messaging.stream import StreamSettings

JS_API = "$JS.API"


def inbox_prefix(service: str) -> str:
    """The inbox of a service's connection: nats-py adds `.<nuid>` for each reply subject."""
    return f"_INBOX.{service}"


@dataclass(frozen=True, slots=True)
class Follow:
    """One JetStream consumer a service runs: its durable name and the producer it follows."""

    durable: str
    producer: str


@dataclass(frozen=True, slots=True)
class Permissions:
    """The subjects one NATS user may publish to and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def service_permissions(service: str, follows: Iterable[Follow], stream: StreamSettings) -> Permissions:
    """The least a service needs: relay its own events and run its own consumers."""
    name = stream.name
    publish = [
        stream.producer_filter(service),
        f"{JS_API}.STREAM.INFO.{name}",
        f"{JS_API}.STREAM.CREATE.{name}",
        f"{JS_API}.STREAM.UPDATE.{name}",
    ]
    for follow in follows:
        publish += [
            f"{JS_API}.CONSUMER.INFO.{name}.{follow.durable}",
            f"{JS_API}.CONSUMER.CREATE.{name}.{follow.durable}.{stream.producer_filter(follow.producer)}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{name}.{follow.durable}",
            f"$JS.ACK.{name}.{follow.durable}.>",
        ]
    return Permissions(tuple(publish), (f"{inbox_prefix(service)}.>",))
