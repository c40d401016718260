"""Always-valid inference: asymptotic confidence sequences, safe to read every day.

A fixed-horizon test read daily finds a "significant" difference far more often than alpha
when there is none. A confidence sequence (Waudby-Smith et al., "Time-uniform central limit
theory and asymptotic confidence sequences", arXiv 2103.06476v7, eq. 9 and 155) covers the
true effect at every sample size at once, so peeking is free: the price is a wider interval.
This is gbstats' `SequentialTwoSidedTTest`, on the same delta-method effect as Welch.

The tuning N* is the total sample (both cohorts) at which the interval is narrowest; pick
roughly the sample at which a decision is usually made (default 5,000, as gbstats).
"""

from __future__ import annotations

import math

from p13n.domain.analytics.frequentist import Effect, check_alpha, undefined_effect
from p13n.domain.analytics.sufficient import Scale, Summary, effect_moments, why_undefined
from p13n.domain.errors import InvalidInput

__all__ = ["DEFAULT_TUNING", "sequential_test", "rho"]

DEFAULT_TUNING = 5000.0


def rho(alpha: float, tuning: float) -> float:
    """The mixing parameter that makes the sequence tightest at N = tuning (eq. 161)."""
    log_a = -2 * math.log(alpha)
    return math.sqrt((log_a + math.log(log_a + 1)) / tuning)


def sequential_test(
    control: Summary,
    treatment: Summary,
    *,
    scale: Scale = "relative",
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> Effect:
    """The always-valid (1 − alpha) interval and p-value for one cohort against the control.

    Half-width √(s²)·√(2(Nρ²+1)/(N²ρ²)·ln(√(Nρ²+1)/alpha)), with N = nC + nT and s² = N × the
    effect's variance; the p-value is 1 / e-value, capped at 1 (eq. 155).
    """
    check_alpha(alpha)
    if not (math.isfinite(tuning) and tuning > 0):
        raise InvalidInput(f"the sequential tuning N* must be a positive number, got {tuning}.")
    problem = why_undefined(control, treatment, scale=scale)
    if problem is not None:
        return undefined_effect("sequential", scale, alpha, problem)
    estimate, variance = effect_moments(control, treatment, scale=scale)
    n = control.n + treatment.n
    r2 = rho(alpha, tuning) ** 2
    s2 = variance * n
    width = math.sqrt(s2) * math.sqrt(
        2 * (n * r2 + 1) * math.log(math.sqrt(n * r2 + 1) / alpha) / (n**2 * r2)
    )
    st2 = estimate**2 * n / variance
    tr2p1 = n * r2 + 1
    # 1 / e-value, in logs so that a large statistic does not overflow exp().
    log_e = r2 * st2 / (2 * tr2p1) - 0.5 * math.log(tr2p1)
    p_value = 1.0 if log_e <= 0 else math.exp(-log_e)
    return Effect(
        "sequential",
        scale,
        alpha,
        estimate,
        math.sqrt(variance),
        estimate - width,
        estimate + width,
        p_value,
    )
