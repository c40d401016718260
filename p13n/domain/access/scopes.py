"""Scopes: what a credential may do, and which scope implies which.

`admin` implies every scope except `pii`; `decide` implies `public`; `analyst` reads analytics
and metrics only (a key for a dashboard or a Prometheus scraper). `pii` is never implied:
unmasking personal data in agent tools must be granted on purpose, so that an admin key handed
to an agent does not leak emails and phone numbers by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from p13n.domain.errors import InvalidInput

__all__ = ["Scope", "ALL_SCOPES", "IMPLIED", "effective_scopes", "parse_scopes"]


class Scope(StrEnum):
    PUBLIC = "public"
    """Events and unauthenticated decisions: safe to embed in a web page."""
    DECIDE = "decide"
    """Authenticated decisions, experiment assignment, profile and item reads, recommendations."""
    ADMIN = "admin"
    """Configuration, catalog writes, imports, identity administration."""
    AGENT = "agent"
    """MCP (`/mcp`) and the agent actions (`/actions/*`)."""
    PII = "pii"
    """Unmasks personal data (email, phone, address) in agent tools."""
    ANALYST = "analyst"
    """Read-only analytics (`GET /analytics/*`) and Prometheus metrics (`GET /metrics`)."""


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)

IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.PUBLIC: frozenset({Scope.PUBLIC}),
    Scope.DECIDE: frozenset({Scope.DECIDE, Scope.PUBLIC}),
    Scope.ADMIN: frozenset({Scope.ADMIN, Scope.DECIDE, Scope.PUBLIC, Scope.AGENT, Scope.ANALYST}),
    Scope.AGENT: frozenset({Scope.AGENT}),
    Scope.PII: frozenset({Scope.PII}),
    Scope.ANALYST: frozenset({Scope.ANALYST}),
}


def effective_scopes(granted: Iterable[Scope]) -> frozenset[Scope]:
    """Every scope the granted ones allow, implications included."""
    out: set[Scope] = set()
    for scope in granted:
        out |= IMPLIED[scope]
    return frozenset(out)


def parse_scopes(names: Iterable[str]) -> frozenset[Scope]:
    """Scope names as typed by a person (`--scope admin`), validated; unknown names are an error."""
    out: set[Scope] = set()
    for raw in names:
        for name in raw.replace(",", " ").split():
            try:
                out.add(Scope(name.strip().lower()))
            except ValueError:
                known = ", ".join(s.value for s in Scope)
                raise InvalidInput(
                    f"unknown scope {name!r}.", hint=f"Use one of: {known}."
                ) from None
    if not out:
        known = ", ".join(s.value for s in Scope)
        raise InvalidInput("a key needs at least one scope.", hint=f"Use one or more of: {known}.")
    return frozenset(out)
