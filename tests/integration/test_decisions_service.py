"""The decision pipeline over a real store (SQLite and PostgreSQL): qualify, personalize, every
diagnostic that a configuration can produce, experiments, and the personalization log.
One file (past 400 lines) so that every case runs on the one tenant the fixtures build per
database, and the diagnostics read as one table of cases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from p13n.domain.decisions import (
    AssignmentRequest,
    Decision,
    DecisionRequest,
    DecisionResponse,
    Experiment,
    PersonalizationPoint,
)
from p13n.domain.errors import DecisionRejected, InvalidInput, PayloadTooLarge
from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest.items import Item
from p13n.domain.services import DecisionService, Engine, PersonalizationLog, RecommendService
from p13n.domain.store.log_table import PersonalizationLogStore

NOW = 1_780_000_000.0


@dataclass
class World:
    engine: Engine
    recommend: RecommendService
    service: DecisionService

    def put(self, obj: Any) -> None:
        if isinstance(obj, PersonalizationPoint):
            self.service.change(lambda r: r.put_point(obj))
        elif isinstance(obj, Decision):
            self.service.change(lambda r: r.put_decision(obj))
        else:
            self.service.change(lambda r: r.put_experiment(obj))

    def decide(self, body: dict[str, Any], *, authenticated: bool = True) -> DecisionResponse:
        return self.service.decide(
            DecisionRequest.model_validate(body), authenticated=authenticated
        )


def _items() -> list[Item]:
    shoes = [
        Item(
            id=f"shoe-{k}",
            name=f"Shoe {k}",
            category="Women/Shoes",
            brand="Acme",
            price=20.0 + k,
            image_url=f"https://img/{k}.jpg",
        )
        for k in range(20)
    ]
    mugs = [
        Item(id=f"mug-{k}", name=f"Mug {k}", category="Home/Mugs", brand="Homey", price=5.0 + k)
        for k in range(10)
    ]
    return shoes + mugs


def _events() -> list[dict[str, Any]]:
    events = []
    for k in range(6):  # a big spender: two purchases of 150
        events.append(
            {
                "eventId": f"ava-buy-{k}",
                "individualId": "ava",
                "interaction": "purchase",
                "itemId": f"shoe-{k}",
                "price": 150.0,
                "quantity": 1,
                "orderId": f"o{k}",
                "dateTime": NOW - 3600 * (k + 1),
            }
        )
    for k in range(3):
        events.append(
            {
                "eventId": f"ben-view-{k}",
                "individualId": "ben",
                "interaction": "view",
                "itemId": f"mug-{k}",
                "dateTime": NOW - 60 * (k + 1),
            }
        )
    return events


def _point(name: str, schema: dict[str, Any], **kw: Any) -> PersonalizationPoint:
    return PersonalizationPoint.model_validate({"name": name, "contentSchema": schema, **kw})


def _decision(name: str, point: str, **kw: Any) -> Decision:
    return Decision.model_validate({"name": name, "point": point, "state": "Live", **kw})


BIG_SPENDERS = {
    "type": "All",
    "rules": [{"source": "segment", "field": "big_spenders", "operator": "Has Value"}],
}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = Engine.open(database_url, clock=lambda: NOW)
    engine.upsert_items(_items())
    report = engine.ingest(_events(), now=NOW)
    assert report.accepted == len(_events())
    recommend = RecommendService(engine)
    service = DecisionService(engine, recommend, log=PersonalizationLog(engine.store))
    w = World(engine, recommend, service)
    w.put(_point("home_banner", {"type": "ManualContent"}))
    w.put(
        _decision(
            "vip_banner",
            "home_banner",
            targeting=BIG_SPENDERS,
            attributes={"header": "Welcome back, {{{firstName|friend}}}", "body": "Your VIP offer"},
        )
    )
    w.put(
        _decision(
            "default_banner",
            "home_banner",
            attributes={
                "header": "Hello {{{firstName|there}}}",
                "body": "New this week in {{{context.city|your town}}}",
            },
        )
    )
    w.put(
        _point(
            "shoes",
            {
                "type": "Recommendations",
                "itemFields": ["id", "name", "price", "imageUrl"],
                "attributes": ["title"],
            },
            maxItems=5,
        )
    )
    w.put(_decision("top_shoes", "shoes", recommender="newest", attributes={"title": "Just in"}))
    try:
        yield w
    finally:
        service.close()
        engine.close()


def _one(response: DecisionResponse) -> Any:
    assert len(response.personalizations) == 1
    return response.personalizations[0]


def _codes(items: Any) -> list[int]:
    return [d.code for d in items]


def test_targeting_picks_the_first_qualifying_live_decision_and_merge_fields_resolve(
    world: World,
) -> None:
    vip = _one(
        world.decide(
            {"context": {"individualId": "ava"}, "personalizationPoints": [{"name": "home_banner"}]}
        )
    )
    assert vip.attributes == {"header": "Welcome back, friend", "body": "Your VIP offer"}
    assert vip.data == [] and _codes(vip.diagnostics) == [200]
    other = _one(
        world.decide(
            {
                "context": {"individualId": "ben", "city": "Lyon"},
                "personalizationPoints": [{"name": "home_banner"}],
            }
        )
    )
    assert other.attributes == {"header": "Hello there", "body": "New this week in Lyon"}


def test_recommendations_come_back_in_the_schema_fields_with_content_ids(world: World) -> None:
    response = world.decide(
        {"context": {"individualId": "ben"}, "personalizationPoints": [{"name": "shoes"}]}
    )
    p = _one(response)
    assert (
        p.personalizationPointName == "shoes"
        and p.personalizationPointId == world.service.configs.points["shoes"].id
    )
    assert len(p.data) == 5 and p.attributes == {"title": "Just in"}
    assert [d["personalizationContentId"] for d in p.data] == [
        f"{p.personalizationId}:{k}" for k in range(5)
    ]
    assert list(p.data[0]) == ["personalizationContentId", "id", "name", "price", "imageUrl"]
    first = world.engine.state.items[p.data[0]["id"]]
    assert p.data[0]["name"] == first.name and p.data[0]["imageUrl"] == first.image_url


def test_context_variables_reach_recommender_filters(world: World) -> None:
    cheap = {
        "name": "cheap-picks",
        "recipe": {"algorithm": "sort-by", "field": "price", "descending": False},
        "include": {
            "match": "All",
            "conditions": [
                {
                    "field": "price",
                    "operator": "Is Greater Than Or Equal To",
                    "value": "{!minPrice}",
                }
            ],
        },
        "fallback": None,
    }
    from p13n.domain.recommend import RecommenderConfig

    world.recommend.put_config(RecommenderConfig.model_validate(cheap))
    world.put(
        _decision("top_shoes", "shoes", recommender="cheap-picks", attributes={"title": "Just in"})
    )
    p = _one(
        world.decide({"context": {"minPrice": 30}, "personalizationPoints": [{"name": "shoes"}]})
    )
    assert [d["price"] for d in p.data] == [30.0, 31.0, 32.0, 33.0, 34.0]


def test_a_point_with_no_qualifying_decision_answers_201_and_draft_decisions_never_run(
    world: World,
) -> None:
    world.put(_point("popup", {"type": "ManualContent"}))
    world.put(_decision("draft_only", "popup", state="Draft", attributes={"header": "x"}))
    p = _one(world.decide({"personalizationPoints": [{"name": "popup"}]}))
    assert p.attributes == {} and p.data == [] and _codes(p.diagnostics) == [201]


def test_unknown_and_unidentified_points_get_401_and_402_and_the_rest_still_answers(
    world: World,
) -> None:
    response = world.decide(
        {
            "personalizationPoints": [
                {"name": "nowhere"},
                {},
                {"id": world.service.configs.points["home_banner"].id},
            ]
        }
    )
    nowhere, unnamed, banner = response.personalizations
    assert _codes(nowhere.diagnostics) == [401] and nowhere.personalizationPointName == "nowhere"
    assert _codes(unnamed.diagnostics) == [402]
    assert (
        banner.personalizationPointName == "home_banner"
        and banner.attributes["header"] == "Hello there"
    )


def test_requests_without_points_or_with_forced_decisions_unauthenticated_are_refused(
    world: World,
) -> None:
    with pytest.raises(DecisionRejected) as no_points:
        world.decide({"context": {"individualId": "ava"}, "personalizationPoints": []})
    assert no_points.value.code == 403
    with pytest.raises(DecisionRejected) as forced:
        world.decide(
            {"personalizationPoints": [{"name": "home_banner", "decisionId": "vip_banner"}]},
            authenticated=False,
        )
    assert forced.value.code == 408
    with pytest.raises(PayloadTooLarge):
        world.decide({"personalizationPoints": [{"name": "home_banner"}] * 26})


def test_a_forced_decision_is_served_whatever_its_targeting_and_an_unknown_one_is_407(
    world: World,
) -> None:
    forced_id = world.service.configs.decisions["vip_banner"].id
    p = _one(
        world.decide(
            {
                "context": {"individualId": "ben"},
                "personalizationPoints": [{"name": "home_banner", "decisionId": forced_id}],
            }
        )
    )
    assert p.attributes["body"] == "Your VIP offer"
    missing = _one(
        world.decide(
            {"personalizationPoints": [{"name": "home_banner", "decisionId": "top_shoes"}]}
        )
    )
    assert _codes(missing.diagnostics) == [407] and missing.attributes == {}


def test_points_that_require_authentication_answer_405_on_the_public_endpoint(world: World) -> None:
    world.put(_point("account_offer", {"type": "ManualContent"}, authenticationRequired=True))
    world.put(_decision("offer", "account_offer", attributes={"header": "10% off"}))
    body = {"personalizationPoints": [{"name": "account_offer"}]}
    public = _one(world.decide(body, authenticated=False))
    assert public.attributes == {} and public.diagnostics is None
    assert _one(world.decide(body)).attributes == {"header": "10% off"}
    log = world.service.log
    assert log is not None
    log.flush()
    assert log.rows.get(public.personalizationId)["status"] == 405  # type: ignore[index]


def test_the_public_endpoint_returns_no_diagnostics(world: World) -> None:
    response = world.decide(
        {"context": {"individualId": "ghost"}, "personalizationPoints": [{"name": "home_banner"}]},
        authenticated=False,
    )
    assert response.diagnostics is None and response.personalizations[0].diagnostics is None
    assert (
        "diagnostics" not in response.public()
        and "diagnostics" not in response.public()["personalizations"][0]
    )


def test_an_unknown_individual_is_512_and_served_as_an_anonymous_visitor(world: World) -> None:
    response = world.decide(
        {"context": {"individualId": "ghost"}, "personalizationPoints": [{"name": "home_banner"}]}
    )
    assert _codes(response.diagnostics) == [512]
    assert response.personalizations[0].attributes["header"] == "Hello there"


def test_context_only_skips_the_profile_and_a_request_profile_replaces_it(world: World) -> None:
    body: dict[str, Any] = {
        "context": {"individualId": "ava"},
        "personalizationPoints": [{"name": "home_banner"}],
    }
    assert _one(world.decide(body)).attributes["header"].startswith("Welcome back")
    context_only = world.decide({**body, "executionFlags": ["ContextOnly"]})
    assert _codes(context_only.diagnostics) == [200]
    assert context_only.personalizations[0].attributes["header"] == "Hello there"
    given = world.decide(
        {
            **body,
            "context": {"individualId": "ben"},
            "profile": {"attributes": {"firstName": "Zoe"}, "segments": ["big_spenders"]},
        }
    )
    assert given.personalizations[0].attributes["header"] == "Welcome back, Zoe"
    with pytest.raises(InvalidInput, match="wrong shape at 'attributes'"):
        world.decide({**body, "profile": {"attributes": ["not", "a", "mapping"]}})


def test_a_decision_reads_its_individuals_profile_once_for_all_its_points(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of the compact profile cache decodes the profile (issue 14): the augment
    stage's read serves the recommendation points too."""
    world.engine.checkpoint()  # the profiles leave the pending writes: reads go to the cache
    cache = world.engine.state.profiles
    uid = world.engine.resolve("ben")
    assert uid is not None and uid in cache
    reads: list[str] = []
    read = cache.get

    def counted(key: str) -> ProfileGraph | None:
        reads.append(key)
        return read(key)

    monkeypatch.setattr(cache, "get", counted)
    response = world.decide(
        {
            "context": {"individualId": "ben"},
            "personalizationPoints": [{"name": "home_banner"}, {"name": "shoes"}],
        }
    )
    assert [p.personalizationPointName for p in response.personalizations] == [
        "home_banner",
        "shoes",
    ]
    assert len(response.personalizations[1].data) == 5
    assert reads == [uid]


