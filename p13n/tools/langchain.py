"""The LangChain face of the registry: one `StructuredTool` per action, no LLM involved.

Each tool's `args_schema` is the action's strict input schema (a JSON schema dict that passes
OpenAI's strict mode and Anthropic's strict tool use, with the context's recommender and point
names as enums), so `bind_tools(tools, strict=True)` works with either vendor. LangChain does not
validate a dict schema: the arguments go to `Action.invoke` as the model sent them, and are
validated there exactly as over MCP (nulls and empties read as "not given"). The tool returns
the output as a JSON-ready dict. Errors the model can fix come back as the tool's text answer
(`handle_tool_error`), as MCP returns them as `isError` results; unexpected failures say
"unexpected error" only.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.tools import StructuredTool, ToolException

from p13n.domain.errors import P13nError
from p13n.tools.actions import ACTIONS
from p13n.tools.context import ToolContext
from p13n.tools.registry import Action
from p13n.tools.untrusted import clean_error

__all__ = ["get_tools"]

log = logging.getLogger("p13n.tools.langchain")


def _tool(action: Action[Any, Any], context: ToolContext) -> StructuredTool:
    def run(**arguments: Any) -> dict[str, Any]:
        try:
            return action.answer(context, arguments)
        except P13nError as exc:
            raise ToolException(clean_error(str(exc))) from None
        except Exception:
            log.exception("action %r failed unexpectedly", action.name)
            raise ToolException(
                "unexpected error in p13n; nothing was changed by this call. Retry once."
            ) from None

    return StructuredTool.from_function(
        func=run,
        name=action.name,
        description=action.description,
        args_schema=action.input_schema(context, strict=True),
        infer_schema=False,
        handle_tool_error=True,
    )


def get_tools(context: ToolContext) -> list[StructuredTool]:
    """Every registry action as a LangChain tool bound to `context`."""
    return [_tool(action, context) for action in ACTIONS]
