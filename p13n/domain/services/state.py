"""What a running process keeps hot: one `HotState` the engine and the other services share.

The decision path reads these structures without a lock; every write goes through the
engine, which holds the write lock (`Engine.lock`, not here: the state is plain data so that a
batch worker can build one without an engine). Profiles are a bounded LRU cache over the store
(write-through), kept compressed; items, item graphs, identity links and consent are held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from p13n.domain.caches import ProfileCache
from p13n.domain.graphs import ItemGraph, ProfileGraph
from p13n.domain.identity import Identifier, IdentityLinks
from p13n.domain.ingest import Item
from p13n.domain.insights import InsightDefinition
from p13n.domain.segments import SegmentDefinition

__all__ = ["EngineOptions", "HotState"]


@dataclass(frozen=True)
class EngineOptions:
    """Tenant policy and cache sizes (built from settings by the composition root)."""

    require_consent_sdk: bool = True
    require_consent_flat: bool = False
    profile_cache_size: int = 100_000
    # Cached profiles kept compressed (decoded per read: issue 14's memory target); False
    # keeps the objects, several times the memory for a few tens of microseconds per read.
    compact_profiles: bool = True
    # Write-behind of graphs: online ingest commits the events and leaves the changed documents
    # to a background writer, every `write_behind_s` seconds or once `write_behind_max`
    # profiles are pending; 0 writes them in each ingest transaction (write-through).
    write_behind_s: float = 1.0
    write_behind_max: int = 20_000
    # `Engine.ingest(bounded=True)` (POST /events) stores at most this many events per device
    # (else individual) per minute;
    # the rest are rejected as `flood` and counted (`FloodGuard`). 0: no bound.
    device_events_per_minute: int = 0


class HotState:
    """The in-process caches of the hot path and the writes pending for the next checkpoint."""

    def __init__(self, profile_cache_size: int, *, compact_profiles: bool = True) -> None:
        # Each read of a compact cache decodes a copy: a writer puts the changed profile back.
        self.profiles = ProfileCache(profile_cache_size, compact=compact_profiles)
        self.items: dict[str, Item] = {}
        self.item_graphs: dict[str, ItemGraph] = {}
        self.identity = IdentityLinks()
        self.identifier = Identifier(self.identity)
        self.consent: dict[str, str] = {}
        # Graphs changed since the last write (write-behind, bulk import), written at the next
        # checkpoint; readers take a pending profile before the cache or the store.
        self.pending_profiles: dict[str, ProfileGraph] = {}
        self.pending_items: set[str] = set()
        # Pending profiles whose insights and segments online ingest computed after their last
        # change: the checkpoint writes them as they are instead of computing them again.
        self.computed: set[str] = set()
        # None while the graphs reflect the whole log; else the log seq they reflect (bulk import).
        self.synced_seq: int | None = None
        self.insights: list[InsightDefinition] = []
        self.segments: list[SegmentDefinition] = []

    def clear_profiles(self) -> None:
        """Forget cached and pending profiles (before a reload from the store)."""
        self.profiles.clear()
        self.pending_profiles.clear()
        self.pending_items.clear()
        self.computed.clear()
