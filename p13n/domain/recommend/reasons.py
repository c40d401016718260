"""Reasons a shop assistant could say: "Lululemon, which you buy often; matches 'yoga', under
$50", "because you bought 'Zelda N64'", "in black, as you prefer". Never an internal state
("exploring", "engaged", scores): every reason an answer carries is built here or by a
recommender in the same spirit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from p13n.domain.ingest import Item
from p13n.domain.recommend.interpret import Constraint

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


def personal_reason(
    item: Item | None,
    base: str,
    *,
    brand: float = 0.0,
    bought: Mapping[str, int] | None = None,
    liked: Sequence[Constraint] = (),
) -> str:
    """The personal part: the recommender's own personal reason, else a loved brand; then the
    stated preferences the item meets. With no item (no query), `base` always leads."""
    parts: list[str] = []
    if item is None:
        if base:
            parts.append(base)
    elif base.startswith(PERSONAL_PREFIXES):
        parts.append(base)
    elif item.brand and brand >= _LIKED_BRAND:
        orders = (bought or {}).get(item.brand.casefold(), 0)
        if orders >= 2:
            parts.append(f"{item.brand}, which you buy often")
        elif orders == 1:
            parts.append(f"{item.brand}, which you have bought before")
        else:
            parts.append(f"{item.brand}, a brand you like")
    if liked:
        parts.append(f"{_labels(liked)}, as you prefer")
    return "; ".join(parts)


def query_reason(search_text: str | None, constraints: Sequence[Constraint], hook: str) -> str:
    """The query part ("matches 'yoga', under $50") after the personal part, if any. Price
    bounds and avoided values are named; the query words already carry the rest."""
    named = [c for c in constraints if c.field == "price" or c.operator == "is_not"]
    query = f"matches '{search_text}'" if search_text else ""
    labels = _labels(named)
    query = ", ".join(p for p in (query, labels) if p)
    return "; ".join(p for p in (hook, query) if p) or "matches your request"
