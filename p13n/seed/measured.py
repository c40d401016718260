"""The demo's measured week: simulated shoppers are shown what p13n decides, and react to it.

After the month of `simulate` is imported, the model trained and the demo decisioning applied,
`measure_week` plays the last `MEASURED_DAYS` days again as visits that ask p13n for the home
page's points (`DecisionService.decide`, channel `Web`) or, for a share of them, ask the
shopping assistant (the `get_recommendations` tool, channel `agent`). Each visit is decided at
its own time: the engine's clock (`Engine.now`, the clock it was built with) reads the visit's
time meanwhile, so the personalization log dates every decision in the past week. The shopper
then emits `personalization-view`, `personalization-click` (carrying `personalizationId` and
`personalizationContentId`), `Add To Cart` and `Purchase` events for what was shown, with
probabilities that rise with how well an item matches their tastes (`match`) and fall with its
slot, so a recommender that knows them earns more clicks and orders. The events go in with one
`import_events`, after the decisions.

Who visits: each random shopper of the month comes back with probability `P_RETURN` for one to
four home visits (the five named shoppers keep their scripted stories and stay out), and
`newcomers` shoppers arrive this week (the shoppers `cast` would add next, browsing as
`Shopper` does; each of their sessions starts on the home page; their browsing is imported
before the decisions so they have profiles).

What a decision sees: the profiles as they stand after the month (the engine keeps no past
states of a profile), so a visit early in the week is personalized with history from later in
it. The cohort split and the reactions do not depend on it. The same seed gives the same
visits, decisions and events (request ids are derived from the seed, so the recommenders'
exploration draws are too); personalization ids are random, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from p13n.domain.decisions import DecisionRequest
from p13n.domain.ingest import ImportSummary, Item
from p13n.domain.services import DecisionService, Engine
from p13n.domain.timeutil import DAY
from p13n.seed.draws import Dice, ItemPools
from p13n.seed.mercari import SHOP_URL
from p13n.seed.personas import STORY_PERSONAS, Persona
from p13n.seed.sdk_events import item_url, line_item, sdk_event
from p13n.seed.shopper import Shopper
from p13n.seed.simulator import Member, cast
from p13n.tools import ToolContext, get_action

__all__ = [
    "HOME_POINTS",
    "MEASURED_DAYS",
    "NEWCOMER_SHARE",
    "P_RETURN",
    "Visit",
    "WeekReport",
    "engine_clock",
    "match",
    "measure_week",
    "week_visits",
]

MEASURED_DAYS = 7  # the default attribution window, and the simulator's trending week
HOME_POINTS = ("home_banner", "home_recommendations")
P_RETURN = 0.7  # a shopper of the month comes back this week
NEWCOMER_SHARE = 0.7  # newcomers this week per shopper of the month, by default
AGENT_SHARE = 0.1  # visits that ask the shopping assistant instead of opening the home page
AGENT_ITEMS = 6
_P_CLICK, _SLOT_DECAY = 0.1, 0.8  # a perfect match in the first slot; each slot down keeps 80 %
_P_CART_BASE, _P_CART_MATCH, _P_BUY = 0.15, 0.35, 0.5  # after a click; then checks out
_P_BANNER_CLICK, _P_TARGETED_BANNER_CLICK = 0.02, 0.06
# The week's draws: generators [seed, k, stream], apart from the month's [seed, k].
_VISITS, _REACTIONS = 1, 2
_HOME_URL = f"{SHOP_URL}/"
_AGENT_URL = f"{SHOP_URL}/assistant"


def match(persona: Persona, top: str, brand: str | None) -> float:
    """How well an item fits a shopper's tastes, 0..1: their category and brand 1, their
    category 0.5, their brand elsewhere 0.25, anything else 0.05."""
    liked_brand = brand is not None and brand in persona.brands
    if top in persona.categories:
        return 1.0 if liked_brand else 0.5
    return 0.25 if liked_brand else 0.05


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit of the week: when, who, on which device and session, and which channel."""

    t: float
    member: Member
    device: str
    session: str
    agent: bool


