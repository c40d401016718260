"""The flat generator's plan: the shopping model as numpy arrays, for a million events at once.

Sessions get an owner (activity is lognormal), an anchor group of items (items in blocks of ~50
stand in for leaf categories) and a length; each position becomes a view, detail view, add or
remove, and a share of sessions check out what they added. `simulate_flat` turns the arrays
into events.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ADD", "BUY", "FLAT_NAMES", "plan_flat"]

FLAT_NAMES = (
    "View Catalog Object",
    "View Catalog Object Detail",
    "Add To Cart",
    "Remove From Cart",
    "Purchase",
)
VIEW, DETAIL, ADD, REMOVE, BUY = range(5)
_FLAT_GROUP, _FLAT_P_BUY = 50, 0.15


def plan_flat(
    m: int, n: int, events: int, span: float, end: float, seed: int
) -> tuple[np.ndarray, ...]:
    """Arrays (ts, individual, kind, item, quantity, order) of `events` events, sorted by ts."""
    rng = np.random.default_rng([seed, 1])
    pop = 1.0 / (rng.permutation(m) + 3.0) ** 0.9
    groups = max(1, m // _FLAT_GROUP)
    group = rng.permutation(m) % groups
    by_group = np.lexsort((np.arange(m), group))
    g_sorted, w = group[by_group], pop[by_group]
    g_first = np.searchsorted(g_sorted, np.arange(groups))
    g_last = np.append(g_first[1:], m) - 1
    g_mass = np.add.reduceat(w, g_first)
    cum = np.cumsum(w)
    key = g_sorted + (cum - (cum[g_first] - w[g_first])[g_sorted]) / g_mass[g_sorted]
    all_cum = np.cumsum(pop) / pop.sum()
    g_cum = np.cumsum(g_mass) / g_mass.sum()

    def in_group(g: np.ndarray) -> np.ndarray:
        j = np.searchsorted(key, g + rng.random(len(g)))
        return by_group[np.clip(j, g_first[g], g_last[g])]

    def any_of(cum_: np.ndarray, size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cum_, rng.random(size)), len(cum_) - 1)

    activity = np.cumsum(rng.lognormal(0.0, 1.0, n))
    taste = any_of(g_cum, 2 * n).reshape(n, 2)
    s = events // 4 + 16
    while True:
        length = 2 + np.minimum(10, rng.exponential(3.5, s).astype(np.int64))
        if length.sum() >= events:
            break
        s *= 2
    owner = np.minimum(np.searchsorted(activity, rng.random(s) * activity[-1]), n - 1)
    r = rng.random(s)
    anchor = np.where(r < 0.7, taste[owner, 0], taste[owner, 1])
    anchor = np.where(r < 0.9, anchor, any_of(g_cum, s))
    total = int(length.sum())
    sess = np.repeat(np.arange(s), length)
    first = np.cumsum(length) - length
    pos = np.arange(total) - first[sess]
    r = np.where(pos == 0, 1.0, rng.random(total))
    kind = np.select([r < 0.07, r < 0.09, r < 0.25], [ADD, REMOVE, DETAIL], VIEW)
    idx = np.arange(total)
    last_add = np.maximum.accumulate(np.where(kind == ADD, idx, -1))
    converts = rng.random(s) < _FLAT_P_BUY
    bad_remove = (kind == REMOVE) & ((last_add < first[sess]) | converts[sess])
    kind[bad_remove] = VIEW
    mode = rng.random(total)
    item = np.where(mode < 0.65, in_group(anchor[sess]), in_group(taste[owner[sess], 1]))
    item = np.where(mode < 0.8, item, any_of(all_cum, total))
    review = (mode >= 0.9) & (pos >= 2)
    item[review] = item[np.maximum(idx[review] - 2, 0)]
    is_view = kind == VIEW
    item = np.where(is_view, item, item[np.maximum.accumulate(np.where(is_view, idx, 0))])
    item = np.where(kind == REMOVE, item[np.maximum(last_add, 0)], item)
    qty = np.where(rng.random(total) < 0.08, 2, 1)
    gaps = 5.0 + np.minimum(145.0, rng.random(total) * rng.random(total) * 240.0)
    csum = np.cumsum(gaps)
    starts = end - span + rng.random(s) * max(0.0, span - 3600.0)
    ts = starts[sess] + csum - (csum[first] - gaps[first])[sess]
    bought = np.flatnonzero((kind == ADD) & converts[sess])
    b_sess = sess[bought]
    last_ts = ts[first + length - 1]
    cols = (
        np.concatenate([sess, b_sess]),
        np.concatenate([pos, length[b_sess] + np.arange(len(bought))]),
        np.concatenate([ts, last_ts[b_sess] + 40.0]),
        np.concatenate([owner[sess], owner[b_sess]]),
        np.concatenate([kind, np.full(len(bought), BUY)]),
        np.concatenate([item, item[bought]]),
        np.concatenate([qty, qty[bought]]),
    )
    keep = np.lexsort((cols[1], cols[0]))[:events]
    when = np.round(cols[2][keep], 3)
    order = np.argsort(when, kind="stable")
    return when[order], *(c[keep][order] for c in cols[3:]), cols[0][keep][order]
