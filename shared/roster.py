"""The one list of carepair's processes: each one's name, port and app.

Settings, the launcher, the secrets, the gateway, the deployment and the documentation read
the services from here; adding a service starts with one line below. `app` is an import path
(`module:factory`), not an import, so that this library imports no service.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The gateway listens here; each service at this port plus its offset.
BASE_PORT = 8080


@dataclass(frozen=True)
class Member:
    """One process of the system."""

    name: str
    port_offset: int
    app: str  # `module:factory`, the factory returning the process's ASGI app
    summary: str

    def port(self, base: int = BASE_PORT) -> int:
        return base + self.port_offset


GATEWAY = Member(
    "gateway", 0, "services.gateway.bootstrap:create_app", "the edge: login, routing, the web pages"
)

#: The services behind the gateway, in the order they start.
SERVICES: tuple[Member, ...] = (
    Member(
        "pairing",
        1,
        "services.pairing.bootstrap:create_app",
        "people cared for, cadres and their pairings",
    ),
    Member("visits", 2, "services.visits.bootstrap:create_app", "contacts and visits the cadres log"),
    Member("notify", 3, "services.notify.bootstrap:create_app", "reminders by SMS and WeChat"),
    Member(
        "reporting",
        4,
        "services.reporting.bootstrap:create_app",
        "how each pairing measures against the work standard",
    ),
)

#: Every process `carepair up` runs: the services, then the gateway in front of them.
ROSTER: tuple[Member, ...] = (*SERVICES, GATEWAY)

SERVICE_NAMES: tuple[str, ...] = tuple(m.name for m in SERVICES)


def member(name: str) -> Member:
    """The roster's entry of `name`; raises `KeyError` naming the known ones."""
    for entry in ROSTER:
        if entry.name == name:
            return entry
    raise KeyError(f"no carepair process is called {name!r}: known are {', '.join(m.name for m in ROSTER)}")
