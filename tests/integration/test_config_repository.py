"""The one configuration repository over the store's config table, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from p13n.domain.decisions import Decision
from p13n.domain.recommend import RecommenderConfig
from p13n.domain.services import ConfigRepository
from p13n.domain.store import SqlStore, open_engine


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(open_engine(database_url))
    yield store
    store.close()


def _decision(name: str, label: str = "") -> Decision:
    return Decision.model_validate({"name": name, "point": "home", "label": label})


def test_put_counts_versions_and_get_and_list_read_back_typed_objects(store: SqlStore) -> None:
    repo = ConfigRepository(store, "decision", Decision, clock=lambda: 1.0, by_alias=True)
    assert repo.put(_decision("b")) == 1
    assert repo.put(_decision("a")) == 1
    assert repo.put(_decision("b", label="second")) == 2
    assert [d.name for d in repo.list()] == ["a", "b"]
    got = repo.get("b")
    assert isinstance(got, Decision) and got.label == "second"
    assert repo.get("missing") is None


def test_kinds_are_separate_and_delete_says_whether_something_was_there(store: SqlStore) -> None:
    decisions = ConfigRepository(store, "decision", Decision, clock=lambda: 1.0)
    others = ConfigRepository(store, "other", Decision, clock=lambda: 1.0)
    decisions.put(_decision("a"))
    assert others.list() == []
    assert others.delete("a") is False
    assert decisions.delete("a") is True
    assert decisions.list() == []


def test_documents_are_written_as_each_owner_always_wrote_them(store: SqlStore) -> None:
    """by_alias for the Decisioning API's camelCase models, field names for the rest."""
    ConfigRepository(store, "decision", Decision, clock=lambda: 1.0, by_alias=True).put(
        Decision.model_validate({"name": "a", "point": "home", "recommender": "x"})
    )
    assert store.list_config("decision") == [
        _decision("a").model_copy(update={"recommender": "x"}).model_dump_json(by_alias=True)
    ]


def test_put_missing_seeds_defaults_without_overwriting_a_changed_one(store: SqlStore) -> None:
    repo = ConfigRepository(store, "recommender", RecommenderConfig, clock=lambda: 1.0)
    base = {"recipe": {"algorithm": "top-sellers"}, "fallback": None}
    changed = RecommenderConfig.model_validate({"name": "top", "limit": 3, **base})
    assert repo.put(changed) == 1
    default = RecommenderConfig.model_validate({"name": "top", **base})
    extra = RecommenderConfig.model_validate({"name": "new", **base})
    repo.put_missing([default, extra])
    assert repo.get("top") == changed
    assert repo.get("new") == extra
    assert repo.put(extra) == 2  # seeded at version 1
