"""The composition root: every service of a process is built here, once, from settings.

`build_services` makes one `AppServices` (the engine over its store, recommendations with
their vectors and model, decisions with the personalization log and its pipeline aggregates
(`PipelineStats`, which also counts the engine's ingest outcomes), the attribution reports
(`MeasureService`, which in a server also re-weights bandit experiments when due), identity
resolution and
control, API keys and the authenticator). The app's lifespan holds it (`app.state.services`),
every CLI command opens one (`open_services`), `p13n mcp` builds one; routes, tools and
commands receive it and build nothing themselves. `p13n keys` is the one exception: it opens
only the key table, so that minting a key never loads a tenant.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from p13n.domain.access import Authenticator, JwtConfig, JwtVerifier, RateLimiter
from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import ItemVectors
from p13n.domain.services import (
    ApiKeys,
    DecisionService,
    Engine,
    EngineOptions,
    IdentityControl,
    IdentityService,
    MeasureService,
    PersonalizationLog,
    PipelineStats,
    PrivacyService,
    RecommendService,
    SegmentCounts,
    sql_store,
)
from p13n.domain.store import SqlStore, open_engine
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
from p13n.server.heap import scrub_freed_memory
from p13n.server.settings import Settings
from p13n.tools import Caller, LocalCaller, ToolContext, load_or_create_secret

__all__ = [
    "AppServices",
    "build_engine",
    "build_jwt_verifier",
    "build_services",
    "open_services",
    "shared_embedder",
    "model_state",
    "warm_model_in_background",
]

# A server re-reads the decisioning configuration this often, so `p13n config apply` beside
# it shows without a restart.
SERVER_RELOAD_SECONDS = 10.0


@dataclass(frozen=True)
class AppServices:
    """Everything a running process holds, built once by `build_services`."""

    settings: Settings
    engine: Engine
    recommend: RecommendService
    decisions: DecisionService
    identity: IdentityService
    identity_control: IdentityControl
    keys: ApiKeys
    access: Authenticator
    decision_limiter: RateLimiter | None
    pipeline: PipelineStats
    measure: MeasureService
    segment_counts: SegmentCounts
    privacy: PrivacyService
    owns_engine: bool = True
    cursor_secret: bytes | None = None  # signs UCP search cursors (settings or the home's key)

    def tool_context(self, caller: Caller | None = None) -> ToolContext:
        """What an agent action runs with, for `caller` (a local caller by default)."""
        return ToolContext(
            engine=self.engine,
            recommend=self.recommend,
            caller=caller if caller is not None else LocalCaller(),
            decisions=self.decisions,
            measure=self.measure,
            cursor_secret=self.cursor_secret,
            consent_url=self.settings.consent_url,
        )

    def warm_in_background(self) -> threading.Thread:
        """Open the vector index and make the query index (catalog words, BM25, category-path
        vectors) off the request path, after MiniLM, which this starts loading unless the
        process did already (`warm_model_in_background`: `p13n mcp` and `p13n serve` do, first
        thing, since an agent's first call is often a query); a failure is logged, and the
        first query reports it again. `model_state` says 'ready' once this is done."""
        model = warm_model_in_background()

        def warm() -> None:
            try:
                vectors = self.recommend.vectors
                if vectors is not None:
                    vectors.vectors()
                model.join()
                self.recommend.warm_queries()
            except Exception:
                logging.getLogger("p13n").exception(
                    "warming the vectors and the query indexes failed"
                )

        thread = threading.Thread(target=warm, name="p13n-warm-vectors", daemon=True)
        thread.start()
        _warming.append(thread)
        return thread

    def close(self) -> None:
        """Write out the personalization log, then close the store (when it was ours)."""
        self.decisions.close()
        self.measure.stop()
        self.segment_counts.stop()
        if self.pipeline.count_ingest in self.engine.ingest_listeners:
            self.engine.ingest_listeners.remove(self.pipeline.count_ingest)
        if self.owns_engine:
            self.engine.close()


def build_engine(settings: Settings) -> Engine:
    """The engine over the configured store (used by `build_services`, and by benchmarks and
    tests that need a store and nothing else)."""
    store = SqlStore(
        open_engine(settings.resolved_database_url(), synchronous=settings.sqlite_synchronous)
    )
    options = EngineOptions(
        require_consent_sdk=settings.require_consent_sdk,
        require_consent_flat=settings.require_consent_flat,
        profile_cache_size=settings.profile_cache_size,
        compact_profiles=settings.compact_profiles,
        device_events_per_minute=settings.device_events_per_minute,
    )
    return Engine(store, options)


@functools.cache
def shared_embedder() -> MiniLMEmbedder:
    """One MiniLM per process: the model is read-only once loaded (it loads on first use)."""
    return MiniLMEmbedder()


_warming: list[threading.Thread] = []  # query-index warm-ups (`AppServices.warm_in_background`)


def model_state() -> str:
    """'ready', 'loading' (the model, or the query index after it, is being made in the
    background) or 'on first query' (nobody warmed it); `GET /health` reports it, so that a
    load test can start after the warm-up."""
    if warm_model_in_background.cache_info().currsize == 0:
        return "on first query"
    _warming[:] = [t for t in _warming if t.is_alive()]  # finished warm-ups are forgotten
    busy = warm_model_in_background().is_alive() or bool(_warming)
    return "loading" if busy else "ready"


@functools.cache
def warm_model_in_background() -> threading.Thread:
    """Load MiniLM (importing torch with it) in a background thread, once per process.

    `p13n mcp` and `p13n serve` call this first thing, so the model loads while the store
    opens, the profile cache fills and the catalog snapshot is built, instead of after: loading
    takes seconds, and a query that comes before it is done waits for the rest of it."""

    def load() -> None:
        try:
            shared_embedder().embed(["warm up"])
        except Exception:
            logging.getLogger("p13n").exception("loading the embedding model failed")

    thread = threading.Thread(target=load, name="p13n-warm-model", daemon=True)
    thread.start()
    return thread


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    serving: bool = False,
    jwt: JwtVerifier | None = None,
) -> AppServices:
    """Build every service once. `engine` reuses an open engine (tests; it is then not closed
    by `AppServices.close`); `serving` turns on what only a server does (opening the vector
    index at start, re-reading the decisioning configuration, the decision budget and rate
    limit). Recommendations register as the engine's item listener, so catalog upserts are
    embedded from then on."""
    scrub_freed_memory()  # before anything holds personal data (see heap.py)
    owned = engine is None
    engine = engine if engine is not None else build_engine(settings)
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    index = ChromaVectorIndex(home / "vectors", open_now=serving)
    vectors = ItemVectors(index, shared_embedder())
    quiet = frozenset(c.strip() for c in settings.quiet_channels.split(",") if c.strip())
    recommend = RecommendService(
        engine, vectors=vectors, model_dir=home / "models", quiet_channels=quiet
    )
    pipeline = PipelineStats(sql_store(engine), clock=engine.now)
    engine.ingest_listeners.append(pipeline.count_ingest)
    decisions = DecisionService(
        engine,
        recommend,
        log=PersonalizationLog(
            sql_store(engine), pipeline=pipeline if settings.pipeline_aggregates else None
        ),
        budget_ms=settings.decision_budget_ms if serving else None,
    )
    measure = MeasureService(engine)
    segment_counts = SegmentCounts(engine)
    if serving:
        segment_counts.start_daily()
        decisions.start_auto_reload(SERVER_RELOAD_SECONDS)
        measure.start_background(experiments=lambda: decisions.configs.experiments.values())
        measure.start_bandit_schedule(
            lambda: decisions.bandits, lambda: decisions.configs.experiments.values()
        )
    keys = ApiKeys.for_engine(engine)
    limiter = (
        RateLimiter(settings.decisions_per_second)
        if serving and settings.decisions_per_second
        else None
    )
    identity_control = IdentityControl(engine)
    return AppServices(
        settings=settings,
        engine=engine,
        recommend=recommend,
        decisions=decisions,
        identity=IdentityService(engine),
        identity_control=identity_control,
        keys=keys,
        access=Authenticator(keys, jwt),
        decision_limiter=limiter,
        pipeline=pipeline,
        measure=measure,
        segment_counts=segment_counts,
        privacy=PrivacyService(engine, identity_control, decisions, recommend),
        owns_engine=owned,
        cursor_secret=settings.cursor_secret.encode()
        if settings.cursor_secret
        else load_or_create_secret(settings.home),
    )


@contextmanager
def open_services(settings: Settings | None = None) -> Iterator[AppServices]:
    """The services for one command, closed afterwards (the log is written out)."""
    services = build_services(settings or Settings())
    try:
        yield services
    finally:
        services.close()


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
