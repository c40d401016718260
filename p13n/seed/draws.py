"""Random draws for the shopper simulator: buffered uniforms, and items weighted by popularity.

Item popularity is Zipf-like over a seeded shuffle, with a few items trending in the last week;
`ItemPools` holds one weighted pool per facet (top category, leaf category, brand within a top
category) so a shopper's next view is one bisect away.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from p13n.domain.ingest import Item

__all__ = ["Dice", "ItemPools", "Pool", "weighted"]

_TRENDING_SHARE, _TRENDING_BOOST = 0.02, 8.0


class Dice:
    """Uniform draws from a numpy Generator, buffered: one call per event would be slow."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng, self._buf = rng, list[float]()

    def u(self) -> float:
        if not self._buf:
            self._buf = self._rng.random(512).tolist()
        return self._buf.pop()

    def below(self, n: int) -> int:
        return min(n - 1, int(self.u() * n))

    def session_length(self) -> int:
        """2..12 events, mostly short (mean about 5)."""
        return 2 + min(10, int(-math.log(1.0 - self.u()) * 3.5))


class Pool:
    """Items to draw from, weighted by popularity before and during the trending window."""

    def __init__(self, idx: list[int], base: np.ndarray, late: np.ndarray) -> None:
        self.idx = idx
        self._cum = list(accumulate(base[idx].tolist()))
        self._cum_late = list(accumulate(late[idx].tolist()))

    def pick(self, u: float, late: bool) -> int:
        cum = self._cum_late if late else self._cum
        return self.idx[min(len(cum) - 1, bisect_right(cum, u * cum[-1]))]


class ItemPools:
    """Popularity (Zipf over a seeded shuffle, some items trending) and pools per facet."""

    def __init__(self, items: Sequence[Item], rng: np.random.Generator) -> None:
        n = len(items)
        self.items = items
        base = 1.0 / (rng.permutation(n) + 3.0) ** 0.9
        late = base * np.where(rng.random(n) < _TRENDING_SHARE, _TRENDING_BOOST, 1.0)
        self.top = [(it.category or "Other").split("/")[0] for it in items]
        self.leaf = [it.category or "Other" for it in items]
        self.buyable = [it.in_stock and it.price is not None for it in items]
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(("top", self.top[i]), []).append(i)
            groups.setdefault(("leaf", self.leaf[i]), []).append(i)
            if it.brand:  # a brand within a top category: Nike for women is not Nike for kids
                groups.setdefault(("brand", self.top[i], it.brand), []).append(i)
        self.pools = {key: Pool(idx, base, late) for key, idx in groups.items()}
        self.all = Pool(list(range(n)), base, late)
        self.weight = {key: float(base[idx].sum()) for key, idx in groups.items()}
        tops = [(key[1], w) for key, w in self.weight.items() if key[0] == "top"]
        self.tops = sorted(tops, key=lambda p: (-p[1], p[0]))
        self._brands: dict[tuple[str, ...], list[tuple[str, float]]] = {}

    def brands_in(self, tops: tuple[str, ...]) -> list[tuple[str, float]]:
        """Brands sold in these top categories with their popularity mass, most popular first."""
        if tops not in self._brands:
            mass: dict[str, float] = {}
            for key, w in self.weight.items():
                if key[0] == "brand" and key[1] in tops:
                    mass[key[2]] = mass.get(key[2], 0.0) + w
            self._brands[tops] = sorted(mass.items(), key=lambda p: (-p[1], p[0]))
        return self._brands[tops]


def weighted(dice: Dice, pairs: list[tuple[str, float]], k: int) -> tuple[str, ...]:
    """Up to `k` distinct values drawn by weight."""
    pool, out = list(pairs), list[str]()
    while pool and len(out) < k:
        cum = list(accumulate(w for _, w in pool))
        j = min(len(pool) - 1, bisect_right(cum, dice.u() * cum[-1]))
        out.append(pool.pop(j)[0])
    return tuple(out)
