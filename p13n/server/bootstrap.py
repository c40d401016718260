"""The composition root: build the engine and the recommendation service from settings."""

from __future__ import annotations

import functools

from p13n.domain.engine import Engine, EngineOptions
from p13n.domain.recommend import ItemVectors, RecommendService
from p13n.domain.store import SqlStore, open_engine
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
from p13n.server.settings import Settings

__all__ = ["build_engine", "build_recommend_service", "shared_embedder"]


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


@functools.cache
def shared_embedder() -> MiniLMEmbedder:
    """One MiniLM per process: the model is read-only once loaded (it loads on first use)."""
    return MiniLMEmbedder()


def build_recommend_service(engine: Engine, settings: Settings) -> RecommendService:
    """Recommendations over `engine`: item vectors in Chroma under P13N_HOME, embedded by the
    process's MiniLM, the objective model saved under P13N_HOME/models. Registers itself as an
    item listener, so catalog upserts through `engine` are embedded from then on."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    vectors = ItemVectors(ChromaVectorIndex(home / "vectors"), shared_embedder())
    return RecommendService(engine, vectors=vectors, model_dir=home / "models")
