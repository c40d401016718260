"""Scripted shopper conversations on the demo tenant, judged by rules over item fields.

Each conversation is the few tool calls a shopping assistant makes for one request of a demo
shopper (p13n/seed: Ava Martin is shopper 1, shopper1@example.com, who loves Lululemon; Ben
Okafor is shopper 2, shopper2@example.com, who bought a Zelda N64 game and a phone case), and
each turn has checks that a good answer meets and the broken answers of issue 11 do not: a
brand the person loves among the items, prices within the limit asked for, only kids' items
under a Kids filter, black items rising after "only wears black", a new visitor's clicks kept,
reasons a shop assistant could say, answers of bounded size.

The scripts run over any transport: `Tools` calls a tool and answers an `Answer` (the MCP
client over stdio or HTTP, the LangChain tools); `run_conversations` returns one `Outcome` per
conversation, which tests/conversations asserts and bench/agent_tools.py counts. Shapes issue 11
leaves open are read leniently (a price as a number or `{amount, currency}`, a category as a
path or a list, purchases anywhere under a key naming purchases or orders, record_interaction
with one interaction or a list, the UCP catalog tools' `products` as the same cards), so a rule
judges what an answer says, not its field layout.
The conversations that change profiles (a new visitor, a stated preference) run after the
read-only ones, and the two that judge every answer of the run (reasons, sizes) run last.
Past 400 lines on purpose: every script and its rules in one place, read as one table.

Past 400 lines on purpose: every script with its rules and the card readers they share in one
file, the one definition that both test transports and bench/agent_tools.py run.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AVA",
    "BEN",
    "CONVERSATIONS",
    "INTERNAL_WORDS",
    "Answer",
    "Check",
    "Outcome",
    "Tools",
    "run_conversations",
]

AVA = "shopper1@example.com"
BEN = "shopper2@example.com"
INTERNAL_WORDS = ("exploring", "score", "epsilon", "little is known")
CONTEXT_MAX_BYTES = 4096  # get_context's documented default bound
# A list answer may carry an `interpreted` block and notes; each item card a short description.
LIST_BASE_BYTES, ITEM_MAX_BYTES, ANY_MAX_BYTES = 3072, 1024, 32768


@dataclass(frozen=True)
class Answer:
    """One tool call as the model sees it: an error line, or the structured answer."""

    tool: str
    args: dict[str, Any]
    is_error: bool
    data: dict[str, Any] | None
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode())

    def items(self) -> list[dict[str, Any]]:
        data = self.data or {}
        if "products" in data:  # the UCP catalog tools (search_catalog, lookup_catalog)
            return [card_of_product(p) for p in data["products"] if isinstance(p, dict)]
        items = data.get("items") or []
        return [i for i in items if isinstance(i, dict)]


def card_of_product(product: dict[str, Any]) -> dict[str, Any]:
    """A UCP product as the item card the rules read (prices in minor units of a currency with
    cents, as the demo's USD: 4999 -> 49.99)."""
    meta = product.get("metadata") or {}
    low = ((product.get("price_range") or {}).get("min") or {}).get("amount")
    categories = product.get("categories") or [{}]
    return {
        "id": product.get("id"),
        "name": product.get("title"),
        "brand": meta.get("brand"),
        "price": low / 100 if isinstance(low, int) else None,
        "category": categories[0].get("value"),
        "description": (product.get("description") or {}).get("plain"),
        "reason": meta.get("reason"),
        "personalizationContentId": meta.get("personalizationContentId"),
    }


class Tools(Protocol):
    """A transport's tool caller: what every conversation is written against."""

    async def call(self, tool: str, args: dict[str, Any]) -> Answer: ...

    def input_properties(self, tool: str) -> set[str]:
        """The argument names the tool's input schema declares (empty for an unknown tool)."""
        ...


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    conversation: str
    checks: list[Check] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    def report(self) -> str:
        """What failed and the turns that led there, for an assertion message."""
        lines = [f"conversation {self.conversation}:"]
        lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        if self.error:
            lines.append(f"  ERROR {self.error}")
        for a in self.answers:
            head = "isError " if a.is_error else ""
            lines.append(f"  > {a.tool} {a.args}\n    {head}{a.text[:600]}")
        return "\n".join(lines)


class _Stop(Exception):
    """A turn the rest of the conversation depends on failed (already recorded as a check)."""


class Talk:
    """One conversation in progress: its turns, its checks, and every answer of the run."""

    def __init__(self, tools: Tools, outcome: Outcome, history: list[Answer]) -> None:
        self.tools, self.outcome, self.history = tools, outcome, history

    async def ask(self, tool: str, args: dict[str, Any], *, must_answer: bool = True) -> Answer:
        answer = await self.tools.call(tool, args)
        self.outcome.answers.append(answer)
        self.history.append(answer)
        if must_answer and answer.is_error:
            self.check(f"{tool} answers", False, answer.text[:300])
            raise _Stop
        return answer

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        self.outcome.checks.append(Check(name, bool(ok), str(detail)[:500]))
        return bool(ok)

    def require(self, name: str, ok: bool, detail: object = "") -> None:
        if not self.check(name, ok, detail):
            raise _Stop


# ---- reading item cards -------------------------------------------------------------------


def price(item: dict[str, Any]) -> float | None:
    value = item.get("price")
    if isinstance(value, dict):
        value = value.get("amount", value.get("value"))
    return float(value) if isinstance(value, int | float) else None


def category(item: dict[str, Any]) -> str:
    value = item.get("category")
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("path") or value.get("name") or "")
    return str(value or "")


