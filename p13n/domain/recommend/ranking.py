"""Top-N for one recommender: switches, re-ranking, filters, boosters, diversity, exploration.

This is the one place where candidates become a ranked list; every algorithm only scores.
Pure functions over the snapshot: no SQL, no model load, no text embedding here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Protocol

import numpy as np

from p13n.domain.recommend.base import Algorithm, History, Scored, ScoreRequest
from p13n.domain.recommend.config import RecommenderConfig, Switches
from p13n.domain.recommend.filters import CompiledGroup, FilterContext, compile_group
from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, FloatArray, IntArray

__all__ = [
    "Slot",
    "Rules",
    "Rerank",
    "Eligible",
    "allowed_rows",
    "compile_rules",
    "rank",
    "explore",
    "request_rng",
    "diversify",
]

_POOL_MIN = 64


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

    @property
    def exact(self) -> bool:
        """True when `narrow` alone decides every row (no condition is left per row)."""
        return (self.include is None or self.include.exact) and (
            self.exclude is None or self.exclude.exact
        )

    def narrow(self, allowed: Eligible) -> Eligible:
        """`allowed` without the rows the vectorized part of the filters already rules out."""
        keep: list[BoolArray] = []
        drop: list[BoolArray] = []
        if self.include is not None and (m := self.include.must_hold()) is not None:
            keep.append(m)
        if self.exclude is not None and (m := self.exclude.surely_holds()) is not None:
            drop.append(m)
        return allowed.also(keep=keep, drop=drop) if keep or drop else allowed


@dataclass(frozen=True)
class Eligible:
    """The rows a request may return, kept as parts: row masks the snapshot already holds
    (in stock, compiled filters: made once per snapshot or per distinct value, never per
    request), masks of rows to drop, and the few rows the visitor's history and the request
    exclude. Tested on candidate rows only (`of`), so a request costs its candidates, not the
    catalog; `dense` makes the whole mask for an algorithm that scores every row."""

    size: int
    keep: tuple[BoolArray, ...] = ()
    drop: tuple[BoolArray, ...] = ()
    excluded: frozenset[int] = frozenset()

    def also(
        self,
        *,
        keep: Sequence[BoolArray] = (),
        drop: Sequence[BoolArray] = (),
        excluded: Iterable[int] = (),
    ) -> Eligible:
        return Eligible(
            self.size,
            self.keep + tuple(keep),
            self.drop + tuple(drop),
            self.excluded | frozenset(excluded),
        )

    def of(self, rows: IntArray) -> BoolArray:
        """For each of `rows`: may it be returned."""
        ok = np.ones(len(rows), dtype=np.bool_)
        for m in self.keep:
            ok &= m[rows]
        for m in self.drop:
            ok &= ~m[rows]
        if self.excluded and len(rows):
            out = np.sort(np.fromiter(self.excluded, np.int64, len(self.excluded)))
            pos = np.minimum(np.searchsorted(out, rows), len(out) - 1)
            ok &= out[pos] != rows
        return ok

    def dense(self) -> BoolArray:
        """The mask over every row of the snapshot."""
        ok = np.ones(self.size, dtype=np.bool_)
        for m in self.keep:
            ok &= m
        for m in self.drop:
            ok &= ~m
        if self.excluded:
            ok[list(self.excluded)] = False
        return ok


class Rerank(Protocol):
    """Re-scores an algorithm's output for one request (a query's blend, stated preferences);
    `fit` says whether a row meets every constraint of the request (exploration's test)."""

    def apply(self, scored: Scored) -> Scored: ...

    def fit(self, row: int) -> bool: ...


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


def diversify(
    values: Sequence[float],
    keys: Sequence[str],
    need: int,
    *,
    weight: float,
    cap: int | None,
    counts: dict[str, int] | None = None,
) -> list[int]:
    """Up to `need` positions into `values` (candidates best first), chosen greedily: each
    next one maximizes relevance - `weight` x (candidates of its key chosen so far, plus
    `counts`), relevance being the value scaled to 1 (best) .. 0 (worst candidate); a key
    at `cap` is skipped. Weight 0: the given order under the cap. Ties keep the given order."""
    shown = dict(counts or {})
    n = len(values)
    if n == 0 or need <= 0:
        return []
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    low = float(v[finite].min()) if finite.any() else 0.0
    high = float(v[finite].max()) if finite.any() else 1.0
    rel = np.where(finite, (v - low) / max(high - low, 1e-12), -1.0)
    left = list(range(n))
    out: list[int] = []
    while left and len(out) < need:
        best, best_value = -1, -np.inf
        for pos in left:
            c = shown.get(keys[pos], 0)
            if cap is not None and c >= cap:
                continue
            value = rel[pos] - weight * c
            if value > best_value:
                best, best_value = pos, value
            if weight == 0:
                break  # the first admitted is the best
        if best < 0:
            break
        out.append(best)
        left.remove(best)
        shown[keys[best]] = shown.get(keys[best], 0) + 1
    return out


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
) -> Eligible:
    """Rows that the switches (and explicit exclusions) leave eligible."""
    keep: list[BoolArray] = [] if mask is None else [mask]
    if switches.in_stock_only:
        keep.append(snap.in_stock)
    out: set[int] = set(excluded)
    if switches.exclude_purchased:
        out.update(history.purchased)
    if switches.exclude_in_cart:
        out.update(history.cart)
    if switches.exclude_viewed_days is not None:
        horizon = now - switches.exclude_viewed_days * 86_400.0
        out.update(r for r, ts in history.viewed if ts >= horizon)
        out.update(r for r, ts, _ in history.engaged if ts >= horizon)
    if exclude_seen:
        out |= history.seen()
    if anchor_row is not None:
        out.add(anchor_row)
    return Eligible(len(snap), tuple(keep), (), frozenset(out))


