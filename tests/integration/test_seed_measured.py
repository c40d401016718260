"""The demo's measured week on a small seed: decisions logged in the past week per cohort,
clicks that name what was shown, shoppers who click what they like, and the same seed giving
the same week.

The tenant is seeded twice (two stores, same seed) for the module: 300 shoppers, 800 items, no
item vectors. The rules read the store's own tables and the simulator's personas, never the
week's report alone.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from p13n.domain.analytics import build_journeys, kpis
from p13n.domain.services import DecisionService, Engine, PersonalizationLog, RecommendService
from p13n.domain.timeutil import DAY
from p13n.seed import (
    MEASURED_DAYS,
    NAMED_SHOPPERS,
    WeekReport,
    apply_demo_decisioning,
    load_demo,
    load_mercari,
    measure_demo,
)
from p13n.seed.draws import ItemPools
from p13n.seed.measured import CART_POINTS, HOME_POINTS, NEWCOMER_SHARE, PRODUCT_POINTS
from p13n.seed.simulator import Member, cast

END = 1_750_000_000.0
SHOPPERS, ITEMS, SEED = 300, 800, 42
WEEK_START = END - MEASURED_DAYS * DAY
EXPERIMENT = "home_recs_revenue_test"


@dataclass
class Seeded:
    db: Path
    decisions: DecisionService
    report: WeekReport

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, args)]

    def log(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM personalization_log ORDER BY ts, request_id, point")

    def week_events(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM events WHERE ts >= ? ORDER BY ts, seq", WEEK_START)


def _seed(home: Path) -> Iterator[Seeded]:
    db = home / "p13n.db"
    engine = Engine.open(f"sqlite:///{db}", clock=lambda: END)
    recommend = RecommendService(engine)
    decisions = DecisionService(engine, recommend, log=PersonalizationLog(engine.store))
    try:
        load_demo(engine, shoppers=SHOPPERS, n_items=ITEMS, end=END, seed=SEED)
        recommend.train()
        apply_demo_decisioning(decisions, at=WEEK_START)
        report = measure_demo(decisions, end=END, shoppers=SHOPPERS, n_items=ITEMS, seed=SEED)
        assert decisions.log is not None
        decisions.log.flush()
        yield Seeded(db, decisions, report)
    finally:
        decisions.close()
        engine.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from _seed(tmp_path_factory.mktemp("week-a"))


@pytest.fixture(scope="module")
def again(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from _seed(tmp_path_factory.mktemp("week-b"))


@pytest.fixture(scope="module")
def members() -> dict[str, Member]:
    """Every device of the month's shoppers and the week's newcomers -> its shopper."""
    cat = ItemPools(load_mercari(ITEMS, now=END), np.random.default_rng([SEED, 0]))
    everyone = cast(cat, SHOPPERS + round(SHOPPERS * NEWCOMER_SHARE), SEED)
    return {device: m for m in everyone for device in m.devices}


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(row["payload"])
    return found


def test_every_cohort_has_decisions_logged_in_the_past_week(seeded: Seeded) -> None:
    log = seeded.log()
    assert log and all(WEEK_START <= r["ts"] <= END for r in log)
    home = [r for r in log if r["point"] == "home_recommendations"]
    assert {r["experiment"] for r in home} == {EXPERIMENT}
    units: dict[str, set[str]] = {}
    for r in home:
        units.setdefault(r["cohort"], set()).add(r["unified_id"] or r["individual_id"])
    assert set(units) == {"control", "revenue"}
    assert all(len(u) >= 50 for u in units.values()), {c: len(u) for c, u in units.items()}
    assert {c: len(u) for c, u in units.items()} == seeded.report.cohort_units
    recommenders = {r["cohort"]: r["recommender"] for r in home}
    assert recommenders == {"control": "recommended-for-you", "revenue": "revenue-for-you"}
    points = {r["point"] for r in log if r["source"] == "api"}
    assert points == {*HOME_POINTS, *PRODUCT_POINTS, *CART_POINTS}
    assert {r["channel"] for r in log} == {"Web", "agent"}
    assert any(r["source"] == "agent" and r["content"] != "[]" for r in log)


def test_the_experiment_started_with_the_week(seeded: Seeded) -> None:
    experiment = seeded.decisions.configs.get_experiment(EXPERIMENT)
    assert experiment.started_at == WEEK_START


def test_a_unit_stays_in_one_cohort_all_week(seeded: Seeded) -> None:
    cohorts: dict[str, set[str]] = {}
    for r in seeded.log():
        if r["cohort"]:
            cohorts.setdefault(r["unified_id"], set()).add(r["cohort"])
    assert cohorts and all(len(c) == 1 for c in cohorts.values())


def test_the_named_shoppers_keep_their_stories(seeded: Seeded) -> None:
    named = {d for s in NAMED_SHOPPERS for d in s["devices"]}
    assert not {r["individual_id"] for r in seeded.log()} & named
    assert not {r["device_id"] for r in seeded.week_events() if "-w" in r["event_id"]} & named


def test_every_click_names_content_the_log_holds_for_that_item(seeded: Seeded) -> None:
    log = seeded.decisions.log
    assert log is not None
    clicks = [
        (r, _payload(r).get("personalizationContentId"))
        for r in seeded.week_events()
        if r["interaction"] == "personalization-click"
    ]
    item_clicks = [(r, cid) for r, cid in clicks if cid is not None]
    assert len(item_clicks) >= 50
    for row, content_id in item_clicks:
        content = log.content_of(row["personalization_id"])
        assert content is not None and content_id.startswith(row["personalization_id"] + ":")
        assert content[content_id] == row["item_id"]
    banner = {r["personalization_id"] for r in seeded.log() if r["point"] == "home_banner"}
    assert {r["personalization_id"] for r, cid in clicks if cid is None} <= banner


def test_shoppers_click_items_of_their_categories_more_than_others(
    seeded: Seeded, members: dict[str, Member]
) -> None:
    """Over every item slot shown on the home carousel: the click rate of items in one of the
    shopper's top categories is well above that of the rest."""
    clicked = {
        _payload(r)["personalizationContentId"]
        for r in seeded.week_events()
        if r["interaction"] == "personalization-click"
        and _payload(r).get("personalizationContentId")
    }
    items = seeded.decisions.engine.state.items
    tops = {i: (it.category or "").split("/")[0] for i, it in items.items()}
    shown: Counter[bool] = Counter()
    hits: Counter[bool] = Counter()
    for r in seeded.log():
        if r["point"] != "home_recommendations":
            continue
        persona = members[r["individual_id"]].persona
        for c in orjson.loads(r["content"]):
            mine = tops[c["id"]] in persona.categories
            shown[mine] += 1
            hits[mine] += c["contentId"] in clicked
    assert shown[True] >= 500 and shown[False] >= 500, shown
    rate = {mine: hits[mine] / shown[mine] for mine in (True, False)}
    assert rate[True] > 3 * rate[False], rate


