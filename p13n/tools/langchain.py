"""The LangChain face of the registry: one `StructuredTool` per action, no LLM involved.

Each tool's `args_schema` is the action's input model and it returns the output as a JSON-ready
dict. Errors the model can fix come back as the tool's text answer (`handle_tool_error`), as
MCP returns them as `isError` results; unexpected failures say "unexpected error" only.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import ValidationError

from p13n.domain.errors import P13nError
from p13n.tools.actions import ACTIONS
from p13n.tools.context import ToolContext
from p13n.tools.registry import Action, describe_errors

__all__ = ["get_tools"]

log = logging.getLogger("p13n.tools.langchain")


def _bad_arguments(exc: ValidationError) -> str:
    return f"invalid arguments: {describe_errors(exc)}. Fix those fields and call again."


def _tool(action: Action[Any, Any], context: ToolContext) -> StructuredTool:
    def run(**arguments: Any) -> dict[str, Any]:
        try:
            out = action.invoke(context, arguments)
        except P13nError as exc:
            raise ToolException(str(exc)) from None
        except Exception:
            log.exception("action %r failed unexpectedly", action.name)
            raise ToolException(
                "unexpected error in p13n; nothing was changed by this call. Retry once."
            ) from None
        data: dict[str, Any] = out.model_dump(mode="json")
        return data

    return StructuredTool.from_function(
        func=run,
        name=action.name,
        description=action.description,
        args_schema=action.input_model,
        infer_schema=False,
        handle_tool_error=True,
        handle_validation_error=_bad_arguments,
    )


def get_tools(context: ToolContext) -> list[StructuredTool]:
    """Every registry action as a LangChain tool bound to `context`."""
    return [_tool(action, context) for action in ACTIONS]
