"""Logs and metrics: structlog JSON with correlation ids, Prometheus counters."""
