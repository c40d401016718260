"""The demo's measured week: simulated shoppers are shown what p13n decides, and react to it.

After the month of `simulate` is imported, the model trained and the demo decisioning applied,
`measure_week` plays the last `MEASURED_DAYS` days again as visits. A web visit opens the home
page and asks p13n for its points (`DecisionService.decide`, channel `Web`); a click on an item
opens its product page, which asks for the anchored product points; putting it in the cart opens
the cart page and its point. A share of visits asks the shopping assistant instead (the
`get_recommendations` tool through `p13n.tools`, channel `agent`). Each page is decided at its
own time: the engine's clock (`Engine.now`, the clock it was built with) reads that time
meanwhile, so the personalization log dates every decision in the past week. What the shopper
does with what was shown (views, clicks naming `personalizationId` and
`personalizationContentId`, add-to-carts, orders) follows `reactions.py`: the better an item
matches their tastes, the likelier. The events go in with one `import_events` after the visits.

Who visits: each random shopper of the month comes back with probability `P_RETURN` for one to
four home visits (the five named shoppers keep their scripted stories and stay out), and
`newcomers` shoppers arrive this week: the shoppers `cast` would add next, browsing as
`Shopper` does in at most `NEWCOMER_SESSIONS` sessions, each starting on the home page; their
browsing is imported before the visits so they have profiles.

What a decision sees: the profiles as they stand after the month (the engine keeps no past
states of a profile), so a visit early in the week is personalized with history from later in
it; the cohort split and the reactions do not depend on it. The same seed gives the same visits,
decisions and events (request ids derive from the seed, so the recommenders' exploration draws
do too); personalization ids are random, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from p13n.domain.decisions import DecisionRequest
from p13n.domain.ingest import ImportSummary, Item
from p13n.domain.services import DecisionService, Engine
from p13n.domain.timeutil import DAY
from p13n.seed.draws import Dice, ItemPools
from p13n.seed.mercari import SHOP_URL
from p13n.seed.personas import STORY_PERSONAS, Persona
from p13n.seed.reactions import P_BUY, Pick, Shown, Trail, banner_clicked, pick, wants_cart
from p13n.seed.sdk_events import item_url
from p13n.seed.shopper import Shopper
from p13n.seed.simulator import Member, cast
from p13n.tools import ToolContext, get_action

__all__ = [
    "CART_POINTS",
    "HOME_POINTS",
    "MEASURED_DAYS",
    "NEWCOMER_SHARE",
    "P_RETURN",
    "PRODUCT_POINTS",
    "Visit",
    "WeekReport",
    "engine_clock",
    "measure_week",
    "week_visits",
]

MEASURED_DAYS = 7  # the default attribution window, and the simulator's trending week
HOME_POINTS = ("home_banner", "home_recommendations")
PRODUCT_POINTS = ("pdp_similar", "pdp_bought_together")
CART_POINTS = ("cart_complete",)
P_RETURN = 0.7  # a shopper of the month comes back this week
NEWCOMER_SHARE = 0.7  # newcomers this week per shopper of the month, by default
NEWCOMER_SESSIONS = 4
AGENT_SHARE = 0.1  # visits that ask the shopping assistant instead of opening the home page
AGENT_ITEMS = 6
_VISITS, _REACTIONS = 1, 2  # the week's generators: [seed, k, stream], apart from [seed, k]
_HOME_URL, _CART_URL, _AGENT_URL = f"{SHOP_URL}/", f"{SHOP_URL}/cart", f"{SHOP_URL}/assistant"


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
    """What the measured week did: visits, decision requests and personalizations logged, the
    demo experiment's units per cohort (as the decisions' traces name them), the shoppers'
    reactions, and the two imports (newcomers' browsing, then the reactions)."""

    visits: int = 0
    agent_visits: int = 0
    requests: int = 0
    personalizations: int = 0
    cohort_units: dict[str, int] = field(default_factory=dict)
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
    for member in cast(cat, shoppers + newcomers, seed):
        if member.k <= len(STORY_PERSONAS):
            continue
        dice = _dice(seed, member.k, _VISITS)
        if member.k > shoppers:  # a newcomer: browses as in the month, from the home page
            persona = _first_sessions(member.persona, NEWCOMER_SESSIONS)
            shopper = Shopper(member.k, persona, member.devices, member.dice, cat, seed)
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


def _first_sessions(persona: Persona, n: int) -> Persona:
    """A newcomer's first `n` sessions of their persona (logins among them kept)."""
    logins = tuple(j for j in persona.logins if j < n)
    return replace(persona, plan=persona.plan[:n], logins=logins)


def _dice(seed: int, k: int, stream: int) -> Dice:
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


class _Week:
    """The pages of each visit, decided at their time, and the shopper's reactions to them."""

    def __init__(
        self,
        decisions: DecisionService,
        cat: ItemPools,
        seed: int,
        set_time: Callable[[float], None],
    ) -> None:
        self.decisions, self.cat, self.seed, self.set_time = decisions, cat, seed, set_time
        self.engine = decisions.engine
        self.index = {it.id: i for i, it in enumerate(cat.items)}
        self.report = WeekReport()
        self.out: list[tuple[float, dict[str, Any]]] = []
        self.dice: dict[int, Dice] = {}
        self.units: dict[str, set[str]] = {}
        self.tool = get_action("get_recommendations")
        self.tool_ctx = ToolContext(
            engine=self.engine, recommend=decisions.recommend, decisions=decisions
        )

    def visit(self, visit: Visit) -> None:
        k = visit.member.k
        dice = self.dice.get(k) or self.dice.setdefault(k, _dice(self.seed, k, _REACTIONS))
        uid = self.engine.resolve(visit.device)
        trail = Trail((visit.device, visit.session), "agent" if visit.agent else "Web", self.out)
        flow = _Flow(self, visit, uid, dice, trail)
        t = flow.assistant(visit.t) if visit.agent else flow.home(visit.t)
        if trail.basket and dice.u() < P_BUY:
            self.report.orders += 1
            self.report.revenue += trail.purchase(t + 60.0 + dice.u() * 240.0, self._order_id())
        self.report.visits += 1

    def _order_id(self) -> str:
        return f"sim-{self.seed}-wo{self.report.orders}"

    def decide(
        self, t: float, visit: Visit, uid: str | None, points: tuple[str, ...], **context: Any
    ) -> list[Shown]:
        """The points of one page, decided at `t`, as the page shows them."""
        self.set_time(t)
        self.report.requests += 1
        request = DecisionRequest.model_validate(
            {
                "context": {
                    "individualId": visit.device,
                    "unifiedIndividualId": uid,
                    "channel": "Web",
                    **context,
                },
                "personalizationPoints": [{"name": p} for p in points],
                "executionFlags": ["EnableDiagnostics"],
                "requestId": f"sim-{self.seed}-r{self.report.requests}",
            }
        )
        answer = self.decisions.decide(request, authenticated=True, source="api")
        shown = []
        for p in answer.personalizations:
            trace = p.trace or {}
            if trace.get("cohort"):
                self.units.setdefault(str(trace["cohort"]), set()).add(uid or visit.device)
            items = tuple((str(d["personalizationContentId"]), str(d["id"])) for d in p.data)
            if items or p.attributes:
                point, decision = p.personalizationPointName, trace.get("decision")
                shown.append(Shown(p.personalizationId, point, decision, items))
        self.report.personalizations += len(shown)
        return shown

    def recommend(self, t: float, visit: Visit) -> Shown:
        """The assistant's answer (`get_recommendations`, channel agent) at `t`."""
        self.set_time(t)
        answer = self.tool.invoke(self.tool_ctx, {"individual": visit.device, "limit": AGENT_ITEMS})
        self.report.personalizations += 1
        items = tuple((i.personalizationContentId, i.id) for i in answer.items)
        return Shown(answer.personalizationId, None, None, items)


@dataclass
class _Flow:
    """One visit's way through the pages: home (or the assistant), a product, the cart."""

    week: _Week
    visit: Visit
    uid: str | None
    dice: Dice
    trail: Trail

    def home(self, t: float) -> float:
        shown = self.week.decide(
            t, self.visit, self.uid, HOME_POINTS, pageType="home", requestUrl=_HOME_URL
        )
        self.trail.viewed(t + 1.0, "home", _HOME_URL, shown)
        t += 5.0 + self.dice.u() * 25.0
        for s in shown:
            if not s.items and banner_clicked(self.dice, s):
                self.trail.clicked(t, "home", _HOME_URL, s)
                self.week.report.clicks += 1
        chosen = self._pick(shown)
        if chosen is None:
            return t
        return self.product(self._click(t, "home", _HOME_URL, chosen), chosen)

    def assistant(self, t: float) -> float:
        self.week.report.agent_visits += 1
        shown = self.week.recommend(t, self.visit)
        self.trail.viewed(t + 1.0, "assistant", _AGENT_URL, [shown])
        chosen = self._pick([shown])
        if chosen is None:
            return t + 5.0
        t = self._click(t + 10.0 + self.dice.u() * 30.0, "assistant", _AGENT_URL, chosen)
        return self.land(t, chosen)

    def product(self, t: float, chosen: Pick) -> float:
        """The clicked item's page, with its anchored points: carted, or another item clicked."""
        item = self.week.cat.items[chosen.i]
        url = item_url(item)
        self.trail.product(t, item)
        shown = self.week.decide(
            t,
            self.visit,
            self.uid,
            PRODUCT_POINTS,
            pageType="product",
            anchorId=item.id,
            requestUrl=url,
        )
        self.trail.viewed(t + 1.0, "product", url, shown)
        t += 20.0 + self.dice.u() * 60.0
        if wants_cart(self.dice, self.week.cat, chosen):
            return self.cart(t, item)
        other = self._pick(shown)
        if other is None:
            return t
        return self.land(self._click(t, "product", url, other), other)

    def cart(self, t: float, item: Item) -> float:
        """Add to cart, then the cart page with its point."""
        self.trail.cart(t, item)
        self.week.report.carts += 1
        t += 3.0
        shown = self.week.decide(
            t,
            self.visit,
            self.uid,
            CART_POINTS,
            pageType="cart",
            anchorId=item.id,
            requestUrl=_CART_URL,
        )
        self.trail.viewed(t + 1.0, "cart", _CART_URL, shown)
        other = self._pick(shown)
        if other is None:
            return t + 10.0
        return self.land(
            self._click(t + 10.0 + self.dice.u() * 30.0, "cart", _CART_URL, other), other
        )

    def land(self, t: float, chosen: Pick) -> float:
        """A clicked item's page, without further decisions: viewed, maybe carted."""
        item = self.week.cat.items[chosen.i]
        self.trail.product(t, item)
        if not wants_cart(self.dice, self.week.cat, chosen):
            return t + 10.0
        t += 20.0 + self.dice.u() * 60.0
        self.trail.cart(t, item)
        self.week.report.carts += 1
        return t

    def _pick(self, shown: list[Shown]) -> Pick | None:
        persona = self.visit.member.persona
        return pick(self.dice, persona, self.week.cat, self.week.index, shown)

    def _click(self, t: float, page: str, url: str, chosen: Pick) -> float:
        self.trail.clicked(t, page, url, chosen.shown, chosen, self.week.cat.items[chosen.i])
        self.week.report.clicks += 1
        return t + 2.0


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
    browsed = engine.import_events(_numbered(browsing, seed, "m"))
    decisions.recommend.refresh()  # built now, not at the first visit's time
    with engine_clock(engine) as set_time:
        week = _Week(decisions, cat, seed, set_time)
        for n, visit in enumerate(visits, start=1):
            week.visit(visit)
            if on_progress is not None and n % 100 == 0:
                on_progress(100)
    report = week.report
    report.cohort_units = {cohort: len(keys) for cohort, keys in week.units.items()}
    report.browsing = browsed
    report.reactions = engine.import_events(_numbered(week.out, seed, "w"))
    return report


def _numbered(
    timeline: list[tuple[float, dict[str, Any]]], seed: int, tag: str
) -> Iterator[dict[str, Any]]:
    """The events in time order (ties in the order written), with ids `sim-<seed>-<tag><n>`."""
    ordered = sorted(enumerate(timeline), key=lambda row: (row[1][0], row[0]))
    for n, (_, (_, event)) in enumerate(ordered, start=1):
        event["eventId"] = f"sim-{seed}-{tag}{n}"
        yield event