def test_attribution_credits_orders_and_revenue_to_points_and_the_agent(seeded: Seeded) -> None:
    journeys = build_journeys(seeded.log(), seeded.week_events())
    by_point = {dict(r.group)["point"]: r for r in kpis(journeys, group_by="point")}
    home = by_point["home_recommendations"]
    assert home.impressions > 0 and home.clicks > 0 and home.orders > 0 and home.revenue > 0
    credited = {point for point, r in by_point.items() if point and r.revenue > 0}
    assert len(credited) >= 3, credited
    by_channel = {dict(r.group)["channel"]: r for r in kpis(journeys, group_by="channel")}
    assert by_channel["agent"].clicks > 0 and by_channel["agent"].impressions > 0
    orders = [r for r in seeded.week_events() if "-w" in r["event_id"]]
    assert sum(r["interaction"] == "Purchase" for r in orders) == seeded.report.orders > 0


def _counts(report: WeekReport) -> dict[str, Any]:
    """The report without the imports' timings."""
    counts = {f.name: getattr(report, f.name) for f in fields(report)}
    for name in ("browsing", "reactions"):
        counts[name] = counts[name].model_dump(exclude={"seconds"})
    return counts


def _fingerprint(s: Seeded) -> dict[str, Any]:
    """Everything about the week but the random personalization ids."""
    log = s.log()
    web = [
        (r["request_id"], r["point"], r["decision"], r["cohort"], r["unified_id"], r["ts"])
        + tuple(c["id"] for c in orjson.loads(r["content"]))
        for r in log
        if r["source"] == "api"
    ]
    agent = sorted(
        (r["ts"], r["unified_id"], *(c["id"] for c in orjson.loads(r["content"])))
        for r in log
        if r["source"] == "agent"
    )
    events = [
        (r["event_id"], r["device_id"], r["ts"], r["interaction"], r["item_id"], r["value"])
        for r in s.week_events()
    ]
    return {"web": web, "agent": agent, "events": events}


def test_the_same_seed_gives_the_same_week(seeded: Seeded, again: Seeded) -> None:
    assert _counts(seeded.report) == _counts(again.report)
    first, second = _fingerprint(seeded), _fingerprint(again)
    assert len(first["web"]) > 500 and len(first["events"]) > 1000
    assert first == second
