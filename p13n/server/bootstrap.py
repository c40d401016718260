"""The composition root: build the engine from settings."""

from __future__ import annotations

from p13n.domain.engine import Engine, EngineOptions
from p13n.domain.store import SqlStore, open_engine
from p13n.server.settings import Settings

__all__ = ["build_engine"]


def build_engine(settings: Settings) -> Engine:
    store = SqlStore(
        open_engine(settings.resolved_database_url(), synchronous=settings.sqlite_synchronous)
    )
    options = EngineOptions(
        require_consent_sdk=settings.require_consent_sdk,
        require_consent_flat=settings.require_consent_flat,
        profile_cache_size=settings.profile_cache_size,
    )
    return Engine(store, options)
