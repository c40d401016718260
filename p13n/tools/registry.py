"""The registry of agent actions: each defined once, adapted by `mcp.py`, `langchain.py` and REST.

An action is a pydantic input model, a pydantic output model and one function over the domain.
`Action.invoke` validates raw arguments with the input model, so every adapter rejects bad input
the same way: `InvalidInput` naming the fields and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from p13n.domain.errors import InvalidInput, NotFound
from p13n.tools.context import ToolContext

__all__ = ["Action", "ToolHints", "describe_errors"]

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class ToolHints(BaseModel):
    """The MCP tool annotations, protocol-neutral (`readOnlyHint` and friends)."""

    model_config = ConfigDict(frozen=True)

    read_only: bool = Field(description="The tool changes nothing.")
    idempotent: bool = Field(
        description="Calling again with the same arguments changes nothing more."
    )
    destructive: bool = Field(default=False, description="The tool may delete or overwrite data.")
    open_world: bool = Field(default=False, description="The tool reaches outside this tenant.")


def describe_errors(exc: ValidationError) -> str:
    """`field: problem; ...` for the first few problems, as a model would want to read them."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Action(Generic[In, Out]):
    name: str
    title: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    run: Callable[[ToolContext, In], Out]
    hints: ToolHints

    def parse(self, arguments: Mapping[str, Any] | None) -> In:
        try:
            return self.input_model.model_validate(dict(arguments or {}))
        except ValidationError as exc:
            raise InvalidInput(
                f"invalid arguments for {self.name}: {describe_errors(exc)}.",
                hint="Fix those fields (the tool's input schema describes each) and call again.",
            ) from None

    def invoke(self, ctx: ToolContext, arguments: Mapping[str, Any] | None) -> Out:
        """Validate `arguments` and run; raises `P13nError` for what the caller can fix."""
        return self.run(ctx, self.parse(arguments))


def unknown_action(name: str, known: list[str]) -> NotFound:
    return NotFound(f"no action '{name}'.", hint=f"Known actions: {', '.join(known)}.")
