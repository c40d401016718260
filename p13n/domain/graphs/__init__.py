"""Update: the profile and item data graphs and the per-event rule that updates each."""

from p13n.domain.graphs.affinity import publish_affinities
from p13n.domain.graphs.compact import (
    compact_profile_json,
    decode_profile,
    encode_profile,
    profile_id_of,
    profile_json,
)
from p13n.domain.graphs.item_graph import TRENDING_PRIOR, ItemGraph, ItemInsights
from p13n.domain.graphs.item_update import apply_event_to_item_graphs
from p13n.domain.graphs.profile import (
    RECENT_ENGAGEMENT_DAYS,
    ProfileGraph,
    SegmentExit,
    SegmentMembership,
)
from p13n.domain.graphs.profile_update import apply_event_to_profile, new_profile

__all__ = [
    "ItemGraph",
    "ItemInsights",
    "ProfileGraph",
    "RECENT_ENGAGEMENT_DAYS",
    "SegmentExit",
    "SegmentMembership",
    "TRENDING_PRIOR",
    "apply_event_to_item_graphs",
    "apply_event_to_profile",
    "compact_profile_json",
    "decode_profile",
    "encode_profile",
    "new_profile",
    "profile_id_of",
    "profile_json",
    "publish_affinities",
]
