"""Any id a log or event row carries, mapped to the unit that survives today: what Measure
reads rows through, so that identities merged after the rows were written make one unit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from p13n.domain.identity import IdentityLinks

__all__ = ["Survivors"]

_UNSEEN = object()


class Survivors(Mapping[str, str]):
    """Any id a row carries -> the unified id that survives today: a merged unified id to its
    survivor, an individual or device id to the individual it is linked to; an id known to
    neither is absent (`get(id, id)` keeps it). `get` answers an id as the identity links
    were at its first lookup (a report reads millions of rows naming the same few ids): make
    a new one per report."""

    def __init__(self, identity: IdentityLinks) -> None:
        self.identity = identity
        self._merged_into: dict[str, list[str]] | None = None
        self._memo: dict[str, Any] = {}
        self._units: dict[str, str] = {}

    def aliases_of(self, unit: str) -> list[str]:
        """The unified ids merged into `unit` (rows written before a merge carry them)."""
        if self._merged_into is None:
            found: dict[str, list[str]] = {}
            for alias in self.identity.aliases:
                found.setdefault(self.identity.resolve(alias), []).append(alias)
            self._merged_into = found
        return self._merged_into.get(unit, [])

    def units(self, ids: Sequence[str | None]) -> list[str | None]:
        """Each id's unit, `get(id, id)` (None stays None): a fold maps millions of rows'
        ids, and each distinct id is looked up once per `Survivors`, not once per row."""
        known = self._units
        for key in set(ids).difference(known):
            if key is not None:
                known[key] = self.get(key, key)
        return list(map(known.get, ids))  # type: ignore[arg-type]

    def get(self, key: str, default: Any = None) -> Any:  # journeys' only call: no ABC detour
        found = self._memo.get(key, _UNSEEN)
        if found is _UNSEEN:
            try:
                found = self[key]
            except KeyError:
                found = None
            self._memo[key] = found
        return default if found is None else found

    def __getitem__(self, key: str) -> str:
        ident = self.identity
        if key in ident.aliases:
            return ident.resolve(key)
        if key in ident.created:
            return key
        for kind in ("individual", "device"):
            found = ident.lookup(kind, key)
            if found is not None:
                return found
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.identity.created)

    def __len__(self) -> int:
        return len(self.identity.created)
