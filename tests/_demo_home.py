"""The seeded demo tenant the slow query and conversation suites share: `p13n seed demo` into a
home once per test session (3,000 items embedded, 2,000 shoppers, the model trained; a minute or
two), or a copy of the home named by P13N_TEST_DEMO_HOME when it is set. Suites that change the
tenant work on their own copy (`copy_home`), so no test sees another's writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["DEMO_HOME_ENV", "copy_home", "p13n_env", "p13n_script", "seed_demo"]

# Names an already seeded demo home (`p13n seed demo`) to copy instead of seeding (~2 min).
DEMO_HOME_ENV = "P13N_TEST_DEMO_HOME"


def p13n_script() -> str:
    return str(Path(sys.executable).with_name("p13n"))


def p13n_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any P13N_ setting, so a `p13n` process opens exactly `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("P13N_")}
    return {**env, "P13N_HOME": str(home), **extra}


def seed_demo(home: Path, *, timeout_s: float = 1200.0) -> Path:
    """`p13n seed demo` into `home`, as a user runs it (catalog embedded, model trained)."""
    done = subprocess.run(
        [p13n_script(), "seed", "demo"],
        env=p13n_env(home),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"p13n seed demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return home


def copy_home(template: Path, dest: Path) -> Path:
    """A private copy of a seeded home (store, vectors, model), for a run that changes it."""
    shutil.copytree(template, dest, dirs_exist_ok=True)
    return dest
