"""Finding the person an agent names.

Reads answer for anyone: `resolve_person` gives None for an identifier no profile has, and the
read answers anonymously, saying so with `unknown_person_note`. Writes never lose a visitor:
`recording_subject` takes an identifier never seen before as a new visitor's device id, so the
first recorded event creates their anonymous profile (an email, phone or unified id nobody has is
refused: claiming an identity is the identity events' job, not the agent's).
"""

from __future__ import annotations

import re

from p13n.domain.errors import NotFound
from p13n.tools.context import ToolContext

__all__ = ["resolve_person", "unknown_person_note", "recording_subject"]

_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
_UNIFIED_ID = re.compile(r"^u-[0-9a-f]{24}$")


def resolve_person(ctx: ToolContext, identifier: str) -> str | None:
    """The unified id for any identifier, or None when no profile answers to it."""
    uid = ctx.engine.resolve(identifier.strip())
    if uid is None or ctx.engine.load_profile(uid) is None:
        return None
    return uid


def unknown_person_note(identifier: str) -> str:
    """What a read says when nobody answers to `identifier` (it then answers anonymously)."""
    return (
        f"unknown: no person known as '{identifier}' yet, so this answer is not personalized. "
        "Treat them as a new visitor; record_interaction with this identifier creates their "
        "profile."
    )


def recording_subject(ctx: ToolContext, identifier: str) -> tuple[str | None, dict[str, str]]:
    """(unified id or None, the event fields naming the person) for recording an interaction.

    A known person is named by their individual id when they have one, else a device id; an
    identifier nobody has is sent as a device id (`NotFound` if it is an email, a phone or a
    unified id: those name someone who must exist already).
    """
    ident = identifier.strip()
    uid = resolve_person(ctx, ident)
    if uid is not None:
        profile = ctx.engine.get_profile(uid)
        for kind in ("individualId", "deviceId"):
            for identity in profile.identities:
                if identity.type == kind:
                    return uid, {kind: identity.value}
        return uid, {"individualId": uid}
    if "@" in ident or _PHONE.match(ident) or _UNIFIED_ID.match(ident):
        raise NotFound(
            f"no person known as '{identifier}'.",
            hint="An email or phone joins a profile through the store's identity events; to "
            "record what a new visitor does, use their device id (or any stable id of this "
            "conversation) as `individual`.",
        )
    return None, {"deviceId": ident}
