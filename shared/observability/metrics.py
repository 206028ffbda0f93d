"""Prometheus metrics of one service process, each on the process's own registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]


class ServiceMetrics:
    """The counters and gauges `/metrics` exposes."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.requests = Histogram(
            "carepair_http_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.labels = labels

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """Registers a gauge whose value is read at scrape time."""
        gauge = Gauge(name, doc, registry=self.registry)
        gauge.set_function(read)

    def render(self) -> bytes:
        return generate_latest(self.registry)