def test_a_decision_whose_recommender_was_deleted_answers_421(world: World) -> None:
    from p13n.domain.recommend import RecommenderConfig

    world.recommend.put_config(
        RecommenderConfig.model_validate(
            {"name": "temp", "recipe": {"algorithm": "newest"}, "fallback": None}
        )
    )
    world.put(_decision("top_shoes", "shoes", recommender="temp"))
    world.recommend.delete_config("temp")
    p = _one(world.decide({"personalizationPoints": [{"name": "shoes"}]}))
    assert _codes(p.diagnostics) == [421] and p.data == []


def test_a_started_experiment_assigns_sticky_cohorts_before_the_decisions(world: World) -> None:
    world.put(
        _decision(
            "bestsellers",
            "shoes",
            state="Draft",
            recommender="top-sellers",
            attributes={"title": "Best sellers"},
        )
    )
    world.put(
        Experiment.model_validate(
            {
                "name": "shoes_test",
                "point": "shoes",
                "primaryMetric": "Click-Through Rate",
                "status": "Started",
                "cohorts": [
                    {"id": "control", "weight": 50, "deferToDecisions": True},
                    {"id": "sellers", "weight": 50, "decision": "bestsellers"},
                ],
            }
        )
    )
    seen: dict[str, str] = {}
    for k in range(40):
        body = {
            "context": {"individualId": f"visitor-{k}"},
            "personalizationPoints": [{"name": "shoes"}],
            "executionFlags": ["EnableDiagnostics"],
        }
        first, again = _one(world.decide(body)), _one(world.decide(body))
        assert first.trace is not None and again.trace is not None
        assert first.trace["cohort"] == again.trace["cohort"]
        seen[f"visitor-{k}"] = first.trace["cohort"]
        expected = "Best sellers" if first.trace["cohort"] == "sellers" else "Just in"
        assert first.attributes["title"] == expected
    assert set(seen.values()) == {"control", "sellers"}
    unified = _one(
        world.decide(
            {
                "context": {"individualId": "visitor-1", "unifiedIndividualId": "u-same"},
                "personalizationPoints": [{"name": "shoes"}],
                "executionFlags": ["EnableDiagnostics"],
            }
        )
    )
    on_app = _one(
        world.decide(
            {
                "context": {"individualId": "app-device-9", "unifiedIndividualId": "u-same"},
                "personalizationPoints": [{"name": "shoes"}],
                "executionFlags": ["EnableDiagnostics"],
            }
        )
    )
    assert unified.trace is not None and on_app.trace is not None
    assert unified.trace["cohort"] == on_app.trace["cohort"]
    assignment = world.service.assign(
        AssignmentRequest.model_validate(
            {"context": {"individualId": "visitor-3"}, "experiments": ["shoes_test"]}
        )
    )
    assert [a.variableId for a in assignment.variableAssignments] == [seen["visitor-3"]]
    with pytest.raises(InvalidInput, match="TestMode"):
        world.service.assign(
            AssignmentRequest.model_validate(
                {
                    "experiments": ["shoes_test"],
                    "experimentsOverride": [{"experiment": "shoes_test", "cohortId": "sellers"}],
                }
            )
        )
    forced = world.service.assign(
        AssignmentRequest.model_validate(
            {
                "experiments": ["shoes_test"],
                "experimentsOverride": [{"experiment": "shoes_test", "cohortId": "sellers"}],
                "executionFlags": ["TestMode"],
            }
        )
    )
    assert forced.variableAssignments[0].attributes == {"title": "Best sellers"}


