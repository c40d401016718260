"""The actions an agent can call, in the order they are listed to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from p13n.domain.errors import InvalidInput
from p13n.tools.catalog_lookup import get_product, lookup_catalog
from p13n.tools.decisions import (
    GetDecisionsInput,
    GetDecisionsOutput,
    get_personalization_decisions,
)
from p13n.tools.facets import ListFacetsInput, ListFacetsOutput, list_catalog_facets
from p13n.tools.interactions import (
    RecordInteractionInput,
    RecordInteractionOutput,
    record_interaction,
)
from p13n.tools.items import GetItemInput, ItemDetails, get_item
from p13n.tools.performance import GetPerformanceInput, GetPerformanceOutput, get_performance
from p13n.tools.profile_context import GetContextInput, GetContextOutput, get_context
from p13n.tools.recommendations import (
    GetRecommendationsInput,
    GetRecommendationsOutput,
    get_recommendations,
)
from p13n.tools.registry import Action, ToolHints, unknown_action
from p13n.tools.search_catalog import search_catalog
from p13n.tools.ucp_shapes import (
    GetProductInput,
    GetProductOutput,
    LookupCatalogInput,
    LookupCatalogOutput,
    SearchCatalogInput,
    SearchCatalogOutput,
)
from p13n.tools.untrusted import UNTRUSTED_NOTE

__all__ = ["ACTIONS", "get_action", "action_names"]

_READ = ToolHints(read_only=True, idempotent=True)

_ACTIONS: tuple[Action[Any, Any], ...] = (
    Action(
        name="get_recommendations",
        title="Get recommendations",
        description=(
            "Recommend catalog items for one person (or for nobody in particular). Use it when "
            "the person wants ideas, asks for something ('a gift under $50', 'boots like these'), "
            "or when you want to show items next to an answer. Pass their identifier (device id, "
            "individual id, unified id, email or phone), optionally their request as `query`, an "
            "item they look at as `anchor_item_id`, and filters. Returns items with id, name, "
            "price, currency, url, image URL and a one-line reason, plus `personalizationId` and "
            "per item `personalizationContentId`: pass those to record_interaction when you "
            "show an item or the person clicks or carts it."
        ),
        input_model=GetRecommendationsInput,
        output_model=GetRecommendationsOutput,
        run=get_recommendations,
        hints=_READ.model_copy(update={"idempotent": False}),
    ),
    Action(
        name="get_context",
        title="Get person context",
        description=(
            "Brief yourself on a person before you answer them: known or anonymous, first name, "
            "segments, orders and lifetime revenue, recent orders with the items bought (ids, "
            "names, dates, amounts: pass a bought item as anchor_item_id for 'more like what I "
            "bought'), top categories and brands in the catalog's words, stated preferences, "
            "cart, recently viewed items, a summary of recent activity, and consent. Use it at "
            "the start of a conversation or when you need to know what they like. Someone not "
            "known yet gets `found: false` and an empty context. Personal data is masked unless "
            "your credential has the `pii` scope; the answer stays under about 4 KB and "
            "`omitted` says what was left out."
        ),
        input_model=GetContextInput,
        output_model=GetContextOutput,
        run=get_context,
        hints=_READ,
    ),
    Action(
        name="search_catalog",
        title="Search the catalog (UCP)",
        description=(
            "Search the store's catalog: the Universal Commerce Protocol's catalog search "
            "(arguments `{meta, catalog}` as UCP's MCP binding has them). Put the person's "
            "words in `catalog.query` and/or their need in `catalog.context.intent` ('a gift "
            "under $50': prices, brands, categories, colours and sizes in it are applied), "
            "filters in `catalog.filters` (categories, price in minor units, brands), and who "
            "is shopping in `catalog.buyer` {id | email | phone_number} to rank for them. "
            "Returns UCP products (id, title, price in minor units, variants with "
            "availability, media) with `metadata.reason` and `metadata."
            "personalizationContentId`, `personalization.personalizationId` for "
            "record_interaction, and `pagination.cursor` for the next page."
        ),
        input_model=SearchCatalogInput,
        output_model=SearchCatalogOutput,
        run=search_catalog,
        hints=_READ.model_copy(update={"idempotent": False}),
    ),
    Action(
        name="lookup_catalog",
        title="Look up catalog products (UCP)",
        description=(
            "Look up one or more products or variants by id: the Universal Commerce "
            "Protocol's catalog lookup (`{meta, catalog: {ids}}`, 1-50 ids, as returned by "
            "search_catalog or any other answer). Returns each found product once with its "
            "variant, price in minor units and availability; each variant's `inputs` say "
            "which requested ids it answers. Ids that match nothing are `not_found` messages, "
            "not an error."
        ),
        input_model=LookupCatalogInput,
        output_model=LookupCatalogOutput,
        run=lookup_catalog,
        hints=_READ,
    ),
    Action(
        name="get_product",
        title="Get a product (UCP)",
        description=(
            "One product in full detail: the Universal Commerce Protocol's get_product "
            "(`{meta, catalog: {id}}` with a product or variant id; optional `selected` "
            "options). Returns the full description, options with availability signals, the "
            "purchasable variant with price in minor units and stock, and recent views and "
            "sales in `metadata`. An unknown id answers `ucp.status: error` with `not_found` "
            "(do not retry the same id)."
        ),
        input_model=GetProductInput,
        output_model=GetProductOutput,
        run=get_product,
        hints=_READ,
    ),
    Action(
        name="get_item",
        title="Get an item",
        description=(
            "Look up one catalog item by its id (the `id` of an item in any answer, e.g. "
            "'m-42344') when the person asks about it: name, brand, price with currency, url, "
            "image URL, category, availability, the full description, condition, size and other "
            "attributes. An unknown id is an error: find ids with search_catalog."
        ),
        input_model=GetItemInput,
        output_model=ItemDetails,
        run=get_item,
        hints=_READ,
    ),
    Action(
        name="list_catalog_facets",
        title="List the catalog's vocabulary",
        description=(
            "The store's own words, so filters and names match: category levels with item "
            "counts (the top levels, or the subcategories of `category`), the main brands, the "
            "price range and the currency every price is in, plus the personalization points "
            "get_personalization_decisions takes and the recommender names. Use it before "
            "filtering by category or brand, or when a filter was refused as unknown."
        ),
        input_model=ListFacetsInput,
        output_model=ListFacetsOutput,
        run=list_catalog_facets,
        hints=_READ,
    ),
    Action(
        name="get_personalization_decisions",
        title="Get personalization decisions",
        description=(
            "Decide what to show at named personalization points in the agent channel, exactly "
            "as the website's decisioning does (targeting rules, experiments, recommenders, "
            "manual content). Use it when the store has configured points (e.g. "
            "'home_recommendations'; list_catalog_facets lists them) and you want what the "
            "store would show there; for free-form item suggestions use get_recommendations. "
            "Returns per point the items (each with personalizationContentId), manual content "
            "texts, and diagnostics (201 = nothing qualified). An unknown point is an error "
            "naming the closest ones."
        ),
        input_model=GetDecisionsInput,
        output_model=GetDecisionsOutput,
        run=get_personalization_decisions,
        hints=ToolHints(read_only=True, idempotent=False),
    ),
    Action(
        name="record_interaction",
        title="Record an interaction",
        description=(
            "Tell the engine what happened in the conversation so the person's profile updates "
            "at once: an item was shown, clicked or added to the cart, or the person stated a "
            "preference ('prefers vegan products'). Use it after showing recommendations (all "
            "the items shown in one call, as `interactions`) and whenever the person says what "
            "they like or need. Pass personalizationId and personalizationContentId exactly as "
            "get_recommendations returned them. A new visitor's identifier gets a profile on "
            "the first call. Returns the recorded events and the person's stated preferences."
        ),
        input_model=RecordInteractionInput,
        output_model=RecordInteractionOutput,
        run=record_interaction,
        hints=ToolHints(read_only=False, idempotent=False, destructive=False),
    ),
    Action(
        name="get_performance",
        title="Get personalization performance",
        description=(
            "How personalization did over the last `days` days, for a store manager or "
            "analyst: impressions, clicks, click rate, add-to-carts, orders and attributed "
            "revenue by point (default), recommender, decision, experiment cohort, channel or "
            "day, best earners first, with a summary in plain words. Use it for 'how is the "
            "summer banner doing?' (point='summer banner') or 'which recommender sells more?' "
            "(by='recommender'). Conversions are credited by last touch on what the person "
            "was shown within 7 days unless you choose another model. For 'how is experiment "
            "X doing?' pass experiment='X': units per cohort, lift against the control and "
            "the verdict per metric. Needs the `analyst` scope."
        ),
        input_model=GetPerformanceInput,
        output_model=GetPerformanceOutput,
        run=get_performance,
        hints=_READ,
        scope="analyst",
    ),
)

# The answers that carry catalog text (item names, descriptions) or what shoppers said
# (profile attributes, stated preferences) say so in the description the agent reads.
_CARRY_UNTRUSTED_TEXT = frozenset(
    {
        "get_recommendations",
        "get_context",
        "search_catalog",
        "lookup_catalog",
        "get_product",
        "get_item",
        "list_catalog_facets",
        "get_personalization_decisions",
        "record_interaction",
    }
)
ACTIONS: tuple[Action[Any, Any], ...] = tuple(
    replace(a, description=f"{a.description} {UNTRUSTED_NOTE}")
    if a.name in _CARRY_UNTRUSTED_TEXT
    else a
    for a in _ACTIONS
)
_BY_NAME = {a.name: a for a in ACTIONS}


def action_names() -> list[str]:
    return [a.name for a in ACTIONS]


def tool_names(names: Iterable[str]) -> list[str]:
    """`names` (a key's allowed tools) checked against the actions: InvalidInput naming the
    first unknown one, with the nearest known name."""
    known = action_names()
    for name in names:
        if name not in _BY_NAME:
            raise InvalidInput(f"no tool '{name}'.", hint=unknown_action(name, known).hint)
    return sorted(set(names))


def get_action(name: str) -> Action[Any, Any]:
    action = _BY_NAME.get(name)
    if action is None:
        raise unknown_action(name, action_names())
    return action