def rank(
    config: RecommenderConfig,
    algorithm: Algorithm,
    request: ScoreRequest,
    rules: Sequence[Rules],
    allowed: Eligible | BoolArray,
    need: int,
    *,
    chosen: Sequence[Slot] = (),
    rerank: Rerank | None = None,
) -> tuple[list[Slot], list[int], FloatArray | None, Callable[[int], str]]:
    """Up to `need` new slots, best first, the filtered-in rows left over (for exploration;
    with a `rerank`, only rows meeting the request's constraints), the algorithm's per-row
    uncertainty, and the reason of any row scored (for explored slots)."""
    snap = request.snapshot
    scored = algorithm.score(request)
    if rerank is not None:
        scored = rerank.apply(scored)
    if not isinstance(allowed, Eligible):  # a plain row mask
        allowed = Eligible(len(allowed), (allowed,))
    for rule in rules:
        allowed = rule.narrow(allowed)
    taken = {s.row for s in chosen}
    diversity = _Diversity(
        config.diversity.field if config.diversity else None,
        config.diversity.max_per_value if config.diversity else 0,
    )
    for s in chosen:
        diversity.add(snap, s.row)
    per_row = [rule for rule in rules if not rule.exact]
    passing = _pool(scored, allowed, need, per_row, taken)
    boosted = _boost(passing, scored, rules)
    out: list[Slot] = []
    rest: list[int] = []
    if config.diversity is not None and config.diversity.weight > 0 and boosted:
        picked = diversify(
            [v for _, v, _ in boosted],
            [diversity.key(snap, r) for r, _, _ in boosted],
            need,
            weight=config.diversity.weight,
            cap=config.diversity.max_per_value,
            counts=diversity.counts,
        )
        chosen_pos = set(picked)
        boosted = [boosted[k] for k in picked] + [
            b for k, b in enumerate(boosted) if k not in chosen_pos
        ]
    for row, value, label in boosted:
        if len(out) < need and diversity.admits(snap, row):
            diversity.add(snap, row)
            reason = scored.reason(row)
            if label:
                reason = f"{reason} ({label})"
            out.append(Slot(row, value, reason, config.name))
        elif rerank is None or rerank.fit(row):
            rest.append(row)
    return out, rest, scored.uncertainty, scored.reason


def _pool(
    scored: Scored,
    allowed: Eligible,
    need: int,
    rules: Sequence[Rules],
    taken: set[int],
) -> list[int]:
    """The best allowed rows, best first, that pass the per-row filters: the top `size` allowed
    rows are tested, `size` growing fourfold until `need` pass or every row was tested."""
    ranked = _ranked(scored, allowed)
    size = max(_POOL_MIN, 4 * need)
    while True:
        top, more = ranked(size)
        passing = [r for r in top.tolist() if r not in taken and all(x.passes(r) for x in rules)]
        if len(passing) >= need or not more:
            return passing
        size *= 4


def _ranked(scored: Scored, allowed: Eligible) -> Callable[[int], tuple[IntArray, bool]]:
    """A function giving the `size` best allowed rows with a finite score (best first) and
    whether there are more. With `order` or `candidates`, only those rows are tested."""
    order, candidates = scored.order, scored.candidates
    if order is not None:
        ordered = order

        def from_order(size: int) -> tuple[IntArray, bool]:
            step = max(4 * size, 256)
            got: list[IntArray] = []
            have, pos = 0, 0
            while have < size and pos < len(ordered):
                chunk = ordered[pos : pos + step]
                chunk = chunk[allowed.of(chunk)]
                got.append(chunk)
                have += len(chunk)
                pos += step
                step *= 4
            rows = np.concatenate(got) if got else np.zeros(0, np.int64)
            return rows[:size], have > size or pos < len(ordered)

        return from_order
    if candidates is None:
        scores = scored.scores
        cand = np.flatnonzero(allowed.dense() & np.isfinite(scores))
        values = scores[cand]
    else:
        values = scored.candidate_values()
        ok = allowed.of(candidates) & np.isfinite(values)
        cand, values = candidates[ok], values[ok]

    def from_candidates(size: int) -> tuple[IntArray, bool]:
        if size < len(cand):
            top = np.argpartition(-values, size - 1)[:size]
        else:
            top = np.arange(len(cand))
        top = top[np.lexsort((cand[top], -values[top]))]
        return cand[top], size < len(cand)

    return from_candidates