def words(item: dict[str, Any]) -> str:
    """The item's name and any description the card carries, lower case."""
    parts = [item.get(k) for k in ("name", "description", "short_description", "summary")]
    return " ".join(str(p) for p in parts if p).casefold()


def reason(item: dict[str, Any]) -> str:
    value = item.get("reason")
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return str(value or "")


def is_brand(item: dict[str, Any], brand: str) -> bool:
    return str(item.get("brand") or "").casefold() == brand.casefold()


def is_leggings(item: dict[str, Any]) -> bool:
    return "leggings" in category(item).casefold() or bool(re.search(r"\blegging", words(item)))


def is_black(item: dict[str, Any]) -> bool:
    return bool(re.search(r"\bblack\b", words(item)))


def is_kids(item: dict[str, Any]) -> bool:
    return category(item).split("/")[0].strip().casefold() == "kids"


def _show(items: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{i.get('brand') or '-'} | {str(i.get('name'))[:40]} | {price(i)} | {category(i)}"
        for i in items
    )


def purchased(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries naming an item anywhere under a key about purchases or orders, one per item."""
    found: dict[str, dict[str, Any]] = {}

    def entries(node: Any) -> None:
        if isinstance(node, list):
            for x in node:
                entries(x)
        elif isinstance(node, dict):
            item_id = node.get("item_id") or node.get("itemId")
            if item_id is None and "name" in node:
                item_id = node.get("id")
            if isinstance(item_id, str):
                found.setdefault(item_id, {**node, "item_id": item_id})
            for value in node.values():
                entries(value)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if re.search(r"purchas|order", key, re.I) and isinstance(value, list | dict):
                    entries(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(context)
    return list(found.values())


# ---- the conversations --------------------------------------------------------------------


async def ava_yoga_under_50(t: Talk) -> None:
    """Issue 11 #1: a query must not switch personalization off; "under $50" is a limit."""
    got = await t.ask(
        "get_recommendations", {"individual": AVA, "query": "something for yoga under $50"}
    )
    items = got.items()
    t.require("items come back", items, got.text[:300])
    lulu = [i for i in items if is_brand(i, "Lululemon")]
    t.check("at least two Lululemon items (Ava's brand)", len(lulu) >= 2, _show(items))
    over = [i for i in items if (price(i) or 0) > 50]
    t.check("every item costs $50 or less", not over, _show(over))
    interpreted = (got.data or {}).get("interpreted")
    t.check(
        "`interpreted` states the $50 limit", interpreted and "50" in str(interpreted), interpreted
    )


async def ben_games_like_he_bought(t: Talk) -> None:
    """Issue 11 #4: get_context shows what Ben bought, so the agent can anchor on his game."""
    context = await t.ask("get_context", {"individual": BEN})
    bought = purchased(context.data or {})
    t.require("get_context lists Ben's purchases with item ids", bought, context.text[:400])
    t.check("purchases carry item names", all(b.get("name") for b in bought), bought)
    game = None
    for entry in bought:
        cat = category(entry)
        lookup = t.tools.input_properties("get_item")
        if not cat and lookup:
            key = "item_id" if "item_id" in lookup else sorted(lookup)[0]
            card = await t.ask("get_item", {key: entry["item_id"]}, must_answer=False)
            data = card.data or {}
            cat = category(data) or category(data.get("item") or {})
        if "video games" in cat.casefold():
            game = entry
            break
    t.require("one purchase is a video game", game is not None, bought)
    assert game is not None
    got = await t.ask(
        "get_recommendations",
        {"individual": BEN, "anchor_item_id": game["item_id"]},
    )
    items = got.items()
    nintendo = [i for i in items if is_brand(i, "Nintendo")]
    t.check("at least two Nintendo items", len(nintendo) >= 2, _show(items))
    again = [i for i in items if i.get("id") in {b["item_id"] for b in bought}]
    t.check("nothing he already bought", not again, _show(again))


async def dinosaur_gift_for_a_five_year_old(t: Talk) -> None:
    """Issue 11 #3: under a Kids filter, every item (exploration included) is a kids' item."""
    query = "a gift for a 5 year old who loves dinosaurs"
    seen: list[dict[str, Any]] = []
    for who in (AVA, BEN, None):
        args: dict[str, Any] = {"query": query, "filters": {"categories": ["Kids"]}, "limit": 12}
        if who:
            args["individual"] = who
        got = await t.ask("get_recommendations", args)
        items = got.items()
        t.check(f"items come back for {who or 'a visitor'}", items, got.text[:300])
        adult = [i for i in items if not is_kids(i)]
        t.check(f"only Kids items for {who or 'a visitor'}", not adult, _show(adult))
        seen += items
    dino = [i for i in seen if "dino" in words(i)]
    t.check("a dinosaur item is among them", dino, _show(seen[:12]))
    got = await t.ask("get_recommendations", {"individual": BEN, "query": query})
    kids = [i for i in got.items() if is_kids(i)]
    t.check(
        "without a filter, at least half are kids' items (the audience is understood)",
        got.items() and 2 * len(kids) >= len(got.items()),
        _show(got.items()),
    )


async def lululemon_leggings(t: Talk) -> None:
    """Issue 11 #2: query words rank, they do not become hidden hard filters."""
    got = await t.ask("search_catalog", {"catalog": {"query": "lululemon leggings"}})
    items = got.items()
    hits = [i for i in items if is_brand(i, "Lululemon") and is_leggings(i)]
    t.check("search finds at least three Lululemon leggings", len(hits) >= 3, _show(items))
    t.check(
        "search says it matched something",
        ((got.data or {}).get("pagination") or {}).get("total_count", len(items)) > 0,
        got.text[:200],
    )
    got = await t.ask("get_recommendations", {"individual": AVA, "query": "lululemon leggings"})
    items = got.items()
    hits = [i for i in items if is_brand(i, "Lululemon") and is_leggings(i)]
    t.check(
        "recommendations for Ava hold at least two Lululemon leggings", len(hits) >= 2, _show(items)
    )
    got = await t.ask(
        "get_recommendations",
        {"individual": AVA, "query": "lululemon leggings under 40"},
        must_answer=False,
    )
    items = got.items()
    hits = [i for i in items if is_brand(i, "Lululemon") and is_leggings(i)]
    t.check(
        "'under 40' still finds a Lululemon legging",
        hits,
        got.text[:300] if not items else _show(items),
    )
    over = [i for i in items if (price(i) or 0) > 40]
    t.check("'under 40' keeps every price at 40 or less", not over, _show(over))


async def ucp_catalog_knows_who_is_asking(t: Talk) -> None:
    """Issue 16: a UCP platform searches with the buyer's intent and a buyer, looks the first
    products up and opens one; the same intent without a buyer is nobody's in particular."""
    intent = "comfortable leggings for yoga under $60"
    catalog = {"context": {"intent": intent, "currency": "USD"}, "buyer": {"email": AVA}}
    got = await t.ask("search_catalog", {"catalog": catalog})
    items = got.items()
    t.require("products come back", items, got.text[:300])
    personal = (got.data or {}).get("personalization") or {}
    t.check("the answer is ranked for Ava", personal.get("personalized") is True, personal)
    over = [i for i in items if (price(i) or 0) > 60]
    t.check("the intent's $60 bounds every price", not over, _show(over))
    leggings = [i for i in items if is_leggings(i)]
    t.check("most products are leggings", 2 * len(leggings) >= len(items), _show(items))
    lulu = [i for i in items[:5] if is_brand(i, "Lululemon")]
    t.check("Lululemon (Ava's brand) is among her first five", lulu, _show(items[:5]))
    t.check("her first products say why", all(reason(i) for i in items[:3]), _show(items[:3]))
    anonymous = await t.ask("search_catalog", {"catalog": {"context": {"intent": intent}}})
    nobody = (anonymous.data or {}).get("personalization") or {}
    t.check("without a buyer it is not personalized", nobody.get("personalized") is False, nobody)
    t.check(
        "Ava's order is her own",
        [i["id"] for i in anonymous.items()] != [i["id"] for i in items],
        _show(anonymous.items()[:5]),
    )
    ids = [i["id"] for i in items[:3]]
    looked = await t.ask("lookup_catalog", {"catalog": {"ids": [*ids, "no-such-item"]}})
    t.check("lookup finds the products by id", [i["id"] for i in looked.items()] == ids, ids)
    missing = [m.get("code") for m in (looked.data or {}).get("messages") or []]
    t.check("an unknown id is a not_found message", missing == ["not_found"], missing)
    detail = await t.ask("get_product", {"catalog": {"id": ids[0]}})
    product = (detail.data or {}).get("product") or {}
    variants = product.get("variants") or [{}]
    t.check(
        "the product shows its variant's availability",
        product.get("id") == ids[0] and "available" in (variants[0].get("availability") or {}),
        detail.text[:300],
    )


async def reasons_a_shop_assistant_could_say(t: Talk) -> None:
    """Issue 11 #3: no internal reason reaches the shopper, in this run's answers or these."""
    requests = [
        {"individual": AVA, "limit": 12},
        {"individual": BEN, "limit": 12},
        {"limit": 12},
        {"individual": AVA, "query": "summer dress", "limit": 12},
        {"individual": BEN, "query": "nintendo switch", "limit": 12},
        {"query": "kitchen decor", "limit": 12},
        {"individual": AVA, "objective": "revenue", "limit": 12},
        {"individual": BEN, "recommender": "trending", "limit": 12},
    ]
    for args in requests:
        await t.ask("get_recommendations", args, must_answer=False)
    answers = [a for a in t.history if a.tool == "get_recommendations" and not a.is_error]
    reasons = [(str(a.args), reason(i)) for a in answers for i in a.items()]
    t.check("answers carry reasons", len(reasons) >= 40, f"{len(reasons)} reasons")
    bad = [r for r in reasons if any(w in r[1].casefold() for w in INTERNAL_WORDS)]
    t.check("no reason uses an internal word", not bad, bad[:5])
    empty = [r for r in reasons if not r[1].strip()]
    t.check("no reason is empty", not empty, f"{len(empty)} empty")


async def answers_are_bounded(t: Talk) -> None:
    """Every answer of the run fits a prompt: get_context 4 KB, lists ~1 KB per item."""
    await t.ask("get_context", {"individual": AVA})
    await t.ask("get_recommendations", {"individual": AVA, "limit": 24})
    await t.ask("search_catalog", {"catalog": {"query": "shoes", "pagination": {"limit": 20}}})
    too_big = []
    for a in t.history:
        bound = ANY_MAX_BYTES
        if a.tool == "get_context" and "max_bytes" not in a.args:
            bound = CONTEXT_MAX_BYTES
        elif a.items():
            bound = min(bound, LIST_BASE_BYTES + ITEM_MAX_BYTES * len(a.items()))
        if a.size > bound:
            too_big.append(f"{a.tool} {a.args}: {a.size} > {bound} bytes")
    t.check(f"all {len(t.history)} answers within their bound", not too_big, too_big[:5])


async def new_visitor_clicks_are_kept(t: Talk) -> None:
    """Issue 11 #5: a device never seen before gets answers, and what it clicks is kept."""
    device = f"conv-visitor-{uuid.uuid4().hex[:10]}"
    got = await t.ask(
        "get_recommendations", {"individual": device, "query": "running shoes"}, must_answer=False
    )
    t.check(
        "a new device id still gets items (anonymously)",
        not got.is_error and got.items(),
        got.text[:300],
    )
    if got.is_error or not got.items():
        got = await t.ask("get_recommendations", {"query": "running shoes"})
    clicked = got.items()[:2]
    for item in clicked:
        extra = {"personalizationId": (got.data or {}).get("personalizationId")}
        if item.get("personalizationContentId"):
            extra["personalizationContentId"] = item["personalizationContentId"]
        done = await _record(t, device, "item_clicked", item_id=item["id"], **extra)
        t.check(f"the click on {item['id']} is recorded", not done.is_error, done.text[:300])
    fake = await _record(
        t, AVA, "item_clicked", item_id=clicked[0]["id"], personalizationContentId="made-up:0"
    )
    t.check(
        "a made-up personalizationContentId is refused, saying so",
        fake.is_error and "content" in fake.text.casefold(),
        fake.text[:300],
    )
    context = await t.ask("get_context", {"individual": device}, must_answer=False)
    t.require("get_context knows the visitor afterwards", not context.is_error, context.text[:300])
    shown = [
        i for i in clicked if i["id"] in context.text or (i.get("name") or "\0") in context.text
    ]
    t.check(
        "get_context shows the clicked items (by id or name)",
        len(shown) == len(clicked),
        context.text[:600],
    )


async def only_wears_black(t: Talk) -> None:
    """Issue 11 #6: a stated preference changes the next answer (black items rise)."""
    asks = [{"individual": AVA, "limit": 12}, {"individual": AVA, "query": "leggings", "limit": 12}]
    before = [(await t.ask("get_recommendations", a)).items() for a in asks]
    done = await _record(t, AVA, "stated_preference", preference="only wears black")
    t.require("the preference is recorded", not done.is_error, done.text[:300])
    after = [(await t.ask("get_recommendations", a)).items() for a in asks]
    for args, old, new in zip(asks, before, after, strict=True):
        label = f"query {args['query']!r}" if "query" in args else "no query"
        n_old, n_new = sum(map(is_black, old)), sum(map(is_black, new))
        t.check(
            f"more black items after the preference ({label})",
            n_new > n_old,
            f"{n_old} -> {n_new} of {len(new)}: {_show([i for i in new if is_black(i)])}",
        )


async def _record(t: Talk, individual: str, kind: str, **fields: Any) -> Answer:
    """record_interaction with one interaction, in whichever form the tool declares."""
    one = {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
    props = t.tools.input_properties("record_interaction")
    if "kind" in props or not props:
        return await t.ask(
            "record_interaction", {"individual": individual, **one}, must_answer=False
        )
    key = next((p for p in ("interactions", "events", "items") if p in props), "interactions")
    return await t.ask(
        "record_interaction", {"individual": individual, key: [one]}, must_answer=False
    )


Conversation = Callable[[Talk], Awaitable[None]]

# Read-only first, then the two that change profiles, then the two that judge every answer.
CONVERSATIONS: dict[str, Conversation] = {
    "ava_yoga_under_50": ava_yoga_under_50,
    "ben_games_like_he_bought": ben_games_like_he_bought,
    "dinosaur_gift_for_a_five_year_old": dinosaur_gift_for_a_five_year_old,
    "lululemon_leggings": lululemon_leggings,
    "ucp_catalog_knows_who_is_asking": ucp_catalog_knows_who_is_asking,
    "new_visitor_clicks_are_kept": new_visitor_clicks_are_kept,
    "only_wears_black": only_wears_black,
    "reasons_a_shop_assistant_could_say": reasons_a_shop_assistant_could_say,
    "answers_are_bounded": answers_are_bounded,
}


async def run_conversations(tools: Tools, names: list[str] | None = None) -> dict[str, Outcome]:
    """Run the conversations (all, or `names`, in the registry's order) on one tenant."""
    history: list[Answer] = []
    out: dict[str, Outcome] = {}
    for name, script in CONVERSATIONS.items():
        if names is not None and name not in names:
            continue
        outcome = Outcome(name)
        try:
            await script(Talk(tools, outcome, history))
        except _Stop:
            pass
        except Exception as exc:  # a script reading an answer it did not expect: a failure
            outcome.error = f"{type(exc).__name__}: {exc}"
        out[name] = outcome
    return out
