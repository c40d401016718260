"""The console's vendored browser libraries are exactly what scripts/vendor_static.py makes
from the pinned npm packages (`make test` runs `npm ci` first, so CI re-checks them), each with
its licence; the pins in package.json are exact."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vendor_static", ROOT / "scripts" / "vendor_static.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vendored_files_equal_what_the_script_makes_from_node_modules() -> None:
    script = _script()
    if not (ROOT / "node_modules" / "htmx.org").is_dir() and not os.environ.get("CI"):
        pytest.skip("node_modules has no htmx.org: run `npm ci` (make test does)")
    expected = script.vendored()
    on_disk = {
        str(p.relative_to(script.VENDOR)): p.read_bytes()
        for p in script.VENDOR.rglob("*")
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(expected)
    stale = [name for name, data in expected.items() if on_disk[name] != data]
    assert stale == [], f"run `python scripts/vendor_static.py` and commit: {stale}"


def test_every_vendored_package_is_pinned_exactly_and_has_its_licence() -> None:
    script = _script()
    pins = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for package in {p for p, _, _ in script.FILES}:
        assert pins[package][0].isdigit(), f"{package} is not pinned exactly: {pins[package]}"
        assert lock[f"node_modules/{package}"]["version"] == pins[package]
        assert (script.VENDOR / "LICENSES" / f"{package}.txt").stat().st_size > 100
        assert package in (ROOT / "THIRD_PARTY.md").read_text()


def test_the_vendored_files_are_small_enough_to_ship() -> None:
    import gzip

    script = _script()
    total = sum(
        len(gzip.compress(p.read_bytes()))
        for p in (script.VENDOR.parent).rglob("*")
        if p.is_file() and p.suffix in (".js", ".css")
    )
    assert total <= 300_000  # issue 13: static assets ≤ 300 KB compressed
