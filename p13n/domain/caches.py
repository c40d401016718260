"""Bounded LRU caches; the profile cache, which the hot path reads (the store is write-through).

The profile cache keeps each profile in its compact form (`p13n.domain.graphs.encode_profile`:
the JSON document compressed; with its key, about a seventh of the objects' memory) and decodes
it on every read, so each reader gets its own copy: changing it changes nothing cached, and a writer
puts the changed profile back (the engine does, when it writes the graphs). `compact=False`
keeps the objects themselves (the layout before issue 14, for a process with memory to spare):
readers then share the cached object.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from p13n.domain.graphs import (
    ProfileGraph,
    compact_profile_json,
    decode_profile,
    encode_profile,
)

__all__ = ["LruCache", "ProfileCache"]

V = TypeVar("V")


class LruCache(Generic[V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._data: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def discard(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def values(self) -> list[V]:
        """The cached values, least recently used first (a copy: safe while others write)."""
        return list(self._data.values())

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


class ProfileCache:
    """Profiles by unified id, at most `capacity`, least recently used evicted first.

    `get` returns None for a profile that is not cached (the caller reads the store); `in`
    tests membership without decoding or touching the order. Without a lock: the engine's
    writes are serialized by its own lock, readers see either the old or the new form.
    """

    def __init__(self, capacity: int, *, compact: bool = True) -> None:
        self.compact = compact
        self._compact: LruCache[bytes] = LruCache(capacity)
        self._objects: LruCache[ProfileGraph] = LruCache(capacity)

    @property
    def capacity(self) -> int:
        return self._compact.capacity

    def get(self, uid: str) -> ProfileGraph | None:
        """A profile equal to the one last put (a fresh copy when compact), or None."""
        if not self.compact:
            return self._objects.get(uid)
        data = self._compact.get(uid)
        return None if data is None else decode_profile(data)

    def put(self, uid: str, profile: ProfileGraph, *, doc: bytes | str | None = None) -> None:
        """Cache `profile` as the latest of `uid`; `doc`, when the caller holds it, is the
        profile's JSON document (`profile_json`, or the stored one), saving a second dump."""
        if not self.compact:
            self._objects.put(uid, profile)
        else:
            self._compact.put(
                uid, encode_profile(profile) if doc is None else compact_profile_json(doc)
            )

    def put_doc(self, uid: str, doc: bytes | str) -> None:
        """Cache a profile from its JSON document alone (a stored one): compact, it is not
        even parsed."""
        if not self.compact:
            self._objects.put(uid, ProfileGraph.model_validate_json(doc))
        else:
            self._compact.put(uid, compact_profile_json(doc))

    def refresh(self, uid: str, profile: ProfileGraph, *, doc: bytes | str | None = None) -> None:
        """Replace the cached form of `uid` by `profile` if it is cached; else nothing (a
        written profile that had been evicted stays uncached: the store holds it)."""
        if uid in self:
            self.put(uid, profile, doc=doc)

    def discard(self, uid: str) -> None:
        self._compact.discard(uid)
        self._objects.discard(uid)

    def clear(self) -> None:
        self._compact.clear()
        self._objects.clear()

    def nbytes(self) -> int:
        """Bytes of the compact forms cached (0 when the cache keeps objects)."""
        return sum(len(data) for data in self._compact.values())

    def __contains__(self, uid: object) -> bool:
        return uid in (self._compact if self.compact else self._objects)

    def __len__(self) -> int:
        return len(self._compact) + len(self._objects)
