"""Per-cohort sufficient statistics, and the one reduction every engine starts from.

Results come from aggregates (n, sum, sum of squares, cross sums per cohort), never from rows,
so the store can keep them incrementally and a 10-million-decision experiment reads in
milliseconds. Every test (frequentist, Bayesian normal, sequential) reads a cohort through the
small `Summary` shape (n, mean, per-unit variance, unadjusted mean) and reduces a pair of
cohorts to an effect with `effect_moments`: the delta method, as GrowthBook's gbstats does it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike

from p13n.domain.errors import InvalidInput

__all__ = [
    "Scale",
    "Summary",
    "MeanStats",
    "RateStats",
    "RatioStats",
    "Moments",
    "effect_moments",
    "why_undefined",
]

Scale = Literal["relative", "absolute"]
"""`relative`: (treatment − control) / control; `absolute`: treatment − control."""


class Summary(Protocol):
    """What a test reads of one cohort. `variance` is per unit (the mean's variance is
    variance / n); `unadjusted_mean` differs from `mean` only after CUPED, and a relative lift
    divides by it (as gbstats does)."""

    @property
    def n(self) -> int: ...

    @property
    def mean(self) -> float: ...

    @property
    def variance(self) -> float: ...

    @property
    def unadjusted_mean(self) -> float: ...


def _finite(name: str, *values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput(f"{name} needs finite numbers, got {values}.")


def _count(name: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InvalidInput(f"{name}: n must be a whole number ≥ 0, got {n!r}.")


def _plain(stats: object, **fields: type) -> None:
    """Store numpy scalars as Python numbers, so that results serialise as JSON as they are."""
    for name, kind in fields.items():
        object.__setattr__(stats, name, kind(getattr(stats, name)))


@dataclass(frozen=True, slots=True)
class MeanStats:
    """A per-unit metric summed over a cohort's units (revenue per visitor, orders per unit).

    n: units; sum: Σ value; sum_squares: Σ value². A unit with no event counts as 0.
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        _count("MeanStats", self.n)
        _finite("MeanStats", self.sum, self.sum_squares)
        _plain(self, n=int, sum=float, sum_squares=float)
        if self.sum_squares < 0:
            raise InvalidInput(f"MeanStats: sum_squares must be ≥ 0, got {self.sum_squares}.")
        if self.n == 0 and (self.sum != 0 or self.sum_squares != 0):
            raise InvalidInput("MeanStats: a cohort with no units has sum 0 and sum_squares 0.")
        # Cauchy-Schwarz: (Σx)² ≤ n Σx²; allow rounding in aggregates summed in floating point.
        if self.sum**2 > self.n * self.sum_squares * (1 + 1e-9) + 1e-9:
            raise InvalidInput(
                "MeanStats: sum² exceeds n × sum_squares, so these are not sums over the same"
                " units; check that sum_squares sums the squared per-unit values."
            )

    @classmethod
    def from_values(cls, values: ArrayLike) -> MeanStats:
        """From one value per unit."""
        x = np.asarray(values, dtype=float).ravel()
        return cls(n=int(x.size), sum=float(x.sum()), sum_squares=float(np.dot(x, x)))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (n − 1 denominator), 0 below two units."""
        if self.n <= 1:
            return 0.0
        return max((self.sum_squares - self.sum**2 / self.n) / (self.n - 1), 0.0)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


@dataclass(frozen=True, slots=True)
class RateStats:
    """A rate: `conversions` of a cohort's `n` units converted (each unit 0 or 1).

    `variance` is p(1 − p), the binomial per-unit variance gbstats uses for proportions.
    """

    n: int
    conversions: int

    def __post_init__(self) -> None:
        _count("RateStats", self.n)
        _count("RateStats conversions", self.conversions)
        if self.conversions > self.n:
            raise InvalidInput(
                f"RateStats: {self.conversions} conversions out of {self.n} units; a rate counts"
                " each unit at most once (use MeanStats for counts per unit)."
            )
        _plain(self, n=int, conversions=int)

    @classmethod
    def from_values(cls, converted: ArrayLike) -> RateStats:
        """From one 0/1 (or bool) value per unit."""
        x = np.asarray(converted).ravel()
        if x.size and not np.isin(x, (0, 1)).all():
            raise InvalidInput("RateStats.from_values needs 0/1 per unit.")
        return cls(n=int(x.size), conversions=int(np.count_nonzero(x)))

    @property
    def mean(self) -> float:
        return self.conversions / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        p = self.mean
        return p * (1 - p)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


def check_pair(kind: str, n: int, first: MeanStats, second: MeanStats, cross_sum: float) -> None:
    """Two per-unit metrics over the same `n` units, and a cross sum Σ first·second they can
    have (Cauchy–Schwarz); InvalidInput otherwise. Shared by ratio metrics and CUPED."""
    if first.n != n or second.n != n:
        raise InvalidInput(
            f"{kind}: both parts must be over the same {n} units, got {first.n} and {second.n}."
        )
    bound = math.sqrt(first.sum_squares * second.sum_squares)
    if not math.isfinite(cross_sum) or abs(cross_sum) > bound * (1 + 1e-9) + 1e-9:
        raise InvalidInput(
            f"{kind}: |cross_sum| exceeds √(Σa² Σb²), so it is not Σ a·b over the same units."
        )


def pair_from_values(
    kind: str, first: ArrayLike, second: ArrayLike
) -> tuple[int, MeanStats, MeanStats, float]:
    """n, both parts' statistics and their cross sum from one (first, second) pair per unit."""
    a = np.asarray(first, dtype=float).ravel()
    b = np.asarray(second, dtype=float).ravel()
    if a.shape != b.shape:
        raise InvalidInput(f"{kind}.from_values needs one value of each part per unit.")
    return int(a.size), MeanStats.from_values(a), MeanStats.from_values(b), float(np.dot(a, b))


