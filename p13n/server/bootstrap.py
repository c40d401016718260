"""The composition root: build the engine and the recommendation service from settings."""

from __future__ import annotations

import functools

from p13n.domain.access import Authenticator, JwtConfig, JwtVerifier
from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import ItemVectors
from p13n.domain.services import (
    DecisionService,
    Engine,
    EngineOptions,
    PersonalizationLog,
    RecommendService,
    api_keys,
)
from p13n.domain.store import SqlStore, open_engine
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
from p13n.server.settings import Settings

__all__ = [
    "build_access",
    "build_engine",
    "build_jwt_verifier",
    "build_decision_service",
    "build_recommend_service",
    "shared_embedder",
]


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


def build_jwt_verifier(settings: Settings) -> JwtVerifier | None:
    """JWTs are accepted when P13N_JWT_ISSUER, P13N_JWT_AUDIENCE and one of P13N_JWT_PUBLIC_KEY
    / P13N_JWT_SECRET / P13N_JWT_JWKS_FILE are set; None when no JWT setting is. A partial setup
    is refused (at `create_app`) rather than silently accepting no JWTs."""
    s = settings
    given = [s.jwt_issuer, s.jwt_audience, s.jwt_public_key, s.jwt_secret, s.jwt_jwks_file]
    if all(v is None for v in given):
        return None
    if not s.jwt_issuer or not s.jwt_audience:
        raise InvalidInput(
            "JWT settings are incomplete: issuer and audience are both required.",
            hint="Set P13N_JWT_ISSUER and P13N_JWT_AUDIENCE, or unset every P13N_JWT_* setting.",
        )
    jwks = None
    if s.jwt_jwks_file is not None:
        try:
            jwks = s.jwt_jwks_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot read P13N_JWT_JWKS_FILE {str(s.jwt_jwks_file)!r} ({exc.strerror}).",
                hint="Point it at the issuer's JWKS saved as a file.",
            ) from exc
    config = JwtConfig(
        issuer=s.jwt_issuer,
        audience=s.jwt_audience,
        public_key_pem=s.jwt_public_key,
        secret=s.jwt_secret,
        jwks_json=jwks,
    )
    return JwtVerifier(config)


def build_access(engine: Engine, jwt: JwtVerifier | None = None) -> Authenticator:
    """Who may call: the API keys of `engine`'s store (shared per engine in this process, so a
    revocation anywhere in the process applies at once), plus JWTs when configured."""
    return Authenticator(api_keys(engine), jwt)


def build_decision_service(
    engine: Engine,
    recommend: RecommendService,
    *,
    reload_seconds: float | None = None,
    budget_ms: float | None = None,
) -> DecisionService:
    """Decisions over `engine` and `recommend`, logging to the store through a background
    writer. `reload_seconds` re-reads the configuration periodically (a server sets it, so a
    `p13n config apply` beside it shows). Close it to write out the log."""
    service = DecisionService(
        engine, recommend, log=PersonalizationLog(engine.store), budget_ms=budget_ms
    )
    if reload_seconds:
        service.start_auto_reload(reload_seconds)
    return service
