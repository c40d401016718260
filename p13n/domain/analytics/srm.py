"""Sample-ratio mismatch: do the cohorts hold the share of units their weights promise?

When they do not (a redirect that loses some users, a bot in one arm, a cache serving one
cohort), the cohorts differ by more than the treatment and no result can be trusted. Pearson's
chi-square against the configured weights, flagged at p < 0.001: the threshold gbstats, Eppo
and Statsig use, because the check is repeated every day and a false alarm is expensive, while
real mismatches give tiny p-values. Below 8 units in a cohort the chi-square approximation is
poor, so the check answers "not enough traffic" instead (gbstats' rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from p13n.domain.errors import InvalidInput

__all__ = ["SRM_THRESHOLD", "SRM_MIN_UNITS", "SrmCheck", "check_sample_ratio"]

SRM_THRESHOLD = 0.001
SRM_MIN_UNITS = 8
SrmStatus = Literal["ok", "mismatch", "not enough traffic"]


@dataclass(frozen=True, slots=True)
class SrmCheck:
    """counts: units per cohort; expected: units the weights promise; chi_square, dof and
    p_value: Pearson's test; flagged: p < threshold with enough traffic; status and message:
    the same in words."""

    counts: tuple[int, ...]
    expected: tuple[float, ...]
    chi_square: float
    dof: int
    p_value: float
    threshold: float
    flagged: bool
    status: SrmStatus
    message: str


def check_sample_ratio(
    counts: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = SRM_THRESHOLD,
    min_units: int = SRM_MIN_UNITS,
) -> SrmCheck:
    """Pearson's chi-square of `counts` against shares proportional to `weights` (any scale:
    percents or fractions). Cohorts with weight 0 are not part of the split: leave them out."""
    if len(counts) != len(weights) or len(counts) < 2:
        raise InvalidInput("the SRM check needs one weight per cohort and at least 2 cohorts.")
    if any(isinstance(c, bool) or int(c) != c or c < 0 for c in counts):
        raise InvalidInput(f"units per cohort must be whole numbers ≥ 0, got {list(counts)}.")
    if any(not (math.isfinite(w) and w > 0) for w in weights):
        raise InvalidInput(
            f"every cohort's weight must be > 0, got {list(weights)}; leave cohorts with weight"
            " 0 out of the check."
        )
    if not 0 < threshold < 1:
        raise InvalidInput(f"the SRM threshold must be between 0 and 1, got {threshold}.")
    observed = tuple(int(c) for c in counts)
    total, weight = sum(observed), float(sum(weights))
    expected = tuple(total * w / weight for w in weights)
    dof = len(observed) - 1
    if total == 0:
        chi, p = 0.0, 1.0
    else:
        chi = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
        p = float(stats.chi2.sf(chi, dof))
    if min(observed) < min_units:
        status: SrmStatus = "not enough traffic"
        message = (
            f"Not enough traffic to check the split yet: every cohort needs {min_units} units"
            f" (the smallest has {min(observed)})."
        )
    elif p < threshold:
        status = "mismatch"
        shares = ", ".join(f"{o / total:.1%}" for o in observed)
        promised = ", ".join(f"{w / weight:.1%}" for w in weights)
        message = (
            f"Sample ratio mismatch: the cohorts hold {shares} of units where the weights promise"
            f" {promised} (p = {p:.2g} < {threshold:g}). Something other than the treatment"
            " differs between cohorts (redirects, bots, caching, assignment bugs); fix it before"
            " trusting any result."
        )
    else:
        status = "ok"
        message = f"The split matches the weights (p = {p:.2g})."
    return SrmCheck(
        counts=observed,
        expected=expected,
        chi_square=chi,
        dof=dof,
        p_value=p,
        threshold=threshold,
        flagged=status == "mismatch",
        status=status,
        message=message,
    )