def test_every_decision_outside_test_mode_is_logged_with_its_stages(world: World) -> None:
    body = {
        "context": {"individualId": "ava", "channel": "web"},
        "personalizationPoints": [{"name": "shoes"}, {"name": "home_banner"}],
    }
    response = world.decide(body)
    world.decide({**body, "executionFlags": ["TestMode"]})
    log = world.service.log
    assert log is not None
    log.flush()
    assert log.rows.count() == 2
    entries = log.rows.of_request(response.requestId)
    shoes = next(e for e in entries if e["point"] == "shoes")
    assert (
        shoes["decision"] == "top_shoes"
        and shoes["recommender"] == "newest"
        and shoes["status"] == 200
    )
    assert (
        shoes["individual_id"] == "ava"
        and shoes["unified_id"] == world.engine.resolve("ava")
        and shoes["channel"] == "web"
    )
    assert [c["rank"] for c in shoes["content"]] == [1, 2, 3, 4, 5]
    assert (
        shoes["content"][0]["contentId"]
        == response.personalizations[0].data[0]["personalizationContentId"]
    )
    assert shoes["total_ms"] >= shoes["personalizing_ms"] > 0


def test_engagement_with_shown_content_links_to_the_logged_decision(world: World) -> None:
    p = _one(
        world.decide(
            {"context": {"individualId": "ben"}, "personalizationPoints": [{"name": "shoes"}]}
        )
    )
    shown = p.data[1]
    events = [
        {
            "eventId": "v1",
            "individualId": "ben",
            "interaction": "personalization-view",
            "personalizationId": p.personalizationId,
            "dateTime": NOW,
        },
        {
            "eventId": "c1",
            "individualId": "ben",
            "interaction": "catalog-object-click",
            "itemId": shown["id"],
            "personalizationId": p.personalizationId,
            "personalizationContentId": shown["personalizationContentId"],
            "dateTime": NOW + 5,
        },
    ]
    assert world.engine.ingest(events, now=NOW + 10).accepted == 2
    assert world.service.log is not None
    world.service.log.flush()
    entry = world.service.logged(p.personalizationId)
    assert entry["decision"] == "top_shoes"
    assert [(e["interaction"], e["personalizationContentId"]) for e in entry["engagements"]] == [
        ("personalization-view", None),
        ("catalog-object-click", shown["personalizationContentId"]),
    ]


