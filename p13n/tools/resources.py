"""What the MCP resources serve, as plain JSON-ready data (the adapters only wrap it).

`p13n://profiles/{id}` is the person's context as `get_context` gives it (masked by the
caller's scopes, bounded at 16 KB); `p13n://items/{id}` an item's fields and insights;
`p13n://catalog/categories` the category tree with item counts (in-stock items only, two
levels deep, top levels by size).
"""

from __future__ import annotations

from typing import Any

from p13n.tools.context import ToolContext
from p13n.tools.profile_context import GetContextInput, get_context

__all__ = ["profile_resource", "item_resource", "categories_resource", "PROFILE_RESOURCE_BYTES"]

PROFILE_RESOURCE_BYTES = 16_384


def profile_resource(ctx: ToolContext, identifier: str) -> dict[str, Any]:
    out = get_context(ctx, GetContextInput(individual=identifier, max_bytes=PROFILE_RESOURCE_BYTES))
    return out.model_dump(mode="json")


def item_resource(ctx: ToolContext, item_id: str) -> dict[str, Any]:
    item, graph = ctx.engine.get_item(item_id)
    data = item.model_dump(mode="json", exclude={"placeholder"})
    data["insights"] = graph.insights(ctx.engine.now()).model_dump(mode="json")
    return data


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
