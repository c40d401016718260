"""The serving benchmark end to end at a tiny size: it runs and its last line is the figures."""

from __future__ import annotations

import numpy as np
import pytest

from bench.serving import filtered, main, synthetic_items
from p13n.domain.recommend import DEFAULT_RECOMMENDERS


def test_the_serving_benchmark_reports_every_recommender(
    capsys: pytest.CaptureFixture[str],
) -> None:
    got = main(
        [
            "--items",
            "1500",
            "--individuals",
            "150",
            "--events",
            "3000",
            "--requests",
            "10",
            "--mercari-items",
            "0",
            "--queries",
            "0",
        ]
    )
    assert set(got["catalog"]["per_recommender"]) == {c.name for c in DEFAULT_RECOMMENDERS}
    assert got["catalog"]["per_recommender"]["top-sellers"]["mean_items"] == 24
    assert got["request_p99_ms"] == got["catalog"]["worst_p99_ms"] > 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith('{"request_p99_ms"')


def test_the_filtered_configs_use_every_filter_type() -> None:
    config = filtered(DEFAULT_RECOMMENDERS[0])
    assert config.limit == 24 and config.diversity is not None and config.boosters
    assert config.exclude is not None and config.include is not None
    kinds = {c.type.value for g in (config.include, config.exclude) for c in g.conditions}
    assert kinds == {"Static", "Profile Data Graph"}
    items = synthetic_items(120, 1_780_000_000.0, np.random.default_rng(1))
    assert len({i.category for i in items}) == 3  # leaf categories of 50