@dataclass(slots=True)
class WeekReport:
    """What the measured week did: visits, logged personalizations, the demo experiment's units
    per cohort (as the decisions' traces name them), reactions, and the events imported."""

    visits: int = 0
    agent_visits: int = 0
    personalizations: int = 0
    cohort_units: dict[str, int] = field(default_factory=dict)
    views: int = 0
    clicks: int = 0
    carts: int = 0
    orders: int = 0
    revenue: float = 0.0
    browsing: ImportSummary = field(default_factory=ImportSummary)
    reactions: ImportSummary = field(default_factory=ImportSummary)

    def summary(self) -> str:
        cohorts = ", ".join(f"{c} {n:,}" for c, n in sorted(self.cohort_units.items()))
        return (
            f"{self.visits:,} visits ({self.agent_visits:,} with the assistant), "
            f"{self.personalizations:,} personalizations logged; experiment units: {cohorts}; "
            f"{self.clicks:,} clicks, {self.carts:,} add-to-carts, {self.orders:,} orders, "
            f"${self.revenue:,.2f}"
        )


def week_visits(
    cat: ItemPools, *, shoppers: int, newcomers: int, end: float, seed: int, days: int
) -> tuple[list[Visit], list[tuple[float, dict[str, Any]]]]:
    """The week's visits in time order, and the newcomers' own browsing events."""
    start = end - days * DAY
    visits: list[Visit] = []
    browsing: list[tuple[float, dict[str, Any]]] = []
    named = len(STORY_PERSONAS)
    for member in cast(cat, shoppers + newcomers, seed):
        dice = _week_dice(seed, member.k)
        if member.k <= named:
            continue
        if member.k > shoppers:  # a newcomer: browses as in the month, from the home page
            shopper = Shopper(member.k, member.persona, member.devices, member.dice, cat, seed)
            shopper.run(start, end)
            browsing.extend(shopper.out)
            first: dict[str, float] = {}
            for t, event in shopper.out:
                first.setdefault(event["sessionId"], t)
            for session, t in first.items():
                device = session.rpartition("-s")[0]
                visits.append(Visit(t - 20.0, member, device, session, dice.u() < AGENT_SHARE))
            continue
        if dice.u() >= P_RETURN:
            continue
        for n in range(1, 2 + min(3, int(-np.log(1.0 - dice.u()) * 0.8))):
            t = start + 60.0 + dice.u() * (days * DAY - 3600.0)
            device = member.devices[dice.below(len(member.devices))]
            visits.append(Visit(t, member, device, f"{device}-w{n}", dice.u() < AGENT_SHARE))
    visits.sort(key=lambda v: (v.t, v.member.k, v.session))
    return visits, browsing


def _week_dice(seed: int, k: int, stream: int = _VISITS) -> Dice:
    return Dice(np.random.default_rng([seed, k, stream]))


@contextmanager
def engine_clock(engine: Engine) -> Iterator[Callable[[float], None]]:
    """Let the caller set what `engine.now()` reads; the engine's own clock comes back after."""
    real = engine.now
    when = [real()]
    engine.now = lambda: when[0]
    try:
        yield lambda t: when.__setitem__(0, t)
    finally:
        engine.now = real


@dataclass(slots=True)
class _Shown:
    """One personalization a visit was shown: its id, point, decision and items in slot order."""

    pid: str
    point: str | None
    decision: str | None
    items: list[tuple[str, str]]  # (personalizationContentId, item id)


