"""The recommend step is pure: no engine, pipeline or service import anywhere in it (imports
inside functions included), so it can run over given snapshots in any process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STEP = Path(__file__).resolve().parents[2] / "p13n" / "domain" / "recommend"
FORBIDDEN = ("p13n.domain.engine", "p13n.domain.services", "p13n.domain.services")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(STEP.rglob("*.py")), ids=lambda p: p.name)
def test_recommend_imports_no_engine_and_no_service(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(FORBIDDEN)}
    assert not bad, f"{path.name} imports {bad}: orchestration belongs in domain/services/"
