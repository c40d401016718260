"""Imports across packages go through each package's face (its `__init__`), never deeper.

A package's face is what other packages may use; everything behind it can be renamed or split
without touching them. Inside a package, modules import each other freely. The faces:
`p13n.domain.<step or part>`, `p13n.tools`, `p13n.server`, `p13n.seed`, `p13n.prompts`;
single-module parts (`p13n.domain.errors`, `timeutil`, `operators`, `caches`) are their own face.
The rule covers `p13n/` and `examples/`; tests and benchmarks may reach behind a face, since they
test and measure its parts.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "p13n"

# Adapters that pull in optional, heavy libraries, so the face does not import them: a caller
# asks for them by name (`p13n.tools.mcp`, `p13n.tools.langchain`).
ADAPTERS = frozenset({"p13n.tools.mcp", "p13n.tools.langchain"})


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _declared(name: str, root: Path) -> set[str]:
    """The names a package's `__init__` lists in `__all__` (a function may share a module's
    name, as `identity.reconcile` does: the face then offers the function)."""
    init = root.joinpath(*name.split(".")) / "__init__.py"
    if not init.exists():
        return set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def face_of(name: str) -> str:
    """The face a module belongs to: `p13n.domain.X` under domain, `p13n.X` elsewhere."""
    parts = name.split(".")
    depth = 3 if parts[:2] == ["p13n", "domain"] else 2
    return ".".join(parts[:depth])


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) for every p13n module a file imports, submodules named in `from` included."""
    own = _module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("p13n")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("p13n"):
                continue
            found.append((node.lineno, module))
            offered = _declared(module, root)
            found += [
                (node.lineno, f"{module}.{a.name}")
                for a in node.names
                if _is_module(f"{module}.{a.name}", root) and a.name not in offered
            ]
    return found


def deep_imports(path: Path, root: Path = ROOT) -> list[str]:
    own_face = face_of(_module_name(path, root))
    bad = []
    for line, module in _imports(path, root):
        face = face_of(module)
        if face == own_face or module == face or module in ADAPTERS:
            continue
        bad.append(f"{path.relative_to(root)}:{line} imports {module} (use {face})")
    return bad


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "examples").rglob("*.py"))


def test_every_cross_package_import_goes_through_a_face() -> None:
    bad = [b for path in _sources() for b in deep_imports(path)]
    assert not bad, "deep imports across packages:\n" + "\n".join(bad)


def test_every_face_declares_what_it_offers() -> None:
    """A face lists its names in `__all__`, so that what is public is written down."""
    missing = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        name = _module_name(init, ROOT)
        if name != face_of(name) or name in {"p13n", "p13n.domain"}:
            continue
        if "__all__" not in (ROOT.joinpath(*name.split(".")) / "__init__.py").read_text():
            missing.append(name)
    assert not missing, f"faces without __all__: {missing}"


@pytest.mark.parametrize(
    ("source", "where", "expected"),
    [
        ("from p13n.domain.recommend.ranking import rank\n", "p13n/tools/x.py", True),
        ("from p13n.domain.recommend import ranking\n", "p13n/tools/x.py", True),
        ("from p13n.domain.recommend import RecommendRequest\n", "p13n/tools/x.py", False),
        ("from .ranking import rank\n", "p13n/domain/recommend/x.py", False),
        ("from ..store.sql_store import SqlStore\n", "p13n/domain/services/x.py", True),
        ("import p13n.domain.errors\n", "p13n/server/x.py", False),
        ("from p13n.tools.mcp import build_mcp_server\n", "p13n/server/x.py", False),
    ],
)
def test_the_rule_itself(tmp_path: Path, source: str, where: str, expected: bool) -> None:
    """The checker finds what it should (a test of the test: a broken walker cannot pass)."""
    for module in (
        "domain/recommend/__init__",
        "domain/recommend/ranking",
        "domain/store/__init__",
        "domain/store/sql_store",
        "domain/errors",
        "tools/__init__",
        "tools/mcp/__init__",
    ):
        stub = tmp_path / "p13n" / f"{module}.py"
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.touch()
    fake = tmp_path / where
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(source)
    assert bool(deep_imports(fake, tmp_path)) is expected


def test_every_name_a_face_declares_resolves() -> None:
    """Lazy faces (domain.analytics loads its statistics on first use) still offer each name."""
    for init in sorted(PACKAGE.rglob("__init__.py")):
        name = _module_name(init, ROOT)
        if name != face_of(name) or name in {"p13n", "p13n.domain"}:
            continue
        module = importlib.import_module(name)
        missing = [n for n in _declared(name, ROOT) if not hasattr(module, n)]
        assert not missing, f"{name} declares {missing} but has no such names"


def test_the_analytics_face_does_not_import_scipy_until_a_statistic_is_used() -> None:
    code = (
        "import sys, p13n.domain.analytics as a; assert 'scipy.stats' not in sys.modules; "
        "a.compare_rates; assert 'p13n.domain.analytics.bayesian' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
