"""A request's words and the person's tastes, made ready for ranking (used by recommendations
and catalog search).

`QueryIndex` is what one catalog snapshot needs for queries: its vocabulary (with category
vectors), the BM25 index and the row-aligned vectors. `retrieve` is hybrid retrieval: the
nearest items by embedding, the best by BM25, and the items meeting the query's soft
constraints or of the person's favourite brands, all under the hard constraints; the union
is the pool `QueryBlend` re-ranks. `tastes_of` reads a profile's affinities, orders and stated
preferences. `relax` loosens hardened constraints one by one when no item qualifies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest import Item
from p13n.domain.recommend import (
    BlendWeights,
    CatalogSnapshot,
    CatalogVocabulary,
    Constraint,
    Interpreted,
    IvfVectors,
    LexicalIndex,
    QueryBlend,
    Reading,
    Tastes,
    constraint_rows,
    interpret,
)

__all__ = [
    "QueryIndex",
    "retrieve",
    "tastes_of",
    "relax",
    "relaxed_note",
    "hard_mask",
    "interpreted",
    "PREFERENCES_ATTRIBUTE",
    "FEW_ITEMS",
]

PREFERENCES_ATTRIBUTE = "statedPreferences"
FEW_ITEMS = 3  # a soft constraint fewer returned items meet is said in `relaxed`
_EXTRA_ROWS = 300
_FAVOURITE_BRANDS = 3
_RECENT_VIEWS = 30
_Vector = npt.NDArray[np.float32]


class QueryIndex:
    """Per snapshot: vocabulary, BM25 and vectors (the first two built on first use), plus
    the stated preferences already read against this catalog."""

    def __init__(
        self,
        snap: CatalogSnapshot,
        lookup: IvfVectors | None,
        *,
        embed: Callable[[str], _Vector] | None = None,
        embed_many: Callable[[list[str]], _Vector] | None = None,
        loading: Callable[[], bool] | None = None,
    ) -> None:
        self.snap, self.lookup, self.embed = snap, lookup, embed
        self._embed_many = embed_many
        self._loading = loading
        self._vocab: CatalogVocabulary | None = None
        self._lexical: LexicalIndex | None = None
        self._preferences: dict[str, list[Constraint]] = {}

    @property
    def vocab(self) -> CatalogVocabulary:
        if self._vocab is None:
            self._vocab = CatalogVocabulary(self.snap)
        return self._vocab

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex(self.snap)
        return self._lexical

    def read(self, text: str | None) -> Reading:
        """The query read against this catalog (embedded, and categories matched by meaning,
        when vectors are configured). While the model is still loading in the background (the
        seconds after a server starts) the query is read by its words alone rather than wait:
        `interpreted.semantic` is then false."""
        vocab = self.vocab
        embed = self.embed
        if embed is not None and self._loading is not None and self._loading():
            embed = None
        elif self._embed_many is not None and vocab.category_vectors is None and vocab.paths:
            vocab.category_vectors = self._embed_many(vocab.category_texts())
        reading = interpret(text, vocab, embed=embed)
        if self.embed is not None and reading.interpreted.search_text:
            reading.interpreted.semantic = embed is not None
        return reading

    def preferences(self, texts: Sequence[str]) -> list[Constraint]:
        """Stated preferences as soft constraints (each text read once per snapshot)."""
        out: list[Constraint] = []
        for text in texts:
            got = self._preferences.get(text)
            if got is None:
                try:
                    read = interpret(text, self.vocab, source="stated_preference")
                    got = [c for c in read.interpreted.constraints if c.field != "price"]
                except InvalidInput:  # a price in another currency: nothing to rank by
                    got = []
                self._preferences[text] = got
            out.extend(got)
        return out

    def rows(self, c: Constraint) -> npt.NDArray[np.bool_]:
        return constraint_rows(c, self.snap, self.vocab, self.lexical)


def hard_mask(
    index: QueryIndex, hard: Sequence[Constraint], base: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.bool_] | None:
    """The rows meeting every hard constraint and the request's own filters."""
    mask = base
    for c in hard:
        hit = index.rows(c)
        hit = ~hit if c.operator == "is_not" else hit
        mask = hit if mask is None else mask & hit
    return mask


def tastes_of(
    profile: ProfileGraph | None, items: Mapping[str, Item], index: QueryIndex | None
) -> Tastes:
    """The person's affinities (0-1), brands per order, and stated preferences."""
    if profile is None:
        return Tastes()
    aff = profile.affinities
    brands = {k.casefold(): v / 100.0 for k, v in aff.get("brand", {}).items()}
    categories = {k: v / 100.0 for k, v in aff.get("category", {}).items()}
    bought: Counter[str] = Counter()
    for order in profile.purchases:
        names = {
            (items[ln.item_id].brand or "").casefold() for ln in order.lines if ln.item_id in items
        }
        bought.update(n for n in names if n)
    stated = profile.attributes.get(PREFERENCES_ATTRIBUTE) or []
    texts = [str(p) for p in stated if str(p).strip()] if isinstance(stated, list) else []
    preferences = index.preferences(texts) if index is not None and texts else []
    recent: list[tuple[str, Item]] = []
    for order in sorted(profile.purchases, key=lambda o: -o.ts):
        recent += [("bought", items[ln.item_id]) for ln in order.lines if ln.item_id in items]
    recent += [("added to your cart", items[c.item_id]) for c in profile.cart if c.item_id in items]
    recent += [
        ("viewed", items[v.item_id])
        for v in reversed(profile.recently_viewed[-_RECENT_VIEWS:])
        if v.item_id in items
    ]
    return Tastes(brands, categories, dict(bought), preferences, recent)


