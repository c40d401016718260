"""Decide: recommenders (rule-based recipes, embedding retrieval, objective-based model),
filters, candidate merging, diversity, boosters, reasons and fallback."""

from p13n.domain.recommend.base import Algorithm, ExactVectors, History, Scored, ScoreRequest
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
    RecommenderConfig,
    Switches,
)
from p13n.domain.recommend.embeddings import ItemVectors, item_text
from p13n.domain.recommend.model import Interactions, ModelParams, TrainedModel, train_model
from p13n.domain.recommend.objective import ObjectiveRecommender
from p13n.domain.recommend.query import parse_query
from p13n.domain.recommend.recipes import RuleRecipe
from p13n.domain.recommend.request import Recommendations, RecommendedItem, RecommendRequest
from p13n.domain.recommend.service import RecommendService
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
    "FilterGroup",
    "FilterType",
    "History",
    "Interactions",
    "ItemVectors",
    "MAX_LIMIT",
    "ModelParams",
    "Objective",
    "ObjectiveRecommender",
    "RecommendRequest",
    "RecommendService",
    "RecommendedItem",
    "Recommendations",
    "RecommenderConfig",
    "RuleRecipe",
    "ScoreRequest",
    "Scored",
    "Switches",
    "TrainedModel",
    "build_snapshot",
    "item_text",
    "parse_query",
    "train_model",
]
