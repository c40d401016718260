"""Fixed-horizon frequentist tests: Welch's t-test for means, the two-proportion z-test for rates.

Both answer one cohort against the control on one metric, as a relative lift (delta method) or
an absolute difference, with a two-sided p-value and confidence interval. They are valid when
the sample size was fixed in advance and the result is read once; to read results every day,
use `sequential.sequential_test`, whose intervals stay valid under peeking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import special

from p13n.domain.analytics.sufficient import (
    RateStats,
    Scale,
    Summary,
    effect_moments,
    why_undefined,
)
from p13n.domain.errors import InvalidInput

__all__ = ["Effect", "Method", "welch_test", "two_proportion_test", "undefined_effect"]

Method = Literal["welch", "two-proportion z", "sequential"]


@dataclass(frozen=True, slots=True)
class Effect:
    """One cohort against the control on one metric, from one frequentist engine.

    method: which test. scale: relative lift or absolute difference. estimate: the lift or
    difference. std_error: its standard error. ci_low / ci_high: the (1 − alpha) interval
    (always-valid for `sequential`). p_value: two-sided, for "no difference". dof: Welch–
    Satterthwaite degrees of freedom (None for z and sequential). problem: why the numbers are
    None (e.g. a cohort with no units), else None.
    """

    method: Method
    scale: Scale
    alpha: float
    estimate: float | None
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    dof: float | None = None
    problem: str | None = None

    @property
    def defined(self) -> bool:
        return self.problem is None

    @property
    def direction(self) -> Literal[1, -1, 0]:
        """+1 when the interval lies above 0, −1 below, 0 when it holds 0 (or is undefined)."""
        if self.ci_low is not None and self.ci_low > 0:
            return 1
        if self.ci_high is not None and self.ci_high < 0:
            return -1
        return 0


def undefined_effect(method: Method, scale: Scale, alpha: float, problem: str) -> Effect:
    """An effect that cannot be estimated, saying why."""
    return Effect(method, scale, alpha, None, None, None, None, None, problem=problem)


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha must be between 0 and 1, got {alpha}.")


def welch_dof(control: Summary, treatment: Summary) -> float:
    """Welch–Satterthwaite degrees of freedom from the per-unit variances."""
    vc, vt = control.variance / control.n, treatment.variance / treatment.n
    return (vc + vt) ** 2 / (vc**2 / (control.n - 1) + vt**2 / (treatment.n - 1))


def welch_test(
    control: Summary,
    treatment: Summary,
    *,
    scale: Scale = "relative",
    alpha: float = 0.05,
) -> Effect:
    """Welch's unequal-variance t-test (gbstats' `TwoSidedTTest`): t with Welch–Satterthwaite
    degrees of freedom on the delta-method effect. Works on any `Summary` (means, ratios,
    CUPED-adjusted cohorts, and rates, which then use p(1 − p) as gbstats does)."""
    check_alpha(alpha)
    problem = why_undefined(control, treatment, scale=scale)
    if problem is not None:
        return undefined_effect("welch", scale, alpha, problem)
    estimate, variance = effect_moments(control, treatment, scale=scale)
    se = math.sqrt(variance)
    dof = welch_dof(control, treatment)
    # scipy.special rather than scipy.stats: the same functions without the per-call
    # overhead of the distribution objects (a results page runs many tests).
    width = float(special.stdtrit(dof, 1 - alpha / 2)) * se
    p_value = float(2 * special.stdtr(dof, -abs(estimate) / se))
    return Effect(
        "welch", scale, alpha, estimate, se, estimate - width, estimate + width, p_value, dof
    )


def two_proportion_test(
    control: RateStats,
    treatment: RateStats,
    *,
    scale: Scale = "relative",
    alpha: float = 0.05,
) -> Effect:
    """The two-proportion z-test for rates.

    The p-value tests "the two rates are equal" with the pooled rate's variance (the classic
    test, statsmodels' `proportions_ztest`; it holds its size under the null), one hypothesis
    so one p-value on both scales. The interval uses each cohort's own variance (Wald for the
    difference, delta method for the lift), which covers away from the null. As in R's
    `prop.test` and statsmodels, the two can disagree when p is right at alpha.
    """
    check_alpha(alpha)
    problem = _why_rates_undefined(control, treatment, scale=scale)
    if problem is not None:
        return undefined_effect("two-proportion z", scale, alpha, problem)
    estimate, variance = effect_moments(control, treatment, scale=scale)
    se = math.sqrt(variance)
    width = float(special.ndtri(1 - alpha / 2)) * se
    pooled = (control.conversions + treatment.conversions) / (control.n + treatment.n)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
    z = (treatment.mean - control.mean) / pooled_se
    p_value = float(2 * special.ndtr(-abs(z)))
    return Effect(
        "two-proportion z", scale, alpha, estimate, se, estimate - width, estimate + width, p_value
    )


def _why_rates_undefined(control: RateStats, treatment: RateStats, *, scale: Scale) -> str | None:
    """Rates need less than means: one cohort with no conversions is still a comparison (the
    pooled rate carries the test); only no units, or no variation at all, leave nothing."""
    if control.n == 0 or treatment.n == 0:
        return "a cohort has no units yet"
    pooled = (control.conversions + treatment.conversions) / (control.n + treatment.n)
    if pooled in (0, 1):
        return "no unit converted in any cohort (or every unit did), so there is nothing to compare"
    if scale == "relative" and control.conversions == 0:
        return "the control's value is 0, so a relative lift is undefined"
    return None
