"""What `carepair up` reads from `CAREPAIR_*` variables about keeping its children running."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LauncherSettings(BaseSettings):
    """How often a child may die before the launcher gives up, and how long it waits in between."""

    model_config = SettingsConfigDict(env_prefix="CAREPAIR_", extra="ignore")

    restart_limit: int = Field(5, ge=1, description="deaths of one child within the window that stop all")
    restart_window_seconds: float = Field(120.0, gt=0, description="the window the deaths are counted in")
    restart_backoff_seconds: float = Field(1.0, gt=0, description="wait before the first restart; doubles")
