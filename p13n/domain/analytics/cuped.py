"""CUPED: regression adjustment on the same metric in each unit's pre-exposure window.

A unit's spend before it was exposed predicts its spend after, whatever cohort it is in;
subtracting θ·(pre − mean pre) removes that predictable part and shrinks the variance of every
cohort by about ρ² (ρ the pre/post correlation) without biasing the effect, because exposure
cannot change the pre-period. θ is pooled over all cohorts (as gbstats pools control and
treatment), so every cohort is adjusted with the same θ. Report the adjusted figures beside the
unadjusted ones, with the variance reduction achieved.

A relative lift after CUPED divides the adjusted difference by the control's unadjusted mean
(the adjusted means are shifted by θ·pre mean and are no baseline), as gbstats does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from p13n.domain.analytics.sufficient import (
    MeanStats,
    check_pair,
    pair_covariance,
    pair_from_values,
)
from p13n.domain.errors import InvalidInput

__all__ = ["PrePostStats", "AdjustedStats", "CupedResult", "pooled_theta", "cuped_adjust"]


@dataclass(frozen=True, slots=True)
class PrePostStats:
    """One cohort's metric before (`pre`, the pre-exposure window) and after exposure
    (`post`) over the same units, with the cross sum Σ post·pre. A unit with no events in a
    window counts 0 there."""

    n: int
    post: MeanStats
    pre: MeanStats
    cross_sum: float

    def __post_init__(self) -> None:
        check_pair("PrePostStats", self.n, self.post, self.pre, self.cross_sum)

    @classmethod
    def from_values(cls, pre: ArrayLike, post: ArrayLike) -> PrePostStats:
        """From one (pre, post) pair per unit."""
        n, post_stats, pre_stats, cross = pair_from_values("PrePostStats", post, pre)
        return cls(n=n, post=post_stats, pre=pre_stats, cross_sum=cross)

    @property
    def covariance(self) -> float:
        return pair_covariance(self.n, self.post, self.pre, self.cross_sum)


@dataclass(frozen=True, slots=True)
class AdjustedStats:
    """One cohort after CUPED; a `Summary`, so every test reads it as it reads a MeanStats.

    mean: post mean − θ × pre mean; variance: per-unit variance of post − θ·pre;
    unadjusted_mean / unadjusted_variance: the post figures without the adjustment;
    variance_reduction: 1 − variance / unadjusted_variance (0 when there is nothing to reduce).
    """

    n: int
    theta: float
    mean: float
    variance: float
    unadjusted_mean: float
    unadjusted_variance: float

    @property
    def variance_reduction(self) -> float:
        if self.unadjusted_variance <= 0:
            return 0.0
        return 1 - self.variance / self.unadjusted_variance


@dataclass(frozen=True, slots=True)
class CupedResult:
    """θ, the adjusted cohorts (in the order given), and the variance reduction achieved on
    the effect: 1 − Σ adjusted variance/n ÷ Σ unadjusted variance/n over the cohorts (for two
    cohorts, exactly the reduction in the variance of their difference). θ is 0, and nothing
    changes, when the pre-period or post-period has no variance."""

    theta: float
    cohorts: tuple[AdjustedStats, ...]
    variance_reduction: float


def pooled_theta(cohorts: Sequence[PrePostStats]) -> float:
    """Cov(post, pre) / Var(pre) over the units of all cohorts together (gbstats'
    `compute_theta`, for any number of cohorts); 0 when either has no variance."""
    n = sum(c.n for c in cohorts)
    if n <= 1:
        return 0.0
    post = MeanStats(n, sum(c.post.sum for c in cohorts), sum(c.post.sum_squares for c in cohorts))
    pre = MeanStats(n, sum(c.pre.sum for c in cohorts), sum(c.pre.sum_squares for c in cohorts))
    if pre.variance <= 0 or post.variance <= 0:
        return 0.0
    cross = sum(c.cross_sum for c in cohorts)
    covariance = (cross - post.sum * pre.sum / n) / (n - 1)
    return covariance / pre.variance


def cuped_adjust(cohorts: Sequence[PrePostStats]) -> CupedResult:
    """Every cohort adjusted with the pooled θ."""
    if not cohorts:
        raise InvalidInput("CUPED needs at least one cohort.")
    theta = pooled_theta(cohorts)
    adjusted = tuple(
        AdjustedStats(
            n=c.n,
            theta=theta,
            mean=c.post.mean - theta * c.pre.mean,
            variance=(
                max(c.post.variance + theta**2 * c.pre.variance - 2 * theta * c.covariance, 0.0)
                if c.n > 1
                else 0.0
            ),
            unadjusted_mean=c.post.mean,
            unadjusted_variance=c.post.variance,
        )
        for c in cohorts
    )
    before = sum(a.unadjusted_variance / a.n for a in adjusted if a.n)
    after = sum(a.variance / a.n for a in adjusted if a.n)
    reduction = 1 - after / before if before > 0 else 0.0
    return CupedResult(theta=theta, cohorts=adjusted, variance_reduction=reduction)
