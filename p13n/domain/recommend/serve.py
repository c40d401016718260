"""Top-N for one recommender: switches, query pool, filters, boosters, diversity, exploration.

This is the one place where candidates become a ranked list; every algorithm only scores.
Pure functions over the snapshot: no SQL, no model load, no text embedding here.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np

from p13n.domain.recommend.base import Algorithm, History, Scored, ScoreRequest
from p13n.domain.recommend.catalog import BoolArray, CatalogSnapshot, FloatArray, IntArray
from p13n.domain.recommend.config import RecommenderConfig, Switches
from p13n.domain.recommend.filters import CompiledGroup, FilterContext, compile_group

__all__ = [
    "Slot",
    "Rules",
    "QueryPool",
    "allowed_rows",
    "compile_rules",
    "rank",
    "explore",
    "request_rng",
]

_POOL_MIN = 64
_QUERY_ALGO_WEIGHT = 0.1


@dataclass
class Slot:
    row: int
    score: float
    reason: str
    source: str
    explore: bool = False
    propensity: float | None = None


@dataclass(frozen=True)
class Rules:
    """A recommender's filters and boosters resolved for one request."""

    include: CompiledGroup | None = None
    exclude: CompiledGroup | None = None
    boosters: tuple[tuple[CompiledGroup, float, str | None], ...] = ()

    def passes(self, row: int) -> bool:
        if self.include is not None and not self.include.matches(row):
            return False
        return self.exclude is None or not self.exclude.matches(row)


@dataclass(frozen=True)
class QueryPool:
    """Rows retrieved for a natural-language query, with their similarity, best first."""

    text: str
    rows: IntArray
    sims: FloatArray


@dataclass
class _Diversity:
    on: str | None
    limit: int
    counts: dict[str, int] = dc_field(default_factory=dict)

    def key(self, snap: CatalogSnapshot, row: int) -> str:
        if self.on == "brand":
            return snap.brand[row]
        if self.on == "top_category":
            return snap.category[row].split("/")[0]
        return snap.category[row]

    def admits(self, snap: CatalogSnapshot, row: int) -> bool:
        if self.on is None:
            return True
        return self.counts.get(self.key(snap, row), 0) < self.limit

    def add(self, snap: CatalogSnapshot, row: int) -> None:
        if self.on is not None:
            k = self.key(snap, row)
            self.counts[k] = self.counts.get(k, 0) + 1


def compile_rules(config: RecommenderConfig, ctx: FilterContext) -> Rules:
    boosters = []
    for b in config.boosters:
        group = compile_group(b.when, ctx)
        if group is not None:
            boosters.append((group, b.factor, b.label))
    return Rules(
        compile_group(config.include, ctx), compile_group(config.exclude, ctx), tuple(boosters)
    )


def allowed_rows(
    snap: CatalogSnapshot,
    switches: Switches,
    history: History,
    now: float,
    *,
    anchor_row: int | None,
    excluded: Sequence[int] = (),
    exclude_seen: bool = False,
    mask: BoolArray | None = None,
) -> BoolArray:
    """Rows that the switches (and explicit exclusions) leave eligible."""
    ok = np.ones(len(snap), dtype=np.bool_) if mask is None else mask.copy()
    if switches.in_stock_only:
        ok &= snap.in_stock
    if switches.exclude_purchased and history.purchased:
        ok[list(history.purchased)] = False
    if switches.exclude_viewed_days is not None:
        horizon = now - switches.exclude_viewed_days * 86_400.0
        seen = [r for r, ts in history.viewed if ts >= horizon]
        seen += [r for r, ts, _ in history.engaged if ts >= horizon]
        if seen:
            ok[seen] = False
    if exclude_seen:
        seen_rows = list(history.seen())
        if seen_rows:
            ok[seen_rows] = False
    if anchor_row is not None:
        ok[anchor_row] = False
    if excluded:
        ok[list(excluded)] = False
    return ok


def _apply_query(scored: Scored, pool: QueryPool, n: int) -> tuple[FloatArray, dict[int, str]]:
    """Query pool rows ordered by similarity, the algorithm's order breaking near-ties."""
    algo = scored.scores[pool.rows]
    finite = np.isfinite(algo)
    pct = np.zeros(len(pool.rows))
    if finite.any():
        order = np.argsort(np.argsort(np.where(finite, algo, -np.inf)))
        pct = np.where(finite, order / max(len(pool.rows) - 1, 1), 0.0)
    out = np.full(n, -np.inf)
    out[pool.rows] = pool.sims + _QUERY_ALGO_WEIGHT * pct
    return out, {int(r): f"matches '{pool.text}'" for r in pool.rows}


