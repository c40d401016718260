"""Call the p13n agent tools as LangChain tools, without an LLM.

    p13n seed demo && p13n train          # once: the demo tenant under ./.p13n
    python examples/langchain_tools.py [IDENTIFIER]

The same `StructuredTool`s can be handed to any LangChain agent (`llm.bind_tools(tools)`);
here they are invoked directly, the way an agent's tool calls would invoke them.
"""

from __future__ import annotations

import json
import sys

from p13n.server import open_services
from p13n.tools.langchain import get_tools


def main() -> None:
    who = sys.argv[1] if len(sys.argv) > 1 else "shopper1@example.com"
    with open_services() as services:
        tools = {t.name: t for t in get_tools(services.tool_context())}
        print("tools:", ", ".join(tools))

        context = tools["get_context"].invoke({"individual": who})
        if isinstance(context, str):  # an error the model could fix, e.g. an unknown person
            sys.exit(context)
        print(f"\n{context['first_name'] or 'anonymous'}: {context['engagement']['summary']}")

        recs = tools["get_recommendations"].invoke(
            {"individual": who, "query": "leggings under 60", "limit": 3}
        )
        print("\nrecommended:")
        for item in recs["items"]:
            print(f"  {item['name']} — {item['price']} {item['currency'] or ''} ({item['reason']})")

        found = tools["search_catalog"].invoke(  # the UCP catalog search, ranked for `buyer`
            {
                "catalog": {
                    "query": "nintendo switch",
                    "buyer": {"email": who},
                    "pagination": {"limit": 2},
                }
            }
        )
        print("\nsearch:", json.dumps([p["title"] for p in found["products"]]))

        shown = recs["items"][0] if recs["items"] else None
        if shown is not None:
            done = tools["record_interaction"].invoke(
                {
                    "individual": who,
                    "kind": "item_shown",
                    "item_id": shown["id"],
                    "personalizationId": recs["personalizationId"],
                    "personalizationContentId": shown["personalizationContentId"],
                }
            )
            print("\nrecorded:", *(f"{r['interaction']} {r['event_id']}" for r in done["recorded"]))


if __name__ == "__main__":
    main()
