"""One NATS connection per process, reconnecting forever, shared by its relay and consumers."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import structlog
from nats.aio.client import DEFAULT_INBOX_PREFIX, Client
from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

FIRST_CONNECT_SECONDS = 3.0


class NatsConnection:
    """Connects lazily and keeps reconnecting; `connected` tells the health check the truth."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        inbox_prefix: str | None = None,
    ) -> None:
        self.url = url
        self.name = name
        # Credentials in the URL (nats://user:password@host) work too: nats-py reads them.
        self._user = user
        self._password = password
        self._tls = tls
        self._inbox_prefix = inbox_prefix or DEFAULT_INBOX_PREFIX.decode()
        self._client: Client | None = None
        self._jetstream: tuple[Client, JetStreamContext] | None = None
        self._lock = asyncio.Lock()
        self._closing = False  # set by drain(): the disconnect that follows is ours

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def client(self) -> Client:
        """The connected client; raises the connection error when NATS cannot be reached."""
        async with self._lock:
            if self._client is None or self._client.is_closed:
                self._closing = False
                self._client = await self._connect()
            return self._client

    async def _connect(self) -> Client:
        """Connects, or raises within `FIRST_CONNECT_SECONDS`.

        Once connected, the client reconnects for ever on its own. Its first connection would
        too (nats-py retries it endlessly), so that is bounded here: a caller that cannot reach
        NATS must hear so and do what it can without it (a consumer reads the feed instead).
        """
        client = Client()
        try:
            await asyncio.wait_for(
                client.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]  # seconds; a float works
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    tls=self._tls,
                    # Replies come to an inbox of our own; NATS lets no other user read it.
                    inbox_prefix=self._inbox_prefix,
                    user=self._user,
                    password=self._password,
                ),
                FIRST_CONNECT_SECONDS,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.close()
            raise
        return client

    async def jetstream(self) -> JetStreamContext:
        """One context per client: each context subscribes for its own publish acks."""
        client = await self.client()
        if self._jetstream is None or self._jetstream[0] is not client:
            self._jetstream = (client, client.jetstream(publish_async_max_pending=8000))
        return self._jetstream[1]

    async def drain(self) -> None:
        """Flushes what is in flight and closes; used on shutdown."""
        self._closing = True
        if self._client is not None and not self._client.is_closed:
            try:
                await asyncio.wait_for(self._client.drain(), timeout=5)
            except Exception:  # noqa: BLE001 - shutting down: close however the drain ended
                with contextlib.suppress(Exception):
                    await self._client.close()
        self._client = None
        self._jetstream = None

    async def _on_error(self, exc: Exception) -> None:
        log.warning("nats.error", error=str(exc))

    async def _on_disconnected(self) -> None:
        if self._closing:  # our own drain: not a fault
            log.info("nats.closed", url=self.url)
        else:
            log.warning("nats.disconnected", url=self.url)

    async def _on_reconnected(self) -> None:
        log.info("nats.reconnected", url=self.url)


def tls_context(ca: Path | None, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext | None:
    """A client TLS context trusting `ca` (the system's CAs without it), with an optional client cert."""
    if ca is None and cert is None:
        return None
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context