def test_closing_writes_out_everything_queued(database_url: str) -> None:
    engine = Engine.open(database_url, clock=lambda: NOW)
    engine.upsert_items(_items())
    service = DecisionService(
        engine, RecommendService(engine), log=PersonalizationLog(engine.store)
    )
    service.change(lambda r: r.put_point(_point("home_banner", {"type": "ManualContent"})))
    service.change(
        lambda r: r.put_decision(_decision("hello", "home_banner", attributes={"header": "Hi"}))
    )
    request = DecisionRequest.model_validate({"personalizationPoints": [{"name": "home_banner"}]})
    for _ in range(1500):
        service.decide(request, authenticated=False)
    service.close()
    engine.close()
    reopened = Engine.open(database_url, clock=lambda: NOW)
    try:
        assert PersonalizationLogStore(reopened.store).count() == 1500
        # and the configuration survived too: stored, versioned objects
        again = DecisionService(reopened, RecommendService(reopened))
        assert again.configs.decisions["hello"].priority == 1
        assert again.decide(request, authenticated=False).personalizations[0].attributes == {
            "header": "Hi"
        }
    finally:
        reopened.close()


def test_an_experiment_that_cannot_be_evaluated_is_522_and_the_decisions_answer(
    world: World,
) -> None:
    broken = {
        "name": "broken",
        "point": "home_banner",
        "primaryMetric": "Conversion Rate",
        "status": "Started",
        "cohorts": [
            {"id": "a", "weight": 50, "decision": "deleted_elsewhere"},
            {"id": "b", "weight": 50, "decision": "deleted_elsewhere"},
        ],
    }
    # Written by another process straight into the store, then picked up by a reload.
    world.engine.store.put_config(
        "experiment",
        "broken",
        Experiment.model_validate(broken).model_dump_json(by_alias=True),
        NOW,
    )
    world.service.reload()
    p = _one(
        world.decide(
            {"context": {"individualId": "ben"}, "personalizationPoints": [{"name": "home_banner"}]}
        )
    )
    assert _codes(p.diagnostics) == [200, 522]
    assert p.attributes["header"] == "Hello there"


