"""Reasons a shop assistant could say: "Lululemon, which you buy often; matches 'yoga', under
$50", "because you bought 'Zelda N64'", "in black, as you prefer". Never an internal state
("exploring", "engaged", scores): every reason an answer carries is built here or by a
recommender in the same spirit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from p13n.domain.ingest import Item
from p13n.domain.recommend.interpret import Constraint
from p13n.domain.recommend.lexical import query_words

__all__ = ["personal_reason", "query_reason", "PERSONAL_PREFIXES"]

# Recommender reasons that already speak of the person (kept as the reason's first part).
PERSONAL_PREFIXES = ("because you", "you viewed", "often bought with", "often viewed with")
_LIKED_BRAND = 0.5


def _labels(constraints: Sequence[Constraint]) -> str:
    seen: list[str] = []
    for c in constraints:
        label = c.label()
        if label not in seen:
            seen.append(label)
    return ", ".join(seen)


def _related(item: Item, recent: Sequence[tuple[str, Item]]) -> tuple[str, Item] | None:
    """The newest item the person bought, carted or viewed that is like this one: the same
    brand in the same category, else bought or carted in the same category."""
    for verb, seen in recent:
        same = seen.category == item.category and seen.brand == item.brand
        if item.brand and same and seen.id != item.id:
            return verb, seen
    for verb, seen in recent:
        if seen.id != item.id and seen.category == item.category and verb != "viewed":
            return verb, seen
    return None


def personal_reason(
    item: Item | None,
    base: str,
    *,
    brand: float = 0.0,
    bought: Mapping[str, int] | None = None,
    liked: Sequence[Constraint] = (),
    recent: Sequence[tuple[str, Item]] = (),
) -> str:
    """The personal part, then the stated preferences the item meets. With no item (no query),
    the recommender's reason `base` leads. For a query's item: a related item the person
    bought, carted or viewed, else a loved brand, else the recommender's own personal reason
    when it names a history item of the same category (a model's reason can name any)."""
    parts: list[str] = []
    related = _related(item, recent) if item is not None else None
    if item is None:
        if base:
            parts.append(base)
    elif related is not None:
        verb, seen = related
        parts.append(f"because you {verb} '{seen.name or seen.id}'")
    elif item.brand and brand >= _LIKED_BRAND:
        orders = (bought or {}).get(item.brand.casefold(), 0)
        if orders >= 2:
            parts.append(f"{item.brand}, which you buy often")
        elif orders == 1:
            parts.append(f"{item.brand}, which you have bought before")
        else:
            parts.append(f"{item.brand}, a brand you like")
    elif base.startswith(PERSONAL_PREFIXES) and any(
        base.endswith(f"'{seen.name}'") for _, seen in recent if seen.category == item.category
    ):
        parts.append(base)
    if liked:
        parts.append(f"{_labels(liked)}, as you prefer")
    return "; ".join(parts)


def query_reason(
    search_text: str | None,
    constraints: Sequence[Constraint],
    hook: str,
    item: Item,
) -> str:
    """The query part ("matches 'yoga', under $50") after the personal part, if any: the
    query's words the item's name, brand or category has, else "close to" the query's words
    (found by meaning). Price bounds, a child's age and avoided values are named; the query
    words carry the rest."""
    named = [c for c in constraints if c.field in ("price", "age") or c.operator == "is_not"]
    query = ""
    text = f"{item.name or ''} {item.brand or ''} {(item.category or '').replace('/', ' ')}"
    matched, content = query_words(search_text, text)
    if matched:
        query = f"matches '{' '.join(matched)}'"
    elif content:
        query = f"close to '{' '.join(content)}'"
    labels = _labels(named)
    query = ", ".join(p for p in (query, labels) if p)
    return "; ".join(p for p in (hook, query) if p) or "matches your request"
