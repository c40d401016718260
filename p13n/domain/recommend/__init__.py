"""Decide: recommenders (rule-based recipes, embedding retrieval, objective-based model),
filters, candidate merging, diversity, boosters, reasons and fallback.

Pure algorithms and models over a catalog snapshot; what a running process holds (the
snapshot cache, the trained model, stored configs) is `p13n.domain.services.RecommendService`.
"""

from p13n.domain.recommend.ann import IvfVectors
from p13n.domain.recommend.base import Algorithm, ExactVectors, History, Scored, ScoreRequest
from p13n.domain.recommend.blas import single_threaded_blas
from p13n.domain.recommend.config import (
    DEFAULT_LIMIT,
    DEFAULT_RECOMMENDERS,
    MAX_LIMIT,
    Booster,
    Diversity,
    FilterCondition,
    FilterGroup,
    FilterType,
    Objective,
    ObjectiveBased,
    RecommenderConfig,
    Switches,
)
from p13n.domain.recommend.embeddings import ItemVectors, item_text
from p13n.domain.recommend.filters import FilterContext
from p13n.domain.recommend.item_filter import ItemFilter
from p13n.domain.recommend.model import Interactions, ModelParams, TrainedModel, train_model
from p13n.domain.recommend.objective import ObjectiveRecommender
from p13n.domain.recommend.query import QueryVocabulary, parse_query
from p13n.domain.recommend.ranking import (
    QueryPool,
    Rules,
    Slot,
    allowed_rows,
    compile_rules,
    explore,
    rank,
    request_rng,
)
from p13n.domain.recommend.recipes import RuleRecipe
from p13n.domain.recommend.request import (
    Recommendations,
    RecommendedItem,
    RecommendRequest,
    diagnostic,
    effective_limit,
)
from p13n.domain.recommend.snapshot import CatalogSnapshot, build_snapshot

__all__ = [
    "Algorithm",
    "Booster",
    "CatalogSnapshot",
    "DEFAULT_LIMIT",
    "DEFAULT_RECOMMENDERS",
    "Diversity",
    "ExactVectors",
    "FilterCondition",
    "FilterContext",
    "FilterGroup",
    "FilterType",
    "History",
    "Interactions",
    "ItemFilter",
    "ItemVectors",
    "IvfVectors",
    "MAX_LIMIT",
    "ModelParams",
    "Objective",
    "ObjectiveBased",
    "ObjectiveRecommender",
    "QueryPool",
    "QueryVocabulary",
    "RecommendRequest",
    "Recommendations",
    "RecommendedItem",
    "RecommenderConfig",
    "RuleRecipe",
    "Rules",
    "ScoreRequest",
    "Scored",
    "Slot",
    "Switches",
    "TrainedModel",
    "allowed_rows",
    "build_snapshot",
    "compile_rules",
    "diagnostic",
    "effective_limit",
    "explore",
    "item_text",
    "parse_query",
    "rank",
    "request_rng",
    "single_threaded_blas",
    "train_model",
]
