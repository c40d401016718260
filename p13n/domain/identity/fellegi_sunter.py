"""The probabilistic matcher: Fellegi-Sunter weights estimated by EM, without labels.

Each candidate pair has one agreement level per feature (compare.FEATURES; -1 = a value is
missing, which counts neither for nor against). A pair's Bayes factor is the product over
features of m(level) / u(level), where m is the chance of that level among true matches and u
among non-matches; EM (Winkler 1988) fits m, u and the share of matches among the candidates.
EM runs over the distinct agreement patterns with their counts, so its cost does not grow with
the number of pairs.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, PrivateAttr

from p13n.domain.identity.compare import FEATURES, LEVELS

__all__ = ["FSParams", "estimate", "posterior", "match_weight", "default_params"]

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
_EPS = 1e-6


class FSParams(BaseModel):
    features: list[str]
    m: list[list[float]]
    u: list[list[float]]
    prior: float
    pairs: int = 0
    _weights: list[list[float]] | None = PrivateAttr(default=None)

    def weights(self) -> list[list[float]]:
        """log(m / u) per feature and level (cached; the parameters are not changed in place)."""
        if self._weights is None:
            self._weights = [
                [float(np.log(m + _EPS) - np.log(u + _EPS)) for m, u in zip(ms, us, strict=True)]
                for ms, us in zip(self.m, self.u, strict=True)
            ]
        return self._weights

    def pair_posterior(self, levels: list[int]) -> float:
        """`posterior` of one pair, in plain Python (the real-time path)."""
        w = self.weights()
        prior = min(max(self.prior, _EPS), 1 - _EPS)
        logit = sum(w[f][lv] for f, lv in enumerate(levels) if lv >= 0)
        logit += math.log(prior / (1 - prior))
        return 1.0 / (1.0 + math.exp(-min(max(logit, -700.0), 700.0)))


def default_params() -> FSParams:
    """Starting values (and the model before any batch run): agreement likely among matches,
    disagreement likely among non-matches."""
    m, u = [], []
    for _, kind in FEATURES:
        n = LEVELS[kind]
        mm = np.linspace(0.05, 1.0, n) ** 2
        uu = np.linspace(1.0, 0.05, n) ** 2
        m.append((mm / mm.sum()).tolist())
        u.append((uu / uu.sum()).tolist())
    return FSParams(features=[f for f, _ in FEATURES], m=m, u=u, prior=0.1)


def _log_ratio(levels: I8, params: FSParams) -> F64:
    total = np.zeros(len(levels), dtype=np.float64)
    for f in range(levels.shape[1]):
        lm = np.log(np.asarray(params.m[f]) + _EPS)
        lu = np.log(np.asarray(params.u[f]) + _EPS)
        lv = levels[:, f]
        present = lv >= 0
        total[present] += (lm - lu)[lv[present]]
    return total


def match_weight(levels: I8, params: FSParams) -> F64:
    """log2 Bayes factor per pair (0 = no evidence either way)."""
    return np.asarray(_log_ratio(levels, params) / np.log(2.0), dtype=np.float64)


def posterior(levels: I8, params: FSParams) -> F64:
    """Probability that each pair is a match, given the candidates' share of matches."""
    prior = min(max(params.prior, _EPS), 1 - _EPS)
    logit = _log_ratio(levels, params) + np.log(prior / (1 - prior))
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700))), dtype=np.float64)


def estimate(levels: I8, *, iterations: int = 40, start: FSParams | None = None) -> FSParams:
    """EM over the distinct patterns of `levels` (pairs x features)."""
    params = start or default_params()
    if len(levels) == 0:
        return params
    base = max(LEVELS.values()) + 1
    weights = base ** np.arange(levels.shape[1], dtype=np.int64)
    codes = (levels.astype(np.int64) + 1) @ weights
    uniq, first, counts = np.unique(codes, return_index=True, return_counts=True)
    patterns = levels[first]
    cnt = counts.astype(np.float64)
    m = [np.asarray(x) for x in params.m]
    u = [np.asarray(x) for x in params.u]
    prior = params.prior
    for _ in range(iterations):
        current = FSParams(
            features=params.features,
            m=[x.tolist() for x in m],
            u=[x.tolist() for x in u],
            prior=prior,
        )
        post = posterior(patterns, current)
        wm, wu = cnt * post, cnt * (1.0 - post)
        prior = float(wm.sum() / cnt.sum())
        for f in range(patterns.shape[1]):
            n = len(m[f])
            lv = patterns[:, f]
            present = lv >= 0
            sm = np.bincount(lv[present], weights=wm[present], minlength=n)[:n] + _EPS
            su = np.bincount(lv[present], weights=wu[present], minlength=n)[:n] + _EPS
            m[f], u[f] = sm / sm.sum(), su / su.sum()
    return FSParams(
        features=params.features,
        m=[x.tolist() for x in m],
        u=[x.tolist() for x in u],
        prior=prior,
        pairs=int(cnt.sum()),
    )
