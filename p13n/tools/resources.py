"""What the MCP resources serve, as plain JSON-ready data (the adapters only wrap it).

`p13n://profiles/{id}` is the person's context as `get_context` gives it (masked by the
caller's scopes, bounded at 16 KB); `p13n://items/{id}` the item as `get_item` gives it plus its
insights; `p13n://catalog/categories` the category tree with item counts (in-stock items only,
two levels deep, top levels by size); `p13n://catalog/facets` what `list_catalog_facets` answers
for the whole catalog; `p13n://personalization/points` the points an agent may ask decisions for.
"""

from __future__ import annotations

from typing import Any

from p13n.domain.errors import NotFound
from p13n.tools.context import ToolContext
from p13n.tools.facets import ListFacetsInput, list_catalog_facets, points_facet
from p13n.tools.items import find_item, item_details
from p13n.tools.profile_context import GetContextInput, get_context

__all__ = [
    "profile_resource",
    "item_resource",
    "categories_resource",
    "facets_resource",
    "points_resource",
    "PROFILE_RESOURCE_BYTES",
]

PROFILE_RESOURCE_BYTES = 16_384


def profile_resource(ctx: ToolContext, identifier: str) -> dict[str, Any]:
    out = get_context(ctx, GetContextInput(individual=identifier, max_bytes=PROFILE_RESOURCE_BYTES))
    if not out.found:  # a resource names something that exists; the tool answers for anyone
        raise NotFound(f"no person known as '{identifier}'.")
    return out.model_dump(mode="json")


def item_resource(ctx: ToolContext, item_id: str) -> dict[str, Any]:
    item = find_item(ctx, item_id)
    _, graph = ctx.engine.get_item(item.id)
    data = item_details(item).model_dump(mode="json")
    data["insights"] = graph.insights(ctx.engine.now()).model_dump(mode="json")
    return data


def facets_resource(ctx: ToolContext) -> dict[str, Any]:
    return list_catalog_facets(ctx, ListFacetsInput()).model_dump(mode="json")


def points_resource(ctx: ToolContext) -> dict[str, Any]:
    return {"points": [p.model_dump(mode="json") for p in points_facet(ctx)]}


def categories_resource(ctx: ToolContext) -> dict[str, Any]:
    tops: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    for item in ctx.engine.state.items.values():
        if not item.category or not item.in_stock or item.placeholder:
            continue
        parts = item.category.split("/")
        counts[parts[0]] = counts.get(parts[0], 0) + 1
        subs = tops.setdefault(parts[0], {})
        if len(parts) > 1:
            subs[parts[1]] = subs.get(parts[1], 0) + 1
    return {
        "categories": [
            {
                "name": top,
                "items": counts[top],
                "subcategories": [
                    {"name": f"{top}/{sub}", "items": n}
                    for sub, n in sorted(tops[top].items(), key=lambda kv: (-kv[1], kv[0]))
                ],
            }
            for top in sorted(counts, key=lambda t: (-counts[t], t))
        ]
    }
