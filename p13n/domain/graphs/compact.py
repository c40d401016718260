"""The compact in-memory form of a profile graph: its stored JSON, compressed with zstd.

A cached `ProfileGraph` as objects takes about 8 kB of Python heap; on `bench.decisions`' 1M-id
store its JSON document averages about 4.4 kB, and that JSON compressed by zstd with the
preset dictionary below 0.6-0.9 kB (`python -m bench.compact_profiles`). The profile cache keeps
the compressed form and decodes on every read (about 5 microseconds to decompress, 35 to build
the objects), so 279,404 cached profiles take about 210 MB instead of 2.2 GB.

The dictionary is raw content built here from the shape of a profile document (field names,
the null patterns of empty fields, the common interactions), not trained on any tenant's data:
every process builds the same one, and nothing is shipped as a binary file. A dictionary
trained on the benchmark's own profiles would compress them somewhat better, but it would be
trained on data that a real tenant does not have.

The form is exact: `decode_profile(encode_profile(p)) == p` for every profile the store can
hold, because its JSON is the store's JSON and it is read back by the same pydantic parser as a
stored document (which is also faster than orjson plus validating the parsed value, and keeps
integers past 64 bits, which orjson would read as floats).
"""

from __future__ import annotations

import threading

import orjson
import zstandard

from p13n.domain.graphs.affinity import AFFINITY_WEIGHTS
from p13n.domain.graphs.profile import (
    CartLine,
    ConsentState,
    ContactPoint,
    EngagementEntry,
    Identity,
    ProfileGraph,
    Purchase,
    PurchaseLine,
    SegmentExit,
    SegmentMembership,
    ViewedItem,
    profile_adapter,
)

__all__ = [
    "compact_profile_json",
    "decode_profile",
    "encode_profile",
    "profile_id_of",
    "profile_json",
]

LEVEL = 3  # zstd level: level 9 saves another 8 % and costs three times the encode time


def _template() -> bytes:
    """A profile document touching every field, as the store writes it: the raw dictionary.
    Later bytes of a dictionary are cheaper to refer to, so the most repeated shapes (an
    engagement entry, a viewed item) come last."""
    ts = 1_790_000_000.125
    views = [
        EngagementEntry(
            event_id=f"evt-{k}",
            ts=ts + k,
            interaction=interaction,
            item_id=f"item-{k}",
            category="Category/Sub",
            brand="Brand",
        )
        for k, interaction in enumerate(AFFINITY_WEIGHTS)
    ]
    order = EngagementEntry(
        event_id="evt-order",
        ts=ts,
        interaction="Purchase",
        item_id=None,
        quantity=1.0,
        value=10.5,
        order_id="order-1",
    )
    profile = ProfileGraph(
        unified_id="u-0123456789abcdef01234567",
        created_at=ts,
        updated_at=ts,
        first_seen=ts,
        last_seen=ts,
        event_count=10,
        attributes={"firstName": "Ann", "lastName": "Lee", "isAnonymous": "0"},
        identities=[
            Identity(type="deviceId", value="device-1", first_seen=ts),
            Identity(type="individualId", value="individual-1", first_seen=ts),
        ],
        contact_points=[
            ContactPoint(type="email", value="a@b.c", normalized="a@b.c", first_seen=ts),
            ContactPoint(type="phone", value="+15550100", normalized="+15550100", first_seen=ts),
        ],
        consent=ConsentState(status="Opt In", provider="provider", updated_at=ts),
        cart=[CartLine(item_id="item-1", quantity=1.0, price=9.99, added_at=ts)],
        purchases=[
            Purchase(
                order_id="order-1",
                ts=ts,
                value=19.98,
                lines=[PurchaseLine(item_id="item-1", quantity=2.0, price=9.99)],
            )
        ],
        insights={"order_count": 1, "lifetime_revenue": 19.98, "views_7d": 3},
        segments={"segment": SegmentMembership(entered_at=ts)},
        segment_exits=[SegmentExit(segment="segment", entered_at=ts, exited_at=ts)],
        affinities={"category": {"Category": 100.0}, "brand": {"Brand": 100.0}},
        state={"affinity": {"t0": ts, "category": {}, "brand": {}}, "insights": {}},
    )
    empty = ProfileGraph(unified_id="u-0123456789abcdef01234567", created_at=ts, updated_at=ts)
    tail = ProfileGraph(
        unified_id="u-0123456789abcdef01234567",
        created_at=ts,
        updated_at=ts,
        engagement=[order, *views, views[0]],
        recently_viewed=[ViewedItem(item_id=f"item-{k}", ts=ts + k) for k in range(4)],
    )
    return b"".join(_ADAPTER.dump_json(p) for p in (empty, profile, tail))


_ADAPTER = profile_adapter()
_DICTIONARY = zstandard.ZstdCompressionDict(_template(), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
_DICTIONARY.precompute_compress(level=LEVEL)


class _Codecs(threading.local):
    """zstandard's compressor and decompressor objects are not thread safe: one pair per thread."""

    def __init__(self) -> None:
        self.compress = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=_DICTIONARY, write_checksum=False, write_dict_id=False
        ).compress
        self.decompress = zstandard.ZstdDecompressor(dict_data=_DICTIONARY).decompress


_codecs = _Codecs()


def profile_json(profile: ProfileGraph) -> bytes:
    """The profile's JSON document, as the store holds it (bytes: `.decode()` for a str)."""
    return _ADAPTER.dump_json(profile)


def compact_profile_json(doc: bytes | str) -> bytes:
    """The compact form of a profile from its JSON document (`profile_json`, or a stored doc):
    callers that already hold the document skip dumping it again."""
    out = _codecs.compress(doc.encode() if isinstance(doc, str) else doc)
    # zstandard allocates the output at the compressed size's bound (about the input's size)
    # and only shortens the length it reports: kept as it is, each form would hold about 3.7 kB
    # for 0.7 kB of content (a million profiles: gigabytes). The copy is allocated exactly.
    return memoryview(out).tobytes()


def profile_id_of(doc: bytes | str) -> str:
    """The unified id of a profile document, read without building the profile."""
    uid: str = orjson.loads(doc)["unified_id"]
    return uid


def encode_profile(profile: ProfileGraph) -> bytes:
    """The compact form of a profile (decode it with `decode_profile`)."""
    return compact_profile_json(profile_json(profile))


def decode_profile(data: bytes) -> ProfileGraph:
    """A new `ProfileGraph` equal to the one encoded; the caller may change it freely."""
    return _ADAPTER.validate_json(_codecs.decompress(data))
