"""The agent actions, each defined once (pydantic input, pydantic output, one function over the
domain), listed in a registry that `mcp.py`, `langchain.py` and `POST /actions/{name}` adapt."""

from p13n.tools.actions import ACTIONS, action_names, get_action, tool_names
from p13n.tools.context import Caller, LocalCaller, ToolContext
from p13n.tools.experiment_reading import (
    ExperimentList,
    list_experiments,
    read_experiment,
    verdict_lines,
)
from p13n.tools.registry import Action, ToolHints, describe_errors
from p13n.tools.schema import inline_refs
from p13n.tools.ucp_cursor import load_or_create_secret
from p13n.tools.ucp_shapes import (
    UCP_VERSION,
    CatalogLookupRequest,
    CatalogProductRequest,
    CatalogSearchRequest,
    UcpProtocolError,
    business_profile,
)

__all__ = [
    "ACTIONS",
    "Action",
    "describe_errors",
    "Caller",
    "LocalCaller",
    "ToolContext",
    "ExperimentList",
    "list_experiments",
    "read_experiment",
    "verdict_lines",
    "ToolHints",
    "action_names",
    "tool_names",
    "get_action",
    "inline_refs",
    "load_or_create_secret",
    "UCP_VERSION",
    "CatalogLookupRequest",
    "CatalogProductRequest",
    "CatalogSearchRequest",
    "UcpProtocolError",
    "business_profile",
]
