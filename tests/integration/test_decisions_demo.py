"""The demo tenant's decisioning file: it applies cleanly, twice, and every point answers."""

from __future__ import annotations

from pathlib import Path

from p13n.domain.decisions import DecisionRequest
from p13n.domain.ingest.items import Item
from p13n.domain.services import DecisionService, Engine, PersonalizationLog, RecommendService
from p13n.seed.demo import apply_demo_decisioning

POINTS = [
    "home_banner",
    "home_recommendations",
    "pdp_similar",
    "pdp_bought_together",
    "cart_complete",
]


def test_the_demo_decisioning_applies_idempotently_and_every_point_answers(tmp_path: Path) -> None:
    engine = Engine.open(f"sqlite:///{tmp_path / 'p13n.db'}")
    engine.upsert_items(
        [
            Item(id=f"i{k}", name=f"Item {k}", price=10.0 + k, category=f"C{k % 3}", brand="B")
            for k in range(30)
        ]
    )
    events = [
        {
            "eventId": f"e{k}",
            "individualId": f"p{k % 4}",
            "interaction": "view",
            "itemId": f"i{k % 7}",
        }
        for k in range(40)
    ]
    events += [
        {
            "eventId": "buy",
            "individualId": "p1",
            "interaction": "purchase",
            "itemId": "i1",
            "price": 11.0,
            "orderId": "o",
        }
    ]
    engine.ingest(events)
    service = DecisionService(
        engine, RecommendService(engine), log=PersonalizationLog(engine.store)
    )
    try:
        first = apply_demo_decisioning(service)
        assert len(first.created) == 14 and not first.updated
        assert not apply_demo_decisioning(service).changed
        request = DecisionRequest.model_validate(
            {
                "context": {"individualId": "p1", "anchorId": "i2", "pageType": "product"},
                "personalizationPoints": [{"name": p} for p in POINTS],
                "executionFlags": ["EnableDiagnostics"],
            }
        )
        answer = service.decide(request, authenticated=True)
        by_point = {p.personalizationPointName: p for p in answer.personalizations}
        assert by_point["home_banner"].attributes["header"] == "Welcome"
        assert by_point["home_banner"].attributes["callToAction"] == "Start browsing"
        for name in POINTS[1:]:
            p = by_point[name]
            assert p.diagnostics is not None and p.diagnostics[0].code == 200, (name, p.diagnostics)
            assert p.data and p.attributes["title"], name
        assert by_point["home_recommendations"].trace is not None
        assert by_point["home_recommendations"].trace["experiment"] == "home_recs_revenue_test"
    finally:
        service.close()
        engine.close()
