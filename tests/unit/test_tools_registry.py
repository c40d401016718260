"""The tools layer: one registry, adapters the only importers of their SDKs, models described."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from p13n.tools import ACTIONS
from p13n.tools.profile_context import mask_email, mask_phone

TOOLS = Path(__file__).resolve().parents[2] / "p13n" / "tools"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(
                node.module.split(".")[0] if not node.module.startswith("p13n") else node.module
            )
    return names


@pytest.mark.parametrize("path", sorted(TOOLS.glob("*.py")), ids=lambda p: p.name)
def test_only_the_adapters_import_mcp_or_langchain_and_no_tool_imports_the_server(
    path: Path,
) -> None:
    names = _imports(path)
    assert not any(n.startswith("p13n.server") for n in names)
    if path.name != "mcp.py":
        assert not names & {"mcp", "mcp_types"}
    if path.name != "langchain.py":
        assert not names & {"langchain", "langchain_core"}
    assert not names & {"fastapi", "starlette"}


def test_action_names_are_unique_and_every_field_is_described() -> None:
    assert len({a.name for a in ACTIONS}) == len(ACTIONS)
    for action in ACTIONS:
        for model in (action.input_model, action.output_model):
            for name, field in model.model_fields.items():
                assert field.description, f"{action.name}: {model.__name__}.{name}"


def test_masking_keeps_only_a_hint_of_emails_and_phones() -> None:
    assert mask_email("ava.martin@example.co.uk") == "a***@e***.uk"
    assert mask_email("weird") == "w***"
    assert mask_phone("+1 415 555 0101") == "*********01"
