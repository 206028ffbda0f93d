"""Which caller may use which routes: a scope per group of routes, and the grants of each caller.

A route names its scope (`shared.web.security.requires`); this table is the one place that says
who holds it. A caller not listed holds nothing: it is refused on every route with a scope.
"""

from __future__ import annotations

from collections.abc import Mapping

GRANTS: Mapping[str, frozenset[str]] = {
    # The edge: it forwards the routes it serves, and nothing else.
    "gateway": frozenset({"visits.log", "reporting.compliance"}),
    # People at the county office, through `carepair import`, the demo loader or curl.
    "operator": frozenset({"pairing.commands", "pairing.queries"}),
    # Consumers read the feeds of the producers their read models follow.
    "reporting": frozenset({"visits.feed"}),
}


def feed_scope(service: str) -> str:
    """The scope of a service's `GET /feed/events`."""
    return f"{service}.feed"


def callers_of(service: str, grants: Mapping[str, frozenset[str]] = GRANTS) -> tuple[str, ...]:
    """The callers a service must recognise: those holding any of its scopes."""
    prefix = f"{service}."
    return tuple(caller for caller, scopes in grants.items() if any(s.startswith(prefix) for s in scopes))
