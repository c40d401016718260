"""Who is calling: an API key or a JWT subject, with the scopes it was granted."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.access.scopes import Scope, effective_scopes

__all__ = ["Principal"]


class Principal(BaseModel):
    """The authenticated caller. `scopes` are the granted scopes; `allows` applies implications
    (an `admin` key may read profiles), so check with `allows`, not with `in scopes`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["api_key", "jwt"]
    subject: str = Field(description="The key id (`key_…`) or the JWT `sub` claim.")
    scopes: frozenset[Scope] = Field(description="Scopes as granted, before implications.")
    label: str | None = Field(default=None, description="The key's label; None for JWTs.")
    tools: frozenset[str] | None = Field(
        default=None, description="The agent tools it may call; None: every tool."
    )

    def allows(self, scope: Scope | str) -> bool:
        return Scope(scope) in effective_scopes(self.scopes)

    def may_call(self, tool: str) -> bool:
        """An agent key limited to some tools calls only those (its scopes still apply)."""
        return self.tools is None or tool in self.tools

    @property
    def can_see_pii(self) -> bool:
        """Personal data is unmasked only with the `pii` scope (never implied by another)."""
        return Scope.PII in self.scopes
