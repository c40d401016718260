"""Calling the agent tools in-process as an agent would (arguments as JSON-like keywords,
validated and normalised by the action), shared by the query test modules."""

from __future__ import annotations

from typing import Any

from p13n.tools import ToolContext, get_action

__all__ = ["ask", "search"]


def ask(ctx: ToolContext, **args: Any) -> Any:
    """get_recommendations"""
    return get_action("get_recommendations").invoke(ctx, args)


def search(ctx: ToolContext, **args: Any) -> Any:
    """search_catalog"""
    return get_action("search_catalog").invoke(ctx, args)