def pair_covariance(n: int, first: MeanStats, second: MeanStats, cross_sum: float) -> float:
    """The per-unit sample covariance of the two parts."""
    if n <= 1:
        return 0.0
    return (cross_sum - first.sum * second.sum / n) / (n - 1)


@dataclass(frozen=True, slots=True)
class RatioStats:
    """A ratio metric (clicks per view, revenue per order): Σ numerator / Σ denominator over
    the cohort's units, with the per-unit cross sum Σ num·den that the delta method needs.

    `variance` is the per-unit delta-method variance, so that variance / n is the variance of
    the ratio (units, not events, are the independent draws).
    """

    n: int
    numerator: MeanStats
    denominator: MeanStats
    cross_sum: float

    def __post_init__(self) -> None:
        _count("RatioStats", self.n)
        _finite("RatioStats", self.cross_sum)
        _plain(self, n=int, cross_sum=float)
        check_pair("RatioStats", self.n, self.numerator, self.denominator, self.cross_sum)

    @classmethod
    def from_values(cls, numerator: ArrayLike, denominator: ArrayLike) -> RatioStats:
        """From one (numerator, denominator) pair per unit."""
        n, num, den, cross = pair_from_values("RatioStats", numerator, denominator)
        return cls(n=n, numerator=num, denominator=den, cross_sum=cross)

    @property
    def covariance(self) -> float:
        return pair_covariance(self.n, self.numerator, self.denominator, self.cross_sum)

    @property
    def mean(self) -> float:
        return self.numerator.sum / self.denominator.sum if self.denominator.sum else 0.0

    @property
    def variance(self) -> float:
        m, d = self.numerator.mean, self.denominator.mean
        if d == 0 or self.n <= 1:
            return 0.0
        value = (
            self.numerator.variance / d**2
            - 2 * self.covariance * m / d**3
            + m**2 * self.denominator.variance / d**4
        )
        return max(value, 0.0)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


@dataclass(frozen=True, slots=True)
class Moments:
    """A cohort already reduced to what the tests read (e.g. after CUPED)."""

    n: int
    mean: float
    variance: float
    unadjusted_mean: float

    def __post_init__(self) -> None:
        _count("Moments", self.n)
        _finite("Moments", self.mean, self.variance, self.unadjusted_mean)
        _plain(self, n=int, mean=float, variance=float, unadjusted_mean=float)
        if self.variance < 0:
            raise InvalidInput(f"Moments: variance must be ≥ 0, got {self.variance}.")


def why_undefined(control: Summary, treatment: Summary, *, scale: Scale) -> str | None:
    """Why no effect can be estimated for this pair, in words; None when it can."""
    if control.n == 0 or treatment.n == 0:
        return "a cohort has no units yet"
    if control.n < 2 or treatment.n < 2:
        return "a cohort has fewer than 2 units"
    if scale == "relative" and (control.mean == 0 or control.unadjusted_mean == 0):
        return "the control's value is 0, so a relative lift is undefined"
    if control.variance <= 0 or treatment.variance <= 0:
        return "every unit of a cohort has the same value, so there is no variance to test"
    return None


def effect_moments(control: Summary, treatment: Summary, *, scale: Scale) -> tuple[float, float]:
    """The effect's estimate and its variance (delta method for `relative`).

    Relative: (μT − μC) / uC with variance σT²/(uC² nT) + σC² uT²/(uC⁴ nC), u the unadjusted
    means (they equal μ except after CUPED). Call `why_undefined` first.
    """
    mc, mt = control.mean, treatment.mean
    vc, vt = control.variance / control.n, treatment.variance / treatment.n
    if scale == "absolute":
        return mt - mc, vc + vt
    uc, ut = control.unadjusted_mean, treatment.unadjusted_mean
    return (mt - mc) / uc, vt / uc**2 + vc * ut**2 / uc**4
