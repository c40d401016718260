"""Finding the person an agent names, with an error the model can act on."""

from __future__ import annotations

from p13n.domain.errors import NotFound
from p13n.tools.context import ToolContext

__all__ = ["resolve_person"]


def resolve_person(ctx: ToolContext, identifier: str) -> str:
    """The unified id for any identifier, or `NotFound` saying what to try instead."""
    uid = ctx.engine.resolve(identifier.strip())
    if uid is None or ctx.engine.load_profile(uid) is None:
        raise NotFound(
            f"no person known as '{identifier}'.",
            hint="Check the identifier (a device id, individual id, unified id, email or phone "
            "that has sent a tracked event); for a new visitor call get_recommendations without "
            "`individual`.",
        )
    return uid
