"""Load the identity state that lives beside the identify seam's links: the source records with
their blocking indexes, splits, the active ruleset and the matcher's weights (from the store)."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from p13n.domain.errors import NotFound
from p13n.domain.identity import (
    DEFAULT_RULESET,
    EVENTS_SOURCE,
    FSParams,
    IdentityLinks,
    NormRecord,
    RecordIndex,
    Ruleset,
)
from p13n.domain.services.config_repository import ConfigRepository
from p13n.domain.store import RULESET_KIND, Store
from p13n.domain.timeutil import now_ts

__all__ = [
    "load_resolution_state",
    "active_ruleset",
    "ruleset_repository",
    "ACTIVE_RULESET_KEY",
    "PARAMS_KEY",
    "LAST_RUN_KEY",
]

ACTIVE_RULESET_KEY = "identity.active_ruleset"
PARAMS_KEY = "identity.fs_params"
LAST_RUN_KEY = "identity.last_resolve_at"


def ruleset_repository(
    store: Store, clock: Callable[[], float] = now_ts
) -> ConfigRepository[Ruleset]:
    """The stored identity rulesets (the built-in default is stored once it is activated)."""
    return ConfigRepository(store, RULESET_KIND, Ruleset, clock=clock)


def active_ruleset(store: Store) -> Ruleset:
    name = store.get_meta(ACTIVE_RULESET_KEY) or DEFAULT_RULESET.name
    ruleset = ruleset_repository(store).get(name)
    if ruleset is not None:
        return ruleset
    if name != DEFAULT_RULESET.name:
        raise NotFound(f"the active identity ruleset '{name}' is missing.")
    return DEFAULT_RULESET


def load_resolution_state(store: Store, state: IdentityLinks) -> None:
    """Fill `state` (whose links, aliases and creation times are loaded) with the records,
    indexes, splits, ruleset and weights from the store."""
    ruleset = active_ruleset(store)
    index = RecordIndex()
    index.configure(ruleset)
    subjects = {}
    for rows in store.iter_resolution_records():
        for key, uid, data in rows:
            doc = orjson.loads(data)
            if "norm" not in doc:
                continue
            index.put(NormRecord.from_json(doc["norm"]), uid)
            if key.startswith(f"{EVENTS_SOURCE}:"):
                subjects[key] = doc["record"]
    for split in store.load_splits():
        record = split["record_id"]
        for other in orjson.loads(split["apart_from"]):
            index.apart.setdefault(record, set()).add(other)
            index.apart.setdefault(other, set()).add(record)
    params = store.get_meta(PARAMS_KEY)
    state.index, state.subjects, state.ruleset = index, subjects, ruleset
    state.params = FSParams.model_validate_json(params) if params else None
