"""The demo tenant of the conversation suite: `p13n seed demo` once per test session (about
two minutes: 3,000 items embedded, 2,000 shoppers, the model trained), or a copy of the home
named by P13N_TEST_DEMO_HOME when it is set. Each transport's run works on its own copy, since
conversations record interactions. SQLite only: the suite judges answers, not stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _transports import DEMO_HOME_ENV, copy_home, seed_demo


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded demo home that no test writes to (copy it with `demo_home`)."""
    given = os.environ.get(DEMO_HOME_ENV)
    if given:
        return copy_home(Path(given), tmp_path_factory.mktemp("demo-template"))
    return seed_demo(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture(scope="module")
def demo_home(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module's own copy of the seeded demo home."""
    return copy_home(demo_template, tmp_path_factory.mktemp("demo"))