def _top_extra(hit: npt.NDArray[np.bool_], lex: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    rows = np.flatnonzero(hit)
    if len(rows) > _EXTRA_ROWS:
        rows = rows[np.argsort(-lex[rows], kind="stable")[:_EXTRA_ROWS]]
    return rows.astype(np.int64)


def retrieve(
    index: QueryIndex,
    reading: Reading,
    mask: npt.NDArray[np.bool_] | None,
    tastes: Tastes,
    *,
    pool: int,
    weights: BlendWeights | None = None,
) -> QueryBlend:
    """Hybrid retrieval under `mask` and the blend over the pool (see the module docstring)."""
    snap, lookup = index.snap, index.lookup
    vector = reading.vector
    text = reading.interpreted.search_text
    lex = index.lexical.scores(text)
    allowed = np.ones(len(snap), dtype=np.bool_) if mask is None else mask
    lex = np.where(allowed, lex, 0.0)
    parts: list[npt.NDArray[np.int64]] = []
    if vector is not None and lookup is not None:
        parts.append(lookup.nearest(vector, pool, mask)[0])
    hits = np.flatnonzero(lex > 0)
    if len(hits):
        parts.append(hits[np.argsort(-lex[hits], kind="stable")[:pool]])
    soft = [(c, index.rows(c)) for c in reading.soft]
    for c, hit in soft:
        if c.operator == "is" and c.field != "price":
            parts.append(_top_extra(hit & allowed, lex))
    for brand, _ in sorted(tastes.brands.items(), key=lambda kv: -kv[1])[:_FAVOURITE_BRANDS]:
        code = index.vocab.brand_index.get(brand)
        if code is not None:
            parts.append(_top_extra((index.vocab.brand_codes == code) & allowed, lex))
    rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    semantic = None
    if vector is not None and lookup is not None:
        semantic = lookup.similarity(vector, rows)
    preferences = [(c, index.rows(c)) for c in tastes.preferences]
    return QueryBlend(
        snap,
        index.vocab,
        rows,
        semantic,
        lex[rows],
        search_text=text,
        soft=soft,
        hard=reading.hard,
        tastes=tastes,
        preferences=preferences,
        weights=weights,
    )


def relax(reading: Reading) -> Constraint | None:
    """Loosen the next hardened constraint the shopper did not mark with 'only' (a price
    bound): it turns soft, so items meeting it still rank first. None when none is left."""
    for c in reading.hard:
        if c.field == "price":
            c.applied, c.relaxed = "soft", True
            reading.hard.remove(c)
            reading.soft.append(c)
            return c
    return None


def relaxed_note(c: Constraint, qualified: int) -> str:
    return f"'{c.label()}': only {qualified} item(s) qualified, so items outside it follow them"


def interpreted(
    index: QueryIndex,
    query: str | None,
    reading: Reading | None,
    preferences: Sequence[Constraint],
    rows: Sequence[int],
    relaxed: Sequence[str],
    *,
    personalized: bool = False,
) -> Interpreted:
    """What was read and how it was applied, with how many returned items meet each; a soft
    constraint few returned items meet, or an avoided value some show, is said in `relaxed`."""
    constraints: list[Constraint] = []
    notes = list(relaxed)
    read = reading.interpreted.constraints if reading is not None else []
    n = len(rows)
    for c in [*read, *preferences]:
        hit = index.rows(c)
        met = sum(bool(hit[r]) for r in rows)
        if c.operator == "is_not":
            met = n - met
        if (
            c.source == "query"
            and c.matched_by != "meaning"
            and not c.relaxed
            and n > 0
            and met < n
        ):
            if c.operator == "is_not":
                notes.append(
                    f"'{c.label()}': {n - met} item(s) shown do not meet it; nothing else qualified"
                )
            elif c.applied == "soft" and met < min(n, FEW_ITEMS):
                notes.append(
                    f"'{c.label()}': only {met} of the {n} items meet it; the others are the "
                    "closest matches"
                )
        constraints.append(c.model_copy(update={"matches": met}))
    base = reading.interpreted if reading is not None else None
    return Interpreted(
        query=(query or "").strip() or None,
        search_text=base.search_text if base is not None else None,
        currency=index.vocab.currency,
        constraints=constraints,
        personalized=personalized,
        semantic=base.semantic if base is not None else None,
        relaxed=notes,
    )
