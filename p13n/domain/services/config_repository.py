"""The one configuration repository: typed objects of one kind over the store's config table.

Every kind of configuration (insight, segment, recommender, point, decision, experiment,
ruleset) is a pydantic model with a `name`, stored as one JSON document per (kind, name) with
a version that counts its writes. A `ConfigRepository` is that table seen through one kind and
one model: `list` and `get` parse, `put` serializes and returns the new version, `delete`
says whether there was something to delete, `put_missing` seeds built-in defaults without
overwriting what a user changed. Validation across objects (a decision's point exists, a
fallback chain has no loop) is the owning service's job, before it calls `put`.

Documents are written as the owners always wrote them: `by_alias=True` for the Decisioning
API's camelCase models, field names for the rest, so existing stores read back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar, cast

from pydantic import BaseModel

from p13n.domain.services.audit import audit_trail

__all__ = ["ConfigRepository", "ConfigStore"]

M = TypeVar("M", bound=BaseModel)


class ConfigStore(Protocol):
    """The store calls a repository makes (`SqlStore` has them)."""

    def put_config(self, kind: str, name: str, doc: str, now: float) -> int:
        """Insert or replace; the new version (1 for a new object)."""
        ...

    def list_config(self, kind: str) -> list[str]:
        """Every document of `kind`, ordered by name; [] for none."""
        ...

    def delete_config(self, kind: str, name: str) -> bool:
        """Whether an object was deleted (False when there was none)."""
        ...

    def put_configs_if_missing(
        self, kind: str, docs: Iterable[tuple[str, str]], now: float
    ) -> None:
        """Insert the (name, doc) pairs whose name is not stored yet; never overwrites."""
        ...


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class ConfigRepository(Generic[M]):
    """Objects of one `kind`, parsed as `model`; `clock` stamps each write (epoch seconds)."""

    def __init__(
        self,
        store: ConfigStore,
        kind: str,
        model: type[M],
        *,
        clock: Callable[[], float],
        by_alias: bool = False,
    ) -> None:
        self.store, self.kind, self.model = store, kind, model
        self.clock, self.by_alias = clock, by_alias

    def dump(self, obj: M) -> str:
        """The stored document of `obj`."""
        return obj.model_dump_json(by_alias=self.by_alias)

    def list(self) -> list[M]:
        """Every stored object, ordered by name."""
        return [self.model.model_validate_json(doc) for doc in self.store.list_config(self.kind)]

    def get(self, name: str) -> M | None:
        """The stored object named `name`, or None (a read of the kind: not for a hot path)."""
        return next((obj for obj in self.list() if _name(obj) == name), None)

    def put(self, obj: M) -> int:
        """Store `obj` under its name; its new version (1 for a new object). Recorded in the
        audit trail with the document before and after."""
        name, doc = _name(obj), self.dump(obj)
        trail = audit_trail(self.store)
        before = self._stored(name) if trail is not None else None
        version = self.store.put_config(self.kind, name, doc, self.clock())
        if trail is not None and before != doc:
            action = "create" if before is None else "update"
            trail.record(self.kind, action, name, before=before, after=doc)
        return version

    def delete(self, name: str) -> bool:
        """Whether `name` was stored (and now is not). Recorded in the audit trail."""
        trail = audit_trail(self.store)
        before = self._stored(name) if trail is not None else None
        deleted = self.store.delete_config(self.kind, name)
        if trail is not None and deleted:
            trail.record(self.kind, "delete", name, before=before)
        return deleted

    def _stored(self, name: str) -> str | None:
        """The stored document named `name`, as text; None when there is none."""
        for doc in self.store.list_config(self.kind):
            if _name(self.model.model_validate_json(doc)) == name:
                return doc
        return None

    def put_missing(self, objects: Iterable[M]) -> None:
        """Store the objects whose name is not stored yet (built-in defaults), at version 1."""
        docs = [(_name(obj), self.dump(obj)) for obj in objects]
        self.store.put_configs_if_missing(self.kind, docs, self.clock())


def _name(obj: BaseModel) -> str:
    return cast(_Named, obj).name
