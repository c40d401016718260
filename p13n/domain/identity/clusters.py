"""Clusters from links: connected components, with 'kept apart' constraints from splits."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from p13n.domain.identity.blocking import I64

__all__ = ["components", "UnionFind"]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def components(
    n: int,
    i: I64,
    j: I64,
    score: np.ndarray,
    *,
    apart: Iterable[tuple[int, int]] = (),
) -> I64:
    """Component label per node (0..k-1). Pairs in `apart` never end in one component: inside a
    component that would join them, links are added strongest first and a link that would
    join a kept-apart pair is skipped."""
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, found = connected_components(graph, directed=False)
    labels: I64 = np.asarray(found, dtype=np.int64)
    apart = [(a, b) for a, b in apart if labels[a] == labels[b]]
    if not apart:
        return labels
    bad = {int(labels[a]) for a, _ in apart}
    next_label = int(labels.max()) + 1
    for comp in sorted(bad):
        nodes = np.flatnonzero(labels == comp)
        cons = [(a, b) for a, b in apart if labels[a] == comp]
        in_comp = np.isin(i, nodes)
        order = np.flatnonzero(in_comp)[np.argsort(-score[in_comp], kind="stable")]
        uf = UnionFind()
        for k in order:
            a, b = int(i[k]), int(j[k])
            ra, rb = uf.find(a), uf.find(b)
            if ra == rb:
                continue
            if any({uf.find(x), uf.find(y)} == {ra, rb} for x, y in cons):
                continue
            uf.union(a, b)
        roots: dict[int, int] = {}
        for node in nodes:
            root = uf.find(int(node))
            if root not in roots:
                roots[root] = comp if not roots else next_label
                if roots[root] == next_label:
                    next_label += 1
            labels[node] = roots[root]
    return labels
