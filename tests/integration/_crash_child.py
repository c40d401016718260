"""Child of test_crash_safety: run one long write and SIGKILL itself at a chosen point of it,
the moment a crash does the most harm (a kill from outside lands anywhere; this one lands
where a half-applied write would show).

    python _crash_child.py resolve URL     # inside identity resolution's write transaction,
                                           # after the new clusters and links are written
    python _crash_child.py recompute URL   # during a batch run over the population, after
                                           # its first page of profiles was committed
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from p13n.domain.services import Engine, IdentityService

NOW = 1_800_000_000.0


def _die() -> None:
    sys.stderr.write("killing myself at the kill point\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def resolve(url: str) -> None:
    engine = Engine.open(url, clock=lambda: NOW)
    service = IdentityService(engine)
    replace = service.store.replace_pair_links

    def then_die(*args: Any, **kwargs: Any) -> None:
        replace(*args, **kwargs)  # the plan and the links are written, not committed
        _die()

    service.store.replace_pair_links = then_die  # type: ignore[method-assign]
    service.resolve()


def recompute(url: str) -> None:
    engine = Engine.open(url, clock=lambda: NOW + 86_400 * 30)  # memberships move with time
    store = engine.store
    upsert = store.upsert_profiles
    pages = 0

    def die_on_the_second_page(*args: Any, **kwargs: Any) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:  # the first page is committed; this one is inside its transaction
            upsert(*args, **kwargs)
            _die()
        upsert(*args, **kwargs)

    store.upsert_profiles = die_on_the_second_page  # type: ignore[method-assign]
    engine.recompute_insights()


if __name__ == "__main__":
    {"resolve": resolve, "recompute": recompute}[sys.argv[1]](sys.argv[2])
    sys.exit("the run ended without reaching its kill point")
