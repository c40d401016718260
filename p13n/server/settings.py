"""All settings, read from the environment (prefix P13N_) here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P13N_", extra="ignore")

    home: Path = Field(default=Path(".p13n"), description="Where the embedded store lives.")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; SQLite under home when unset."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    require_consent_sdk: bool = Field(
        default=True, description="SDK-shaped events need a Tracking opt-in."
    )
    require_consent_flat: bool = Field(
        default=False, description="Flat (server-side) events need a Tracking opt-in."
    )
    profile_cache_size: int = 100_000
    warm_profiles: int = Field(
        default=100_000,
        description="Profiles loaded into the cache when the server starts (most recent first).",
    )
    sqlite_synchronous: str = Field(
        default="FULL", description="FULL: a 2xx means the event is on disk."
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'p13n.db').resolve()}"