class _Week:
    """The week's reactions, written as SDK events in the order they are drawn."""

    def __init__(self, cat: ItemPools, seed: int, report: WeekReport) -> None:
        self.cat, self.seed, self.report = cat, seed, report
        self.index = {it.id: i for i, it in enumerate(cat.items)}
        self.out: list[tuple[float, dict[str, Any]]] = []
        self.dice: dict[int, Dice] = {}

    def react(self, visit: Visit, shown: list[_Shown]) -> None:
        k = visit.member.k
        dice = self.dice.get(k) or self.dice.setdefault(k, _week_dice(self.seed, k, _REACTIONS))
        persona = visit.member.persona
        ctx = (visit.device, visit.session)
        channel, page, url = (
            ("agent", "assistant", _AGENT_URL) if visit.agent else ("Web", "home", _HOME_URL)
        )
        t = visit.t + 1.0
        for s in shown:
            self.emit(t, ctx, page, url, channel, "personalization-view", s.pid)
            self.report.views += 1
        t += 5.0 + dice.u() * 25.0
        for s in shown:
            if not s.items:  # a banner: manual content, clicked now and then
                targeted = s.decision is not None and s.decision != "default_banner"
                p = _P_TARGETED_BANNER_CLICK if targeted else _P_BANNER_CLICK
                if dice.u() < p:
                    self.emit(t, ctx, page, url, channel, "personalization-click", s.pid)
                    self.report.clicks += 1
                continue
            for slot, (content_id, item_id) in enumerate(s.items):
                i = self.index.get(item_id)
                if i is None:
                    continue
                fit = match(persona, self.cat.top[i], self.cat.items[i].brand)
                if dice.u() < _P_CLICK * fit * _SLOT_DECAY**slot:
                    self.click(t, ctx, page, url, channel, s.pid, content_id, i, fit, dice)
                    break  # one item per carousel: the click leaves the page

    def click(
        self,
        t: float,
        ctx: tuple[str, str],
        page: str,
        url: str,
        channel: str,
        pid: str,
        content_id: str,
        i: int,
        fit: float,
        dice: Dice,
    ) -> None:
        item = self.cat.items[i]
        obj = {"type": item.type, "id": item.id}
        self.emit(
            t, ctx, page, url, channel, "personalization-click", pid, content_id, catalogObject=obj
        )
        self.report.clicks += 1
        t += 2.0
        interaction = {"name": "View Catalog Object", "catalogObject": obj}
        self.out.append(
            (
                t,
                sdk_event(
                    t,
                    ctx,
                    "en_US",
                    "product",
                    item_url(item),
                    "catalog",
                    channel=channel,
                    interaction=interaction,
                ),
            )
        )
        if not self.cat.buyable[i] or dice.u() >= _P_CART_BASE + _P_CART_MATCH * fit:
            return
        t += 30.0 + dice.u() * 90.0
        line = line_item(item, 1)
        add = {"name": "Add To Cart", "lineItem": line}
        self.out.append(
            (
                t,
                sdk_event(
                    t,
                    ctx,
                    "en_US",
                    "product",
                    item_url(item),
                    "cart",
                    channel=channel,
                    interaction=add,
                ),
            )
        )
        self.report.carts += 1
        if dice.u() >= _P_BUY:
            return
        t += 60.0 + dice.u() * 240.0
        self.report.orders += 1
        order_id = f"sim-{self.seed}-w{self.report.orders}"
        total = round((item.price or 0.0), 2)
        self.report.revenue += total
        order = {"id": order_id, "totalValue": total, "currency": "USD", "lineItems": [line]}
        confirmation = f"{SHOP_URL}/checkout/confirmation?order={order_id}"
        self.out.append(
            (
                t,
                sdk_event(
                    t,
                    ctx,
                    "en_US",
                    "order_confirmation",
                    confirmation,
                    "order",
                    channel=channel,
                    interaction={"name": "Purchase", "order": order},
                ),
            )
        )

    def emit(
        self,
        t: float,
        ctx: tuple[str, str],
        page: str,
        url: str,
        channel: str,
        name: str,
        pid: str,
        content_id: str | None = None,
        **interaction: Any,
    ) -> None:
        ids: dict[str, Any] = {"personalizationId": pid}
        if content_id is not None:
            ids["personalizationContentId"] = content_id
        body = {"interaction": {"name": name, **interaction}, **ids}
        self.out.append(
            (t, sdk_event(t, ctx, "en_US", page, url, "personalization", channel=channel, **body))
        )