def _boost(
    rows: list[int], scored: Scored, rules: Sequence[Rules]
) -> list[tuple[int, float, str | None]]:
    """Multiply matching rows' scores; when some score is not positive, the pool's scores are
    first shifted so that the lowest is 1% of the pool's range above zero."""
    if not rows:
        return []
    idx = np.asarray(rows, dtype=np.int64)
    values = scored.at(idx)
    boosters = [b for rule in rules for b in rule.boosters]
    if not boosters:
        return [(r, float(v), None) for r, v in zip(rows, values.tolist(), strict=True)]
    low, high = float(values.min()), float(values.max())
    positive = values if low > 0 else values - low + max(high - low, 1e-6) * 0.01
    labels: list[str | None] = [None] * len(rows)
    for group, factor, name in boosters:
        if group.exact and group.mask is not None:  # one vectorized test for the whole pool
            hit = group.mask[idx]
        else:
            hit = np.fromiter((group.matches(r) for r in rows), dtype=np.bool_, count=len(rows))
        if not hit.any():
            continue
        positive = np.where(hit, positive * factor, positive)
        if name:
            for k in np.flatnonzero(hit).tolist():
                labels[k] = name
    order = np.argsort(-positive, kind="stable")
    values_out = positive.tolist()
    return [(rows[k], values_out[k], labels[k]) for k in order.tolist()]


def request_rng(seed: int, request_id: str) -> np.random.Generator:
    """Randomness only from the config's seed and the request id (replayable)."""
    return np.random.default_rng([seed, zlib.crc32(request_id.encode())])


def explore(
    slots: list[Slot],
    rest: list[int],
    uncertainty: FloatArray | None,
    epsilon: float,
    rng: np.random.Generator,
    reason: Callable[[int], str] | None = None,
    *,
    first_slot: int = 0,
) -> list[Slot]:
    """Epsilon-greedy over item uncertainty: each slot from `first_slot` on is, with
    probability `epsilon`, drawn from the remaining candidates with probability proportional
    to their uncertainty; the slots before it stay greedy (propensity 1). An explored row
    gets `reason(row)`, the reason its recommender gives it (a shopper's sentence).

    Each slot records its exact propensity under this policy given the slots before it:
    (1 - epsilon) * [it was the greedy choice] + epsilon * u / sum(u)."""
    if first_slot > 0:
        head = slots[:first_slot]
        for slot in head:
            slot.explore, slot.propensity = False, 1.0
        tail = slots[first_slot:]
        return head + explore(tail, rest, uncertainty, epsilon, rng, reason) if tail else head
    if not slots:
        return slots
    greedy = list(slots)
    rows = np.array([s.row for s in slots] + list(rest), dtype=np.int64)
    weight = (
        np.ones(len(rows))
        if uncertainty is None
        else np.maximum(np.asarray(uncertainty, dtype=np.float64)[rows], 1e-6)
    )
    alive = np.ones(len(rows), dtype=np.bool_)
    total = float(weight.sum())
    first = 0  # the best remaining greedy slot: the first alive row (greedy rows come first)
    out: list[Slot] = []
    for _ in range(len(slots)):
        while not alive[first]:
            first += 1
        if epsilon > 0 and rng.random() < epsilon:
            probs = np.where(alive, weight, 0.0) / total
            k = int(rng.choice(len(rows), p=probs / probs.sum()))
            prop = (1 - epsilon) * (k == first) + epsilon * float(probs[k])
            if k < len(slots):
                slot = slots[k]
                greedy.remove(slot)
            else:
                row = int(rows[k])
                text = reason(row) if reason is not None else "picked for you"
                slot = Slot(row, float("nan"), text, greedy[0].source)
            slot.explore, slot.propensity = True, round(prop, 6)
        else:
            k = first
            slot = greedy.pop(0)
            slot.explore = False
            slot.propensity = round((1 - epsilon) + epsilon * float(weight[k]) / total, 6)
        alive[k] = False
        total -= float(weight[k])
        out.append(slot)
        if not greedy:
            break
    return out
