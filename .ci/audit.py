"""`make lint`'s dependency audit: pip-audit over the installed environment, summarized.

pip-audit asks a vulnerability service about each installed distribution: PyPI's JSON API by
default (`https://pypi.org/pypi/<name>/<version>/json`), or OSV (`api.osv.dev`). A machine that
reaches only a package index mirror (no JSON API) gets every distribution back as "not found on
PyPI", and pip-audit still exits 0; this says so instead of reporting a clean audit. Known
vulnerabilities fail the step; an audit that could not run fails it only with
`P13N_AUDIT_STRICT=1` (CI with network access sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        done = subprocess.run(
            [
                str(pip_audit),
                "--local",
                "--progress-spinner",
                "off",
                "--desc",
                "off",
                "-f",
                "json",
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if not out.exists():
            print(f"pip-audit failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
            return 1
        deps = json.loads(out.read_text())["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    for d in vulnerable:
        ids = ", ".join(v["id"] for v in d["vulns"])
        print(f"pip-audit: {d['name']} {d['version']}: {ids}")
    print(
        f"pip-audit: {audited} distributions audited, {len(vulnerable)} with known "
        f"vulnerabilities, {len(skipped)} not auditable"
    )
    if skipped and not audited:
        print(
            "pip-audit: no vulnerability service was reachable (PyPI's JSON API or OSV); "
            "the dependencies were NOT audited on this machine."
        )
    if vulnerable:
        return 1
    if skipped and os.environ.get("P13N_AUDIT_STRICT") == "1":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
