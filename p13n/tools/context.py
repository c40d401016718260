"""What every action runs with: the engine, the services, and who is calling.

The caller is anything with `allows(scope)` and `can_see_pii` — the access package's
`Principal` fits, and so does `LocalCaller`, the trust given to someone running `p13n mcp`
on their own machine (stdio has no credentials; masking still applies unless `--pii`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from p13n.domain.services import DecisionService, Engine, MeasureService, RecommendService

__all__ = ["Caller", "LocalCaller", "ToolContext"]


class Caller(Protocol):
    """The scopes of whoever calls a tool (structurally, `p13n.domain.access.Principal`)."""

    def allows(self, scope: Any) -> bool: ...

    def may_call(self, tool: str) -> bool: ...

    @property
    def can_see_pii(self) -> bool: ...


@dataclass(frozen=True)
class LocalCaller:
    """A local, credential-less caller (stdio, scripts): every scope except `pii` unless given."""

    pii: bool = False

    def allows(self, scope: Any) -> bool:
        return str(scope) != "pii" or self.pii

    def may_call(self, tool: str) -> bool:
        return True

    @property
    def can_see_pii(self) -> bool:
        return self.pii


@dataclass(frozen=True)
class ToolContext:
    """One call's dependencies. `decisions` is the decision service and `measure` the
    attribution reports when configured; `cursor_secret` signs the UCP search's pagination
    cursors (None: a secret of this process, so cursors do not outlive it); `consent_url` is
    the store's consent page (`{individual}` replaced), where a client can send a person whose
    tracking consent is not known."""

    engine: Engine
    recommend: RecommendService
    caller: Caller = LocalCaller()
    decisions: DecisionService | None = None
    measure: MeasureService | None = None
    channel: str = "agent"
    share_first_name: bool = True  # tenant policy: first names without the `pii` scope
    cursor_secret: bytes | None = None
    consent_url: str | None = None
