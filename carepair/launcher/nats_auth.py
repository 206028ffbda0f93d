"""The NATS users of carepair's services, rendered as a nats-server `authorization` block.

`carepair up` writes the block into its embedded server's config with the passwords it
generated; `deploy/nats.conf` holds the same block with each password taken from nats-server's
environment. Passwords are kept in plain text in the config: the file is mode 0600 and only the
server reads it (nats-server can hold bcrypt hashes instead; see docs/operations.md).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from shared.messaging.permissions import Permissions, service_permissions
from shared.messaging.stream import StreamSettings
from shared.roster import SERVICE_NAMES

SERVICES = SERVICE_NAMES  # each logs in to NATS as a user of its own


@dataclass(frozen=True, slots=True)
class NatsUser:
    """One user: its name, its password (or `$VARIABLE` for one from the environment), its permissions."""

    name: str
    password: str
    permissions: Permissions


def service_users(passwords: Mapping[str, str], stream: StreamSettings) -> list[NatsUser]:
    """A user per service, allowed what that service's relay and consumers need."""
    users = []
    for name in SERVICES:
        # Found by the roster name; their specs say what they consume.
        spec = importlib.import_module(f"services.{name}.bootstrap").SPEC
        users.append(NatsUser(name, passwords[name], service_permissions(name, spec.follows(), stream)))
    return users


def password_variable(service: str) -> str:
    """The variable that holds a service's NATS password under docker compose."""
    return f"CAREPAIR_NATS_{service.upper()}_PASSWORD"


def authorization_block(users: list[NatsUser]) -> str:
    """The `authorization { users = [...] }` block; no user, no anonymous access."""
    lines = ["authorization {", "  users = ["]
    for user in users:
        password = user.password if user.password.startswith("$") else json.dumps(user.password)
        lines += [
            "    {",
            f"      user: {json.dumps(user.name)}",
            f"      password: {password}",
            "      permissions: {",
            *_allow("publish", user.permissions.publish),
            *_allow("subscribe", user.permissions.subscribe),
            "      }",
            "    }",
        ]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def _allow(direction: str, subjects: tuple[str, ...]) -> list[str]:
    listed = [f"          {json.dumps(subject)}" for subject in subjects]
    return [f"        {direction}: {{allow: [", *listed, "        ]}"]
