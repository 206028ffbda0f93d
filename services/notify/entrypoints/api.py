"""HTTP routes of the notify service: none yet (health, metrics and feed come with the runtime).

The app is built from the service's spec (`services/notify/bootstrap.py`).
"""

from fastapi import APIRouter

ROUTERS: tuple[APIRouter, ...] = ()
