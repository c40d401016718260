"""The verdict a marketer reads: winner, loser, inconclusive or insufficient data, and why.

Rules (Salesforce Personalization's, with GrowthBook's health check):
- insufficient data until every cohort, the control included, has the minimum sample (1,000
  units by default): early numbers swing too much to act on;
- winner when the Bayesian chance to beat the control is ≥ 95 % or the always-valid sequential
  interval lies above 0; loser when the chance is ≤ 5 % or the interval lies below 0; if the
  two engines disagree, inconclusive;
- a sample-ratio mismatch makes the data untrustworthy: never a winner (nor a loser), whatever
  the numbers say;
- otherwise inconclusive.
The experiment's headline is the verdict on its primary metric; secondary metrics get one too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from p13n.domain.analytics.frequentist import Effect
from p13n.domain.analytics.srm import SrmCheck
from p13n.domain.errors import InvalidInput

__all__ = ["MIN_UNITS", "WIN_CHANCE", "Outcome", "Verdict", "metric_verdict"]

MIN_UNITS = 1000
WIN_CHANCE = 0.95
Outcome = Literal["winner", "loser", "inconclusive", "insufficient data"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """metric / cohort: what was judged (the cohort against the control); outcome: the
    verdict; reason: one sentence saying why, in plain words."""

    metric: str
    cohort: str
    outcome: Outcome
    reason: str


def _pct(x: float) -> str:
    return f"{x:.1%}" if 0.001 < x < 0.999 else f"{x:.2%}"


def metric_verdict(
    *,
    metric: str,
    cohort: str,
    control: str,
    units: Mapping[str, int],
    chance_to_beat: float | None = None,
    sequential: Effect | None = None,
    srm: SrmCheck | None = None,
    min_units: int = MIN_UNITS,
    win_chance: float = WIN_CHANCE,
) -> Verdict:
    """Judge `cohort` against `control` on `metric`.

    units: units per cohort, every cohort of the experiment (all must reach `min_units`).
    chance_to_beat: the Bayesian P(cohort beats control) (for means, from
    `compare_means(..., scale="absolute")`, see there); sequential: the always-valid effect.
    Give either or both; with neither the verdict can only be inconclusive.
    """
    if min_units < 1:
        raise InvalidInput(f"the minimum sample must be ≥ 1 unit, got {min_units}.")
    if not 0.5 < win_chance < 1:
        raise InvalidInput(f"the winning chance must be between 0.5 and 1, got {win_chance}.")
    if cohort not in units or control not in units:
        raise InvalidInput(f"units must include the cohort {cohort!r} and the control {control!r}.")

    def verdict(outcome: Outcome, reason: str) -> Verdict:
        return Verdict(metric=metric, cohort=cohort, outcome=outcome, reason=reason)

    short = {name: n for name, n in units.items() if n < min_units}
    if short:
        name, n = min(short.items(), key=lambda kv: kv[1])
        return verdict(
            "insufficient data",
            f"Not enough data yet: {name} has {n:,} units and every cohort needs {min_units:,}"
            " before a result is called.",
        )

    votes: list[tuple[int, str]] = []
    if chance_to_beat is not None:
        if chance_to_beat >= win_chance:
            votes.append((1, f"a {_pct(chance_to_beat)} chance to beat {control}"))
        elif chance_to_beat <= 1 - win_chance:
            votes.append((-1, f"only a {_pct(chance_to_beat)} chance to beat {control}"))
        else:
            votes.append((0, f"a {_pct(chance_to_beat)} chance to beat {control}"))
    if sequential is not None and sequential.defined:
        span = _span(sequential)
        side = sequential.direction
        where = {1: "above 0", -1: "below 0", 0: "includes 0"}[side]
        votes.append(
            (side, f"an always-valid interval {span} that {'lies ' if side else ''}{where}")
        )
    sides = {side for side, _ in votes}
    evidence = " and ".join(text for _, text in votes)

    if srm is not None and srm.flagged:
        return verdict(
            "inconclusive",
            f"No verdict: the cohorts' sizes do not match their weights (sample ratio mismatch,"
            f" p = {srm.p_value:.2g}), so {metric} cannot be trusted until the split is fixed.",
        )
    if not votes:
        return verdict(
            "inconclusive", f"No result for {metric} yet: neither engine could estimate an effect."
        )
    if 1 in sides and -1 in sides:
        return verdict(
            "inconclusive", f"The engines disagree on {metric}: {evidence}; keep the test running."
        )
    if 1 in sides:
        return verdict("winner", f"{cohort} beats {control} on {metric}: {evidence}.")
    if -1 in sides:
        return verdict("loser", f"{cohort} does worse than {control} on {metric}: {evidence}.")
    return verdict(
        "inconclusive",
        f"No clear difference on {metric} yet: {evidence} (a winner needs a"
        f" {_pct(win_chance)} chance or an interval that excludes 0).",
    )


def _span(effect: Effect) -> str:
    assert effect.ci_low is not None and effect.ci_high is not None
    if effect.scale == "relative":
        return f"[{effect.ci_low:+.1%}, {effect.ci_high:+.1%}]"
    return f"[{effect.ci_low:+.4g}, {effect.ci_high:+.4g}]"
