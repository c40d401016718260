"""Reference vectors from GrowthBook's `gbstats` for p13n's experiment statistics (issue 12).

gbstats 0.8.0 pins numpy < 2 and pandas < 2, which cannot sit beside p13n, so this script
builds a throwaway virtual environment in a temporary folder, installs gbstats there, runs
every case below through gbstats' own classes and writes the inputs and gbstats' outputs to
`tests/data/gbstats_vectors.json`. The unit tests compare p13n against that file; nothing in
p13n imports gbstats. Needs only the standard library and network access to PyPI:

    python scripts/gbstats_vectors.py [--out tests/data/gbstats_vectors.json]

The cases are inputs only (sufficient statistics per cohort); the outputs come from gbstats.
Ratio and CUPED inputs are summed from seeded pseudo-random units so that they are consistent
(a cross sum that Cauchy-Schwarz allows).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

GBSTATS = "0.8.0"
ROOT = Path(__file__).resolve().parents[1]

# The runner executes inside the throwaway environment: it reads the cases on stdin and prints
# gbstats' results as JSON. It only calls gbstats' public classes, as gbstats' own tests do.
RUNNER = r"""
import json, sys
from dataclasses import asdict
import importlib.metadata
from gbstats.models.statistics import (
    ProportionStatistic, SampleMeanStatistic, RatioStatistic, RegressionAdjustedStatistic,
)
from gbstats.frequentist.tests import (
    FrequentistConfig, SequentialConfig, SequentialTwoSidedTTest, TwoSidedTTest,
)
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.utils import check_srm


def stat(s):
    kind = s["type"]
    if kind == "proportion":
        return ProportionStatistic(n=s["n"], sum=s["sum"])
    if kind == "mean":
        return SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["sum_squares"])
    if kind == "ratio":
        return RatioStatistic(
            n=s["n"], m_statistic=stat(s["numerator"]), d_statistic=stat(s["denominator"]),
            m_d_sum_of_products=s["cross_sum"],
        )
    if kind == "cuped":
        return RegressionAdjustedStatistic(
            n=s["n"], post_statistic=stat(s["post"]), pre_statistic=stat(s["pre"]),
            post_pre_sum_of_products=s["cross_sum"], theta=0,
        )
    raise ValueError(kind)


def run(case):
    engine = case["engine"]
    if engine == "srm":
        return {"p_value": float(check_srm(case["counts"], case["weights"]))}
    a, b = stat(case["control"]), stat(case["treatment"])
    difference = case["difference"]
    alpha = case.get("alpha", 0.05)
    if engine == "frequentist":
        test = TwoSidedTTest(a, b, FrequentistConfig(difference_type=difference, alpha=alpha))
    elif engine == "sequential":
        test = SequentialTwoSidedTTest(a, b, SequentialConfig(
            difference_type=difference, alpha=alpha,
            sequential_tuning_parameter=case["tuning"],
        ))
    elif engine == "bayesian":
        prior = case.get("prior")
        effect = GaussianPrior() if prior is None else GaussianPrior(
            mean=prior["mean"], variance=prior["variance"], proper=True,
        )
        test = EffectBayesianABTest(a, b, EffectBayesianConfig(
            difference_type=difference, alpha=alpha, prior_effect=effect,
            prior_type="relative",
        ))
    else:
        raise ValueError(engine)
    result = asdict(test.compute_result())
    out = {
        "expected": float(result["expected"]),
        "ci": [float(x) for x in result["ci"]],
        "std_error": float(result["uplift"]["stddev"]),
        "error_message": result.get("error_message"),
    }
    if engine == "bayesian":
        out["chance_to_win"] = float(result["chance_to_win"])
        out["risk"] = [float(x) for x in result["risk"]]
    else:
        out["p_value"] = float(result["p_value"])
    if engine == "frequentist":
        out["dof"] = float(test.dof)
    if hasattr(test.stat_a, "theta"):
        out["theta"] = float(test.stat_a.theta)
    return out


