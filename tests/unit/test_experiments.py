"""Experiments: cohort rules, the lifecycle's allowed moves, and sticky deterministic assignment."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from p13n.domain.decisions import (
    Decision,
    Experiment,
    PersonalizationPoint,
    assign,
    bucket,
    transition,
)
from p13n.domain.errors import Conflict, InvalidInput
from p13n.domain.services import DecisionConfigs


def experiment(**kw: Any) -> Experiment:
    base: dict[str, Any] = {
        "name": "recs_test",
        "point": "home_recs",
        "primaryMetric": "Click-Through Rate",
        "secondaryMetrics": ["Revenue Per Visitor"],
        "cohorts": [
            {"id": "control", "weight": 50, "deferToDecisions": True},
            {"id": "treatment", "weight": 50, "recommender": "most-viewed"},
        ],
    }
    base.update(kw)
    return Experiment.model_validate(base)


def test_cohort_weights_must_sum_to_100() -> None:
    with pytest.raises(ValidationError, match="sum to 90"):
        experiment(
            cohorts=[
                {"id": "a", "weight": 40, "deferToDecisions": True},
                {"id": "b", "weight": 50, "recommender": "x"},
            ]
        )


def test_only_the_first_cohort_may_defer_and_each_cohort_serves_exactly_one_thing() -> None:
    with pytest.raises(ValidationError, match="only the first cohort"):
        experiment(
            cohorts=[
                {"id": "a", "weight": 50, "recommender": "x"},
                {"id": "b", "weight": 50, "deferToDecisions": True},
            ]
        )
    with pytest.raises(ValidationError, match="exactly one of"):
        experiment(
            cohorts=[
                {"id": "a", "weight": 50, "recommender": "x", "decision": "d"},
                {"id": "b", "weight": 50, "recommender": "y"},
            ]
        )


def test_the_lifecycle_allows_only_created_started_stopped_archived() -> None:
    e = experiment()
    started = transition(e, "Started", 10.0)
    assert started.status == "Started" and started.started_at == 10.0
    with pytest.raises(Conflict, match="cannot become Created"):
        transition(started, "Created", 11.0)
    with pytest.raises(Conflict, match="cannot become Archived"):
        transition(started, "Archived", 11.0)
    stopped = transition(started, "Stopped", 12.0)
    archived = transition(stopped, "Archived", 13.0)
    with pytest.raises(Conflict, match="archived is final"):
        transition(archived, "Started", 14.0)
    assert transition(e, "Archived", 1.0).status == "Archived"


def test_assignment_is_sticky_deterministic_and_follows_the_weights() -> None:
    e = experiment(
        cohorts=[
            {"id": "control", "weight": 20, "deferToDecisions": True},
            {"id": "b", "weight": 80, "recommender": "x"},
        ]
    )
    assert all(assign(e, f"p{k}") == assign(e, f"p{k}") for k in range(100))
    assert 0 <= bucket(e.id, "p1") < 10_000
    counts = Counter(assign(e, f"person-{k}").id for k in range(20_000))
    assert 0.18 < counts["control"] / 20_000 < 0.22


def test_two_experiments_split_the_same_people_independently() -> None:
    a = experiment(name="a")
    b = experiment(name="b")
    same = sum(assign(a, f"p{k}").id == assign(b, f"p{k}").id for k in range(4000))
    assert 0.45 < same / 4000 < 0.55


def _configs() -> DecisionConfigs:
    reg = DecisionConfigs(
        store=None,
        recommenders=lambda: {"most-viewed", "top-sellers"},
        segments=lambda: set(),
        clock=lambda: 5.0,
    )
    reg.put_point(
        PersonalizationPoint.model_validate(
            {"name": "home_recs", "contentSchema": {"type": "Recommendations"}}
        )
    )
    reg.put_point(
        PersonalizationPoint.model_validate(
            {"name": "banner", "contentSchema": {"type": "ManualContent"}}
        )
    )
    reg.put_decision(
        Decision.model_validate(
            {"name": "top", "point": "home_recs", "recommender": "top-sellers", "state": "Live"}
        )
    )
    return reg


def test_one_started_experiment_per_point_and_a_run_experiment_keeps_its_design() -> None:
    reg = _configs()
    reg.put_experiment(experiment())
    reg.move_experiment("recs_test", "Started")
    reg.put_experiment(experiment(name="second"))
    with pytest.raises(Conflict, match="already runs experiment 'recs_test'"):
        reg.move_experiment("second", "Started")
    with pytest.raises(Conflict, match="cannot change"):
        reg.put_experiment(
            experiment(
                status="Started",
                cohorts=[
                    {"id": "control", "weight": 30, "deferToDecisions": True},
                    {"id": "treatment", "weight": 70, "recommender": "most-viewed"},
                ],
            )
        )
    with pytest.raises(Conflict, match="is running"):
        reg.delete_experiment("recs_test")
    reg.put_experiment(
        experiment(
            name="third",
            cohorts=[
                {"id": "control", "weight": 50, "decision": "top"},
                {"id": "b", "weight": 50, "recommender": "most-viewed"},
            ],
        )
    )
    with pytest.raises(Conflict, match="cohort of experiment third"):
        reg.delete_decision("top")


def test_cohorts_must_name_decisions_of_the_point_and_existing_recommenders() -> None:
    reg = _configs()
    with pytest.raises(InvalidInput, match="not a decision of point"):
        reg.put_experiment(
            experiment(
                cohorts=[
                    {"id": "control", "weight": 50, "decision": "ghost"},
                    {"id": "b", "weight": 50, "recommender": "most-viewed"},
                ]
            )
        )
    with pytest.raises(InvalidInput, match="recommender 'nope'"):
        reg.put_experiment(
            experiment(
                cohorts=[
                    {"id": "control", "weight": 50, "deferToDecisions": True},
                    {"id": "b", "weight": 50, "recommender": "nope"},
                ]
            )
        )
    with pytest.raises(InvalidInput, match="shows manual content"):
        reg.put_experiment(experiment(point="banner"))
