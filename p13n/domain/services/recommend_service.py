"""Recommendations over one engine: stored configs, the catalog snapshot, vectors and the model.

`recommend` is the request path (no SQL, no model load, no item text embedding); `refresh`,
`sync_vectors` and `train` are the heavy paths, run at import / train time. With a query, the
request path reads it (`query_reading`), ranks the hybrid pool re-ranked by the person, and
loosens a hardened price when nothing qualifies.

Past 400 lines on purpose: configuration, the snapshot's life cycle and the request path of
one recommender chain read as one story; the query's own parts live in `query_reading.py`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from p13n.domain.errors import Conflict, InvalidInput, NotFound
from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest import Item
from p13n.domain.recommend import (
    DEFAULT_RECOMMENDERS,
    Algorithm,
    BlendWeights,
    CatalogSnapshot,
    FilterContext,
    History,
    ItemVectors,
    IvfVectors,
    ModelParams,
    ObjectiveBased,
    ObjectiveRecommender,
    PreferenceTilt,
    Reading,
    Recommendations,
    RecommendedItem,
    RecommenderConfig,
    RecommendRequest,
    Rerank,
    RuleRecipe,
    Rules,
    ScoreRequest,
    SimilarItems,
    Slot,
    Tastes,
    TrainedModel,
    Trial,
    allowed_rows,
    build_snapshot,
    compile_rules,
    diagnostic,
    effective_limit,
    explore,
    rank,
    request_rng,
    single_threaded_blas,
    train_model,
)
from p13n.domain.services.config_repository import ConfigRepository
from p13n.domain.services.engine import Engine
from p13n.domain.services.model_runs import ModelRun, RunStore, TrainOptions, run_training
from p13n.domain.services.query_reading import (
    QueryIndex,
    hard_mask,
    interpreted,
    relax,
    relaxed_note,
    retrieve,
    tastes_of,
)
from p13n.domain.services.training import interactions_from_log, load_model, save_model

__all__ = ["RecommendService", "KIND", "QUIET_CHANNELS"]

KIND = "recommender"
MAX_FALLBACK_DEPTH = 3
QUERY_POOL = 200
SYNC_REFRESH_ROWS = 20_000
QUIET_CHANNELS = frozenset({"agent"})  # channels that never get exploration slots by default
log = logging.getLogger("p13n.recommend")


class RecommendService:
    def __init__(
        self,
        engine: Engine,
        *,
        vectors: ItemVectors | None = None,
        model_dir: Path | None = None,
        params: ModelParams | None = None,
        refresh_seconds: float = 60.0,
        quiet_channels: frozenset[str] = QUIET_CHANNELS,
        weights: BlendWeights | None = None,
    ) -> None:
        self.engine, self.vectors, self.model_dir = engine, vectors, model_dir
        self.params = params or ModelParams()
        self.refresh_seconds = refresh_seconds
        self.quiet_channels = quiet_channels
        self.weights = weights or BlendWeights()
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None
        self._index: QueryIndex | None = None
        self._category_vectors: dict[str, np.ndarray] = {}
        self._lookup: IvfVectors | None = None
        self._lookup_key: tuple[tuple[int, int], list[str]] = ((-1, -1), [])
        self._changes = 1  # catalog changes seen; the snapshot reflects `_built_changes` of them
        self._built_changes = 0
        self.model: TrainedModel | None = load_model(model_dir) if model_dir else None
        self.last_run: ModelRun | None = None  # the last `train(options=...)` run
        self.configs: dict[str, RecommenderConfig] = {}
        self._algorithms: dict[str, Algorithm] = {}
        self.repository = ConfigRepository(engine.store, KIND, RecommenderConfig, clock=engine.now)
        self.repository.put_missing(DEFAULT_RECOMMENDERS)
        self.configs = {config.name: config for config in self.repository.list()}
        engine.item_listeners.append(self._on_items)

    # -- configuration -----------------------------------------------------------------------
    def get_config(self, name: str) -> RecommenderConfig:
        config = self.configs.get(name)
        if config is None:
            raise NotFound(
                f"no recommender '{name}'.",
                hint=f"Known: {', '.join(sorted(self.configs))}. GET /admin/recommenders lists them.",
            )
        return config

    def put_config(self, config: RecommenderConfig) -> int:
        if config.fallback is not None and config.fallback not in self.configs:
            raise InvalidInput(
                f"fallback '{config.fallback}' is not a recommender.",
                hint="Create it first or choose an existing one.",
            )
        chain, seen = config.fallback, {config.name}
        while chain is not None:
            if chain in seen:
                raise InvalidInput(f"fallback chain of '{config.name}' loops through '{chain}'.")
            seen.add(chain)
            chain = self.configs[chain].fallback
        version = self.repository.put(config)
        self.configs[config.name] = config
        self._algorithms.pop(config.name, None)
        return version

    def delete_config(self, name: str) -> None:
        self.get_config(name)
        users = sorted(c.name for c in self.configs.values() if c.fallback == name)
        if users:
            raise Conflict(
                f"recommender '{name}' is the fallback of {', '.join(users)}.",
                hint="Change their fallback first.",
            )
        self.repository.delete(name)
        del self.configs[name]
        self._algorithms.pop(name, None)

    def algorithm(self, config: RecommenderConfig) -> Algorithm:
        algo = self._algorithms.get(config.name)
        if algo is None or getattr(algo, "config", None) != config.recipe:
            recipe = config.recipe
            algo = (
                ObjectiveRecommender(recipe, self.model)
                if isinstance(recipe, ObjectiveBased)
                else RuleRecipe(recipe)
            )
            self._algorithms[config.name] = algo
        return algo

    # -- heavy paths -------------------------------------------------------------------------
    def _on_items(self, items: list[Item]) -> None:
        self._changes += 1
        if self.vectors is not None:
            try:
                self.vectors.sync(items)
            except Exception:  # the items are committed; `p13n train` embeds them later
                log.exception("embedding %d upserted items failed", len(items))

    def sync_vectors(self, *, on_progress: Callable[[int], None] | None = None) -> dict[str, float]:
        """Embed every item whose text changed since it was embedded (catch-up)."""
        if self.vectors is None:
            return {"embedded": 0}
        stats = self.vectors.sync(list(self.engine.state.items.values()), on_progress=on_progress)
        self._changes += 1
        return stats

    def refresh(self) -> CatalogSnapshot:
        """Rebuild the catalog arrays (insights for now) and the row-aligned vectors."""
        with self._lock:
            changes = self._changes
            snap = build_snapshot(
                self.engine.state.items, self.engine.state.item_graphs, self.engine.now()
            )
            lookup = self._vector_lookup(snap)
            self._warm_filters(snap)
            index = self._query_index(snap, lookup)
            self._snapshot, self._lookup, self._index = snap, lookup, index
            self._built_changes = changes
            return snap

    def _query_index(self, snap: CatalogSnapshot, lookup: IvfVectors | None) -> QueryIndex:
        if self.vectors is None:
            return QueryIndex(snap, lookup)
        embedder = self.vectors.embedder
        return QueryIndex(
            snap,
            lookup,
            embed=self.vectors.embed_query,
            embed_many=self._embed_categories,
            loading=lambda: embedder.loading,
        )

    def _embed_categories(self, texts: list[str]) -> np.ndarray:
        """Category path vectors; each path text is embedded once per process."""
        assert self.vectors is not None
        if not texts:
            return np.zeros((0, self.vectors.embedder.dim), dtype=np.float32)
        missing = [t for t in dict.fromkeys(texts) if t not in self._category_vectors]
        if missing:
            for text, vector in zip(missing, self.vectors.embedder.embed(missing), strict=True):
                self._category_vectors[text] = vector
        return np.stack([self._category_vectors[t] for t in texts])

    def _vector_lookup(self, snap: CatalogSnapshot) -> IvfVectors | None:
        """Row-aligned vectors with their search index; reused while neither the catalog rows
        nor the vectors changed (building the index of 100,000 vectors takes seconds)."""
        if self.vectors is None:
            return None
        key = (self.vectors.version, len(snap))
        if (
            self._lookup is not None
            and self._lookup_key[0] == key
            and self._lookup_key[1] == snap.ids
        ):
            return self._lookup
        known = self.vectors.vectors()
        dim = next((len(v) for v in known.values()), 384)
        matrix = np.zeros((len(snap), dim), dtype=np.float32)
        present = np.zeros(len(snap), dtype=np.bool_)
        for r, item_id in enumerate(snap.ids):
            v = known.get(item_id)
            if v is not None:
                matrix[r], present[r] = v, True
        lookup = IvfVectors(matrix, present)
        self._lookup_key = (key, snap.ids)
        return lookup

    def _warm_filters(self, snap: CatalogSnapshot) -> None:
        """Factorize the fields the configured filters and boosters read, off the request path."""
        fields: set[str] = set()
        for config in self.configs.values():
            groups = [config.include, config.exclude, *(b.when for b in config.boosters)]
            for group in groups:
                for cond in group.conditions if group is not None else ():
                    fields.add(cond.field)
        for name in sorted(fields):
            if snap.numeric_values(name) is None:
                snap.column_codes(name)

    def snapshot(self) -> CatalogSnapshot:
        """The current snapshot. After a catalog change, a small catalog is rebuilt before
        answering (the change shows at once); from `SYNC_REFRESH_ROWS` items on, the previous
        snapshot keeps serving while a new one is built in the background (seconds at 100,000
        items). An old snapshot (`refresh_seconds`) is also rebuilt in the background."""
        snap = self._snapshot
        stale = self._changes != self._built_changes
        if snap is None or (stale and len(snap) < SYNC_REFRESH_ROWS):
            return self.refresh()
        old = self.engine.now() - snap.built_at > self.refresh_seconds
        if (stale or old) and not self._lock.locked():
            threading.Thread(target=self.refresh, daemon=True).start()  # swap when built
        return snap

    def serving_state(self) -> QueryIndex:
        """The current snapshot with its vocabulary, BM25 and vector indexes (search)."""
        snap = self.snapshot()
        index = self._index
        if index is None or index.snap is not snap:  # a refresh swapped them meanwhile
            index = self._query_index(snap, self._lookup)
        return index

    def warm_queries(self) -> None:
        """Make what the first query would otherwise wait for: the snapshot, its catalog
        words, BM25 index and category-path vectors (servers call this while warming)."""
        self.snapshot()
        index = self._index
        if index is not None:
            index.lexical.scores("warm up")
            if self.vectors is not None:
                index.read("warm up")  # embeds the category paths (the model is loaded)

    def train(
        self,
        *,
        params: ModelParams | None = None,
        options: TrainOptions | None = None,
        on_trial: Callable[[Trial], None] | None = None,
        rules_of: str = "recommended-for-you",
    ) -> TrainedModel:
        """Fit on the whole event log; on failure the previous model keeps serving. With
        `options`, a `p13n train` run (`model_runs.py`): tune, compare with the baselines and
        the serving model, promote or keep, and measure what the business rules of `rules_of`
        cost on validation; the run is in `last_run` and the models folder. Returns the model
        serving afterwards."""
        params = params or self.params
        data = interactions_from_log(self.engine.store.iter_item_interactions())
        if options is None:
            model = train_model(data, params, now=self.engine.now())
        else:
            run, promoted = run_training(
                data,
                now=self.engine.now(),
                base=params,
                options=options,
                serving=self.model,
                store=RunStore(self.model_dir) if self.model_dir is not None else None,
                on_trial=on_trial,
                rules=self.configs.get(rules_of),
                categories=self._categories(),
            )
            self.last_run = run
            if promoted is None:
                assert self.model is not None  # a run keeps only a model that serves
                return self.model
            model = promoted
        self.use_model(model)
        if self.model_dir is not None:
            save_model(model, self.model_dir)
        return model

    def _categories(self) -> dict[str, str]:
        """Item id -> category over the catalog snapshot (what the diversity rules read)."""
        snap = self.snapshot()
        return {item.id: snap.category[row] for row, item in enumerate(snap.items)}

    def use_model(self, model: TrainedModel) -> None:
        self.model = model
        for algo in self._algorithms.values():
            if isinstance(algo, ObjectiveRecommender):
                algo.model = model
                algo._rows_for = None

    def forget_individuals(self, unified_ids: set[str]) -> int:
        """Take erased individuals' histories out of the trained model, in memory and in its
        saved file (the item weights and counts are aggregates and stay). Returns how many
        histories were removed."""
        model = self.model
        if model is None:
            return 0
        with self._lock:
            gone = [u for u in unified_ids if u in model.user_history]
            for uid in gone:
                model.user_history.pop(uid, None)
                model.user_times.pop(uid, None)
            if gone and self.model_dir is not None:
                save_model(model, self.model_dir)
        return len(gone)

    # -- request path ------------------------------------------------------------------------
    def _history(
        self, snap: CatalogSnapshot, profile: ProfileGraph | None, uid: str | None
    ) -> History:
        known: list[int] = []
        if uid is not None and self.model is not None:
            ids = self.model.item_ids
            known = [
                snap.row[ids[j]] for j in self.model.user_history.get(uid, ()) if ids[j] in snap.row
            ]
        if profile is None:
            return History(known=known)
        row = snap.row
        return History(
            viewed=[
                (row[v.item_id], v.ts)
                for v in reversed(profile.recently_viewed)
                if v.item_id in row
            ],
            purchased=[
                row[ln.item_id] for p in profile.purchases for ln in p.lines if ln.item_id in row
            ],
            cart=[row[c.item_id] for c in profile.cart if c.item_id in row],
            engaged=[
                (row[e.item_id], e.ts, e.interaction)
                for e in reversed(profile.engagement)
                if e.item_id is not None and e.item_id in row
            ],
            known=known,
        )

    def recommend(self, request: RecommendRequest) -> Recommendations:
        """Top-N for one request; BLAS runs on one thread meanwhile (see `blas.py`) when the
        request can multiply matrices (a query, a model, item vectors). Rule recipes read
        precomputed rows only, and setting the BLAS threads twice per request cost them about a
        tenth of a decision (cProfile, BENCHMARKS.md)."""
        if not self._uses_blas(request):
            return self._recommend(request)
        with single_threaded_blas():
            return self._recommend(request)

    def _uses_blas(self, request: RecommendRequest) -> bool:
        if request.query:
            return True
        name: str | None = request.recommender
        for _ in range(MAX_FALLBACK_DEPTH + 1):
            config = self.configs.get(name) if name is not None else None
            if config is None:
                return False
            if isinstance(config.recipe, ObjectiveBased | SimilarItems):
                return True
            name = config.fallback
        return False

    def _recommend(self, request: RecommendRequest) -> Recommendations:
        config = self.get_config(request.recommender)
        limit, diagnostics = effective_limit(request.limit, config.limit)
        index = self.serving_state()
        snap = index.snap
        now = self.engine.now()
        anchor_row = None
        if request.anchor is not None:
            if request.anchor not in self.engine.state.items or request.anchor not in snap.row:
                raise NotFound(
                    f"no item '{request.anchor}' to use as the anchor.",
                    hint="Pass the id of an imported catalog item, or no anchor.",
                )
            anchor_row = snap.row[request.anchor]
        uid = self.engine.resolve(request.individual) if request.individual else None
        if request.profile is not None and uid is not None and request.profile.unified_id == uid:
            profile: ProfileGraph | None = request.profile
        else:
            profile = self.engine.load_profile(uid) if uid else None
        if request.individual and profile is None and uid is None:
            diagnostics.append(diagnostic(512))
        history = self._history(snap, profile, uid)
        tastes = tastes_of(profile, self.engine.state.items, index)
        reading = self._read(index, request.query)
        score_request = ScoreRequest(
            snapshot=snap,
            now=now,
            history=history,
            anchor_row=anchor_row,
            query=request.query,
            vectors=index.lookup,
            individual=uid,
        )
        request_id = request.request_id or uuid.uuid4().hex
        base = request.item_filter.mask(snap) if request.item_filter is not None else None
        relaxed: list[str] = []
        while True:
            mask = hard_mask(index, reading.hard, base) if reading is not None else base
            rerank = self._rerank(index, reading, mask, tastes)
            slots = self._ranked(
                config, request, score_request, history, mask, rerank, limit, request_id
            )
            if reading is None or slots:
                break
            loosened = relax(reading)
            if loosened is None:
                break
            relaxed.append(relaxed_note(loosened, len(slots)))
        items = [self._item(snap, s, k) for k, s in enumerate(slots[:limit], 1)]
        if not diagnostics or all(d["code"] != 533 for d in diagnostics):
            diagnostics.insert(0, diagnostic(200))
        rows = [s.row for s in slots[:limit]]
        return Recommendations(
            recommender=config.name,
            individual=uid,
            items=items,
            diagnostics=diagnostics,
            request_id=request_id,
            interpreted=interpreted(
                index,
                request.query,
                reading,
                tastes.preferences,
                rows,
                relaxed,
                personalized=uid is not None and (tastes.known or bool(history.seen())),
            ),
        )

    def _read(self, index: QueryIndex, query: str | None) -> Reading | None:
        if not query or not query.strip():
            return None
        if self.vectors is None or self._lookup is None:
            raise InvalidInput(
                "semantic queries need item embeddings, which are not configured here.",
                hint="Run with the vector store enabled (the default) and `p13n train` once.",
            )
        return index.read(query)

    def _rerank(
        self,
        index: QueryIndex,
        reading: Reading | None,
        mask: np.ndarray | None,
        tastes: Tastes,
    ) -> Rerank | None:
        """The query's blend over its hybrid pool, or stated preferences tilting the scores."""
        if reading is not None and reading.interpreted.search_text:
            return retrieve(index, reading, mask, tastes, pool=QUERY_POOL, weights=self.weights)
        if tastes.preferences:
            pairs = [(c, index.rows(c)) for c in tastes.preferences]
            return PreferenceTilt(pairs, tastes, self.weights)
        return None

    def _ranked(
        self,
        config: RecommenderConfig,
        request: RecommendRequest,
        score_request: ScoreRequest,
        history: History,
        mask: np.ndarray | None,
        rerank: Rerank | None,
        limit: int,
        request_id: str,
    ) -> list[Slot]:
        """The slots of the recommender and its fallback chain, exploration included."""
        snap, now, anchor_row = score_request.snapshot, score_request.now, score_request.anchor_row
        ctx = FilterContext(snap, now, anchor_row, request.variables, history.sources())
        excluded = [snap.row[i] for i in request.exclude_items if i in snap.row]
        slots: list[Slot] = []
        rules: list[Rules] = []
        name: str | None = config.name
        depth = 0
        switches = config.switches
        quiet = request.channel is not None and request.channel in self.quiet_channels
        while name is not None and len(slots) < limit and depth <= MAX_FALLBACK_DEPTH:
            cfg = self.get_config(name)
            rules.append(compile_rules(cfg, ctx))  # a fallback keeps the filters before it
            if depth > 0:  # ... and the switches: its own and those of the chain before it
                switches = switches.stricter(cfg.switches)
            allowed = allowed_rows(
                snap,
                switches,
                history,
                now,
                anchor_row=anchor_row,
                excluded=excluded,
                exclude_seen=request.exclude_seen,
                mask=mask,
            )
            algo = self.algorithm(cfg)
            need = limit - len(slots)
            new, rest, uncertainty, reason = rank(
                cfg, algo, score_request, rules, allowed, need, chosen=slots, rerank=rerank
            )
            recipe = cfg.recipe
            if (
                depth == 0
                and isinstance(recipe, ObjectiveBased)
                and recipe.exploration
                and not quiet
            ):
                rng = request_rng(recipe.seed, request_id)
                first = max(1, limit // 2)  # the top half of the answer is never explored
                new = explore(
                    new, rest, uncertainty, recipe.exploration, rng, reason, first_slot=first
                )
            slots.extend(new)
            name, depth = cfg.fallback, depth + 1
        return slots

    def _item(self, snap: CatalogSnapshot, slot: Slot, rank_: int) -> RecommendedItem:
        item = snap.items[slot.row]
        return RecommendedItem(
            id=item.id,
            rank=rank_,
            score=None if np.isnan(slot.score) else round(float(slot.score), 6),
            reason=slot.reason,
            recommender=slot.source,
            explore=slot.explore,
            propensity=slot.propensity,
            name=item.name,
            price=item.price,
            category=item.category,
            brand=item.brand,
        )

    def recommend_many(self, requests: Iterable[RecommendRequest]) -> Iterable[Recommendations]:
        for request in requests:
            yield self.recommend(request)