cases = json.load(sys.stdin)
json.dump({
    "gbstats_version": importlib.metadata.version("gbstats"),
    "results": [run(c) for c in cases],
}, sys.stdout)
"""


def mean_stat(values: list[float]) -> dict[str, Any]:
    return {
        "type": "mean",
        "n": len(values),
        "sum": sum(values),
        "sum_squares": sum(v * v for v in values),
    }


def ratio_stat(rng: random.Random, n: int, rate: float) -> dict[str, Any]:
    """Per unit: views (1 + Poisson-ish) and clicks out of them: a clicks-per-view metric."""
    views = [1 + int(rng.expovariate(1 / 3)) for _ in range(n)]
    clicks = [sum(rng.random() < rate for _ in range(v)) for v in views]
    return {
        "type": "ratio",
        "n": n,
        "numerator": mean_stat([float(c) for c in clicks]),
        "denominator": mean_stat([float(v) for v in views]),
        "cross_sum": float(sum(c * v for c, v in zip(clicks, views, strict=True))),
    }


def cuped_stat(rng: random.Random, n: int, lift: float, rho: float) -> dict[str, Any]:
    """Per unit: pre-exposure spend and post-exposure spend correlated by `rho`."""
    pre, post = [], []
    for _ in range(n):
        z1, z2 = rng.gauss(0, 1), rng.gauss(0, 1)
        pre.append(10 + 3 * z1)
        post.append(10 * (1 + lift) + 3 * (rho * z1 + (1 - rho * rho) ** 0.5 * z2))
    return {
        "type": "cuped",
        "n": n,
        "post": mean_stat(post),
        "pre": mean_stat(pre),
        "cross_sum": sum(a * b for a, b in zip(post, pre, strict=True)),
    }


def proportion(successes: int, n: int) -> dict[str, Any]:
    return {"type": "proportion", "n": n, "sum": successes}


def mean(total: float, squares: float, n: int) -> dict[str, Any]:
    return {"type": "mean", "n": n, "sum": total, "sum_squares": squares}


def cases() -> list[dict[str, Any]]:
    """The inputs; names say what each checks. gbstats' own test vectors come first."""
    rng = random.Random(20240612)
    gb_a = mean(1396.87, 52377.9767, 3407)
    gb_b = mean(2422.7, 134698.29, 3461)
    gb_a3000 = mean(1396.87, 52377.9767, 3000)
    small_a, small_b = mean(100, 1002.25, 10), mean(105, 1111.5, 10)
    revenue_a, revenue_b = mean(48210.5, 9_812_345.0, 5012), mean(50990.25, 10_455_100.0, 4988)
    ratio_a, ratio_b = ratio_stat(rng, 1500, 0.10), ratio_stat(rng, 1480, 0.11)
    cuped_a, cuped_b = cuped_stat(rng, 1200, 0.0, 0.7), cuped_stat(rng, 1250, 0.03, 0.7)
    out: list[dict[str, Any]] = []

    def add(name: str, engine: str, control: Any, treatment: Any, **extra: Any) -> None:
        out.append(
            {"name": name, "engine": engine, "control": control, "treatment": treatment, **extra}
        )

    for diff in ("relative", "absolute"):
        add(f"welch {diff}: gbstats TestTwoSidedTTest", "frequentist", gb_a, gb_b, difference=diff)
        add(f"welch {diff}: small samples", "frequentist", small_a, small_b, difference=diff)
        add(
            f"welch {diff}: revenue per visitor",
            "frequentist",
            revenue_a,
            revenue_b,
            difference=diff,
        )
        add(
            f"welch {diff}: ratio metric (delta method)",
            "frequentist",
            ratio_a,
            ratio_b,
            difference=diff,
        )
        add(f"welch {diff}: CUPED", "frequentist", cuped_a, cuped_b, difference=diff)
        add(
            f"binomial {diff}: gbstats test_two_sided_ttest_binom",
            "frequentist",
            proportion(14, 28),
            proportion(16, 30),
            difference=diff,
        )
        add(
            f"binomial {diff}: large counts",
            "frequentist",
            proportion(1396, 3000),
            proportion(2422, 3461),
            difference=diff,
        )
    add("welch relative: alpha 0.1", "frequentist", gb_a, gb_b, difference="relative", alpha=0.1)
    for tuning in (10, 1000, 5000, 6461, 10000):
        add(
            f"sequential relative N*={tuning}",
            "sequential",
            gb_a3000,
            gb_b,
            difference="relative",
            tuning=tuning,
        )
    add(
        "sequential absolute N*=5000",
        "sequential",
        gb_a3000,
        gb_b,
        difference="absolute",
        tuning=5000,
    )
    add(
        "sequential relative proportions N*=5000",
        "sequential",
        proportion(1396, 3000),
        proportion(2422, 3461),
        difference="relative",
        tuning=5000,
    )
    add(
        "sequential absolute proportions, no effect",
        "sequential",
        proportion(1500, 10000),
        proportion(1530, 10000),
        difference="absolute",
        tuning=5000,
    )
    add(
        "sequential relative CUPED",
        "sequential",
        cuped_a,
        cuped_b,
        difference="relative",
        tuning=5000,
    )
    for diff in ("relative", "absolute"):
        add(f"bayesian {diff}: gbstats TestNorm", "bayesian", small_a, small_b, difference=diff)
        add(
            f"bayesian {diff}: gbstats TestNorm with prior N(0.1, 0.1)",
            "bayesian",
            small_a,
            small_b,
            difference=diff,
            prior={"mean": 0.1, "variance": 0.1},
        )
        add(
            f"bayesian {diff}: binomial as gbstats does it (normal)",
            "bayesian",
            proportion(49, 100),
            proportion(51, 100),
            difference=diff,
        )
    add(
        "bayesian relative: binomial at large n",
        "bayesian",
        proportion(4000, 100000),
        proportion(4150, 100000),
        difference="relative",
    )
    add(
        "bayesian relative: binomial at large n, prior N(0, 0.3^2)",
        "bayesian",
        proportion(4000, 100000),
        proportion(4150, 100000),
        difference="relative",
        prior={"mean": 0.0, "variance": 0.09},
    )
    add(
        "bayesian relative: revenue per visitor",
        "bayesian",
        revenue_a,
        revenue_b,
        difference="relative",
    )
    add("bayesian relative: CUPED", "bayesian", cuped_a, cuped_b, difference="relative")
    for counts, weights in (
        ([5000, 5000], [0.5, 0.5]),
        ([5100, 4900], [0.5, 0.5]),
        ([5200, 4800], [0.5, 0.5]),
        ([3300, 3350, 3350], [1, 1, 1]),
        ([2000, 8150], [0.2, 0.8]),
        ([120, 95, 110, 75], [25, 25, 25, 25]),
    ):
        out.append(
            {
                "name": f"srm {counts} vs {weights}",
                "engine": "srm",
                "counts": counts,
                "weights": weights,
            }
        )
    return out


def run_gbstats(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gbstats-") as folder:
        env = Path(folder) / "venv"
        venv.EnvBuilder(with_pip=True).create(env)
        python = env / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"gbstats=={GBSTATS}"], check=True
        )
        runner = Path(folder) / "runner.py"
        runner.write_text(RUNNER)
        done = subprocess.run(
            [str(python), str(runner)],
            input=json.dumps(inputs),
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "data" / "gbstats_vectors.json"
    )
    args = parser.parse_args()
    inputs = cases()
    ran = run_gbstats(inputs)
    vectors = {
        "about": "Inputs and gbstats outputs for p13n's experiment statistics; made by "
        "scripts/gbstats_vectors.py, do not edit by hand.",
        "gbstats_version": ran["gbstats_version"],
        "python": sys.version.split()[0],
        "cases": [{**c, "gbstats": r} for c, r in zip(inputs, ran["results"], strict=True)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"{len(inputs)} cases from gbstats {ran['gbstats_version']} written to {args.out}")


if __name__ == "__main__":
    main()
