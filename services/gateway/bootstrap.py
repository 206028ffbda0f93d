"""Wires the gateway: settings and the upstream clients."""

from services.gateway.adapters.upstream import Upstreams
from services.gateway.settings import GatewaySettings


def build_upstreams(settings: GatewaySettings) -> Upstreams:
    return Upstreams(
        settings.service_urls(),
        settings.service_token.get_secret_value(),
        settings.upstream_timeout_seconds,
    )