def measure_week(
    decisions: DecisionService,
    items: list[Item],
    *,
    shoppers: int,
    newcomers: int,
    end: float,
    seed: int = 42,
    days: int = MEASURED_DAYS,
    on_progress: Callable[[int], None] | None = None,
) -> WeekReport:
    """Play the week (see the module docstring) against `decisions`, whose decisioning must be
    applied and whose recommenders trained; `items`, `shoppers` and `seed` are the month's."""
    engine = decisions.engine
    cat = ItemPools(items, np.random.default_rng([seed, 0]))
    visits, browsing = week_visits(
        cat, shoppers=shoppers, newcomers=newcomers, end=end, seed=seed, days=days
    )
    report = WeekReport(visits=len(visits))
    report.browsing = engine.import_events(_numbered(browsing, seed, "m"))
    decisions.recommend.refresh()  # built now, not at the first visit's time
    week = _Week(cat, seed, report)
    tool = get_action("get_recommendations")
    ctx = ToolContext(engine=engine, recommend=decisions.recommend, decisions=decisions)
    units: dict[str, set[str]] = {}
    with engine_clock(engine) as set_time:
        for n, visit in enumerate(visits, start=1):
            set_time(visit.t)
            uid = engine.resolve(visit.device)
            if visit.agent:
                report.agent_visits += 1
                answer = tool.invoke(ctx, {"individual": visit.device, "limit": AGENT_ITEMS})
                shown = [
                    _Shown(
                        answer.personalizationId,
                        None,
                        None,
                        [(i.personalizationContentId, i.id) for i in answer.items],
                    )
                ]
            else:
                shown = _decide(decisions, visit, uid, f"sim-{seed}-r{n}", units)
            report.personalizations += len(shown)
            week.react(visit, shown)
            if on_progress is not None and n % 100 == 0:
                on_progress(100)
    report.cohort_units = {cohort: len(keys) for cohort, keys in units.items()}
    report.reactions = engine.import_events(_numbered(week.out, seed, "w"))
    return report


def _decide(
    decisions: DecisionService,
    visit: Visit,
    uid: str | None,
    request_id: str,
    units: dict[str, set[str]],
) -> list[_Shown]:
    request = DecisionRequest.model_validate(
        {
            "context": {
                "individualId": visit.device,
                "unifiedIndividualId": uid,
                "pageType": "home",
                "channel": "Web",
                "requestUrl": _HOME_URL,
            },
            "personalizationPoints": [{"name": p} for p in HOME_POINTS],
            "executionFlags": ["EnableDiagnostics"],
            "requestId": request_id,
        }
    )
    answer = decisions.decide(request, authenticated=True, source="api")
    shown = []
    for p in answer.personalizations:
        trace = p.trace or {}
        if trace.get("cohort"):
            units.setdefault(str(trace["cohort"]), set()).add(uid or visit.device)
        items = [(str(d["personalizationContentId"]), str(d["id"])) for d in p.data]
        if items or p.attributes:
            shown.append(
                _Shown(
                    p.personalizationId, p.personalizationPointName, trace.get("decision"), items
                )
            )
    return shown


def _numbered(
    timeline: list[tuple[float, dict[str, Any]]], seed: int, tag: str
) -> Iterator[dict[str, Any]]:
    ordered = sorted(enumerate(timeline), key=lambda row: (row[1][0], row[0]))
    for n, (_, (_, event)) in enumerate(ordered, start=1):
        event["eventId"] = f"sim-{seed}-{tag}{n}"
        yield event
