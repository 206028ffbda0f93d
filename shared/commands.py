"""The base of every service's commands: what someone asks a service to do.

A command is a frozen model, not an event: a route, a reaction or a timer builds one, and the
service's `decide_*` take it with the state it concerns and return the events that record what
happened. Its fields are written once: a request body derives from the command (or from its
terms), and an event that records the command's fields is built from them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    """A request to change something: frozen, and no field it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")
