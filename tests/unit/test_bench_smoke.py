"""The ingest benchmark's pure parts: synthetic data is deterministic and valid, figures add up."""

from __future__ import annotations

import numpy as np
import pytest

from bench._util import percentile_ms
from bench.ingest import (
    NEW_EVENT_MIX,
    TARGETS,
    _met,
    category_leaves,
    make_items,
    new_events,
    parse_args,
)
from p13n.domain.ingest.validate import parse_event

END = 1_790_000_000.0


def test_the_category_tree_has_200_distinct_three_level_leaves() -> None:
    leaves = category_leaves()
    assert len(set(leaves)) == 200
    assert all(leaf.count("/") == 2 for leaf in leaves)


def test_items_are_the_same_for_a_seed_and_differ_between_seeds() -> None:
    a, b, c = make_items(300, 42), make_items(300, 42), make_items(300, 7)
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]
    assert [i.price for i in a] != [i.price for i in c]
    assert [i.id for i in a[:3]] == ["b-1", "b-2", "b-3"]
    assert all(i.price is not None and i.price > 0 and i.brand and i.category for i in a)


def _new(seed: int, count: int = 400) -> list[dict[str, object]]:
    items = make_items(50, 1)
    people = [f"ind-{k}" for k in range(1, 21)]
    return new_events(
        "t", count, people=people, items=items, start=END, rng=np.random.default_rng(seed)
    )


def test_new_events_are_deterministic_unique_and_within_half_an_hour() -> None:
    events = _new(3)
    assert events == _new(3)
    assert len({e["eventId"] for e in events}) == len(events)
    times = [parse_event(e, now=END).ts for e in events]
    assert min(times) == END and max(times) < END + 1800


def test_new_events_pass_validation_and_mix_every_interaction() -> None:
    events = _new(5, 2000)
    names = {parse_event(e, now=END).interaction for e in events}
    assert len(names) == len(NEW_EVENT_MIX)
    purchases = [e for e in events if e["interaction"] == "Purchase"]
    assert purchases and all(e["orderId"] and e["price"] for e in purchases)


def test_percentiles_are_reported_in_milliseconds() -> None:
    samples = [1_000_000] * 98 + [9_000_000, 10_000_000]
    assert percentile_ms(samples, 50) == 1.0
    assert 1.0 < percentile_ms(samples, 99) <= 10.0


def test_met_compares_throughput_upwards_and_latency_and_memory_downwards() -> None:
    figures = {
        "import_events_per_s": 25_000,
        "import_vs_bare_insert": 0.1,
        "http_events_per_s": 4_000,
        "event_p99_ms": 2.0,
        "profile_read_p99_ms": 0.7,
        "rss_mb": 100.0,
    }
    assert _met(figures) == {
        "import_events_per_s": True,
        "import_vs_bare_insert": False,
        "http_events_per_s": False,
        "event_p99_ms": True,
        "profile_read_p99_ms": False,
        "rss_mb": True,
    }
    assert set(_met(figures)) == set(TARGETS)


def test_sizes_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--events", "0"])
    params = parse_args(["--events", "10", "--end", "2026-01-02"])
    assert params.events == 10 and params.end % 86_400 == 0