def rank(
    config: RecommenderConfig,
    algorithm: Algorithm,
    request: ScoreRequest,
    rules: Sequence[Rules],
    allowed: BoolArray,
    need: int,
    *,
    chosen: Sequence[Slot] = (),
    query: QueryPool | None = None,
) -> tuple[list[Slot], list[int], FloatArray | None]:
    """Up to `need` new slots, best first, the filtered-in rows left over (for exploration),
    and the algorithm's per-row uncertainty."""
    snap = request.snapshot
    scored = algorithm.score(request)
    scores = scored.scores
    query_reasons: dict[int, str] = {}
    if query is not None:
        scores, query_reasons = _apply_query(scored, query, len(snap))
    scores = np.where(allowed, scores, -np.inf)
    taken = {s.row for s in chosen}
    diversity = _Diversity(
        config.diversity.field if config.diversity else None,
        config.diversity.max_per_value if config.diversity else 0,
    )
    for s in chosen:
        diversity.add(snap, s.row)
    finite = int(np.isfinite(scores).sum())
    size = min(finite, max(_POOL_MIN, 4 * need))
    while True:
        passing = _filtered_pool(scores, size, rules, taken)
        if len(passing) >= need or size >= finite:
            break
        size = min(finite, size * 4)
    boosted = _boost(passing, scores, rules)
    out: list[Slot] = []
    rest: list[int] = []
    for row, value, label in boosted:
        if len(out) < need and diversity.admits(snap, row):
            diversity.add(snap, row)
            reason = query_reasons.get(row) or scored.reason(row)
            if label:
                reason = f"{reason} ({label})"
            out.append(Slot(row, value, reason, config.name))
        else:
            rest.append(row)
    return out, rest, scored.uncertainty


def _filtered_pool(
    scores: FloatArray, size: int, rules: Sequence[Rules], taken: set[int]
) -> list[int]:
    if size <= 0:
        return []
    top = (
        np.argpartition(-scores, size - 1)[:size] if size < len(scores) else np.arange(len(scores))
    )
    top = top[np.isfinite(scores[top])]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [r for r in top.tolist() if r not in taken and all(rule.passes(r) for rule in rules)]


def _boost(
    rows: list[int], scores: FloatArray, rules: Sequence[Rules]
) -> list[tuple[int, float, str | None]]:
    """Multiply matching rows' scores; when some score is not positive, the pool's scores are
    first shifted so that the lowest is 1% of the pool's range above zero."""
    if not rows:
        return []
    values = scores[rows]
    boosters = [b for rule in rules for b in rule.boosters]
    if not boosters:
        return [(r, float(v), None) for r, v in zip(rows, values.tolist(), strict=True)]
    low, high = float(values.min()), float(values.max())
    positive = values if low > 0 else values - low + max(high - low, 1e-6) * 0.01
    out: list[tuple[int, float, str | None]] = []
    for r, v in zip(rows, positive.tolist(), strict=True):
        label = None
        for group, factor, name in boosters:
            if group.matches(r):
                v *= factor
                label = name or label
        out.append((r, v, label))
    out.sort(key=lambda t: -t[1])
    return out


def request_rng(seed: int, request_id: str) -> np.random.Generator:
    """Randomness only from the config's seed and the request id (replayable)."""
    return np.random.default_rng([seed, zlib.crc32(request_id.encode())])


def explore(
    slots: list[Slot],
    rest: list[int],
    uncertainty: FloatArray | None,
    epsilon: float,
    rng: np.random.Generator,
    reason: str = "exploring: little is known about this item yet",
) -> list[Slot]:
    """Epsilon-greedy over item uncertainty: each slot is, with probability `epsilon`, drawn
    from the remaining candidates with probability proportional to their uncertainty.

    Each slot records its exact propensity under this policy given the slots before it:
    (1 - epsilon) * [it was the greedy choice] + epsilon * u / sum(u)."""
    if not slots:
        return slots
    pool = list(rest)
    out: list[Slot] = []
    greedy = list(slots)
    for _ in range(len(slots)):
        candidates = greedy + pool
        weights = np.array(
            [
                1.0
                if uncertainty is None
                else max(float(uncertainty[r.row if isinstance(r, Slot) else r]), 1e-6)
                for r in candidates
            ]
        )
        probs = weights / weights.sum()
        first = greedy[0]
        if epsilon > 0 and rng.random() < epsilon:
            k = int(rng.choice(len(candidates), p=probs))
            pick = candidates[k]
            row = pick.row if isinstance(pick, Slot) else pick
            is_greedy = k == 0
            prop = (1 - epsilon) * is_greedy + epsilon * float(probs[k])
            if isinstance(pick, Slot):
                greedy.remove(pick)
                slot = pick
            else:
                pool.remove(pick)
                slot = Slot(row, float("nan"), reason, first.source)
            slot.explore, slot.propensity = True, round(prop, 6)
        else:
            slot = greedy.pop(0)
            slot.explore, slot.propensity = (
                False,
                round((1 - epsilon) + epsilon * float(probs[0]), 6),
            )
        out.append(slot)
        if not greedy:
            break
    return out
