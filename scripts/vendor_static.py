"""Copy the console's browser libraries from node_modules into the package (run after `npm ci`).

The console ships htmx and uPlot inside the wheel (no JavaScript build at install time). Their
versions are pinned in package.json / package-lock.json; this script copies the minified files
into p13n/server/console/static/vendor/, each with a banner naming the package, its version and
licence, and the packages' licence files beside them. The output is committed, and
tests/e2e/test_console_vendor.py checks that it equals what this script makes from node_modules.

    python scripts/vendor_static.py          # write the files
    python scripts/vendor_static.py --check  # exit 1 if the committed files differ
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "p13n" / "server" / "console" / "static" / "vendor"

# (npm package, file inside the package, name in vendor/)
FILES: tuple[tuple[str, str, str], ...] = (
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("uplot", "dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
    ("uplot", "dist/uPlot.min.css", "uPlot.min.css"),
)


def _package(name: str, modules: Path) -> dict[str, str]:
    meta: dict[str, str] = json.loads((modules / name / "package.json").read_text("utf-8"))
    return meta


def vendored(modules: Path | None = None) -> dict[str, bytes]:
    """Name in vendor/ -> the bytes this script writes there, read from `modules`."""
    modules = modules or ROOT / "node_modules"
    out: dict[str, bytes] = {}
    for package, source, target in FILES:
        meta = _package(package, modules)
        banner = (
            f"/*! {package} {meta['version']} | {meta.get('license', 'see licence file')} | "
            f"licence text: vendor/LICENSES/{package}.txt | copied from npm by "
            "scripts/vendor_static.py */\n"
        )
        out[target] = banner.encode() + (modules / package / source).read_bytes()
    for package in sorted({p for p, _, _ in FILES}):
        out[f"LICENSES/{package}.txt"] = (modules / package / "LICENSE").read_bytes()
    return out


def main(argv: list[str]) -> int:
    files = vendored()
    if "--check" in argv:
        stale = [
            n
            for n, data in files.items()
            if not (VENDOR / n).is_file() or (VENDOR / n).read_bytes() != data
        ]
        extra = sorted(
            str(p.relative_to(VENDOR))
            for p in VENDOR.rglob("*")
            if p.is_file() and str(p.relative_to(VENDOR)) not in files
        )
        for name in stale + extra:
            print(f"differs from node_modules: {name}", file=sys.stderr)
        return 1 if stale or extra else 0
    for name, data in files.items():
        path = VENDOR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
