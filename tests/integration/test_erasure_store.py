"""`ErasureStore` on its own, on SQLite and PostgreSQL: the tables the end-to-end erasure test
rarely fills (experiment units and their distinct keys, bandit assignments, other people's
splits kept apart from an erased record) are anonymized, deleted or rewritten as documented."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import text

from p13n.domain.services import Engine
from p13n.domain.store import BanditStore, ErasureStore, ExperimentStore, Footprint, IdentityStore


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = Engine.open(database_url)
    try:
        yield engine
    finally:
        engine.close()


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.store.db.connect() as conn:  # type: ignore[attr-defined]
        return [tuple(r) for r in conn.execute(text(sql))]


def test_experiment_units_keep_their_counts_under_a_token_and_the_rest_goes(
    engine: Engine,
) -> None:
    store = engine.store
    fold = {"setting": "s", "folded_to": 10.0, "anonymous": 0, "identity": 0, "made_at": 1.0}
    ExperimentStore(store).save(  # type: ignore[arg-type]
        "exp",
        fold,
        [(0, "u-gone", 1, 5.0, 1, b"\x00" * 8), (1, "u-kept", 0, 6.0, 1, b"\x01" * 8)],
        replace=True,
        keys=[(0, 0, "ord-gone-1"), (1, 0, "ord-kept-1")],
    )
    BanditStore(store).add_assignments(  # type: ignore[arg-type]
        [("bandit", "dev-gone", "a", 1.0), ("bandit", "dev-kept", "b", 1.0)]
    )
    identity = IdentityStore(store)  # type: ignore[arg-type]
    with store.transaction() as conn:
        identity.add_split(
            conn,
            {
                "record_id": "crm:kept",
                "from_unified_id": "u-x",
                "to_unified_id": "u-kept",
                "apart_from": orjson.dumps(["crm:gone", "crm:other"]).decode(),
                "reason": None,
                "split_at": 1.0,
            },
        )
    fp = Footprint(
        unified_id="u-gone",
        unified_ids=["u-gone"],
        subjects=["dev-gone"],
        record_ids=["crm:gone", "device:dev-gone"],
    )
    counts = ErasureStore(store).erase(fp, audit_target="erased:test")  # type: ignore[arg-type]
    assert counts["experiment_units"] == 1 and counts["experiment_keys"] == 1
    assert counts["bandit_assignments"] == 1 and counts["identity_splits"] == 1
    units = dict(rows(engine, "SELECT idx, unit FROM experiment_units"))
    assert units[1] == "u-kept" and str(units[0]).startswith("erased:")
    cells = dict(rows(engine, "SELECT idx, cells FROM experiment_units"))
    assert bytes(cells[0]) == b"\x00" * 8  # the counts stay
    keys = dict(rows(engine, "SELECT idx, key FROM experiment_keys"))
    assert keys[1] == "ord-kept-1" and str(keys[0]).startswith("erased:")
    assert rows(engine, "SELECT unit FROM bandit_assignments") == [("dev-kept",)]
    ((apart,),) = rows(engine, "SELECT apart_from FROM identity_splits")
    assert orjson.loads(str(apart)) == ["crm:other"]  # the split stays, without the erased record