class _FailingRecommender(RecommendService):
    def recommend(self, request: Any) -> Any:
        raise RuntimeError("the vector index went away")


def test_a_point_whose_personalizing_fails_answers_500_while_the_others_answer(
    world: World,
) -> None:
    service = DecisionService(
        world.engine, _FailingRecommender(world.engine), log=world.service.log
    )
    response = service.decide(
        DecisionRequest.model_validate(
            {"personalizationPoints": [{"name": "shoes"}, {"name": "home_banner"}]}
        ),
        authenticated=True,
    )
    shoes, banner = response.personalizations
    assert _codes(shoes.diagnostics) == [500] and shoes.data == [] and shoes.attributes == {}
    assert _codes(banner.diagnostics) == [200] and banner.attributes["header"] == "Hello there"
    assert world.service.log is not None
    world.service.log.flush()
    assert world.service.log.rows.get(shoes.personalizationId)["status"] == 500  # type: ignore[index]


def test_a_full_log_queue_drops_and_counts_instead_of_blocking_requests(database_url: str) -> None:
    from p13n.domain.services import LogEntry

    engine = Engine.open(database_url, clock=lambda: NOW)
    log = PersonalizationLog(engine.store, capacity=5, linger=60.0)
    try:
        accepted = [
            log.record(LogEntry(personalization_id=f"p{k}", request_id="r", ts=NOW))
            for k in range(8)
        ]
        assert accepted == [True] * 5 + [False] * 3 and log.dropped == 3
        log.close()
        assert not log.record(LogEntry(personalization_id="late", request_id="r", ts=NOW))
        assert log.rows.count() == 5 and log.written == 5
    finally:
        log.close()
        engine.close()


def test_a_flush_writes_the_queue_without_waiting_out_a_long_linger(database_url: str) -> None:
    from p13n.domain.services import LogEntry

    engine = Engine.open(database_url, clock=lambda: NOW)
    log = PersonalizationLog(engine.store, linger=3600.0)  # the writer alone would wait an hour
    try:
        assert log.record(LogEntry(personalization_id="p-flush", request_id="r", ts=NOW))
        started = time.monotonic()
        log.flush(timeout=20.0)
        assert time.monotonic() - started < 5.0  # both write cycles woken, not the timeout
        assert log.pending() == 0 and log.rows.count() == 1 and log.written == 1
    finally:
        log.close()
        engine.close()
