"""What `carepair up` reads from `CAREPAIR_*` variables about its children and their logs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LauncherSettings(BaseSettings):
    """How often a child may die before the launcher gives up, and how large its logs grow."""

    model_config = SettingsConfigDict(env_prefix="CAREPAIR_", extra="ignore")

    restart_limit: int = Field(5, ge=1, description="deaths of one child within the window that stop all")
    restart_window_seconds: float = Field(120.0, gt=0, description="the window the deaths are counted in")
    restart_backoff_seconds: float = Field(1.0, gt=0, description="wait before the first restart; doubles")
    log_max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="size at which a log file rotates")
    stream_name: str = Field("CAREPAIR", description="the JetStream stream the services use")
    subject_prefix: str = Field("carepair", description="the services' subjects: <prefix>.<service>.>")
    log_backups: int = Field(3, ge=0, description="rotated files kept: <name>.log.1 (newest) and on")
