"""Decide: recommenders (rule-based recipes, embedding retrieval, objective-based model),
filters, candidate merging, diversity, boosters, reasons and fallback.

Pure algorithms and models over a catalog snapshot; what a running process holds (the
snapshot cache, the trained model, stored configs) is `p13n.domain.services.RecommendService`.
"""

from p13n.domain.recommend.ann import IvfVectors
from p13n.domain.recommend.base import Algorithm, ExactVectors, History, Scored, ScoreRequest
from p13n.domain.recommend.blas import single_threaded_blas
from p13n.domain.recommend.blend import (
    BlendWeights,
    PreferenceTilt,
    QueryBlend,
    Tastes,
    constraint_rows,
)
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
    SimilarItems,
    Switches,
)
from p13n.domain.recommend.embeddings import ItemVectors, item_text
from p13n.domain.recommend.evaluation import (
    RankingMetrics,
    SplitKind,
    ValidationSplit,
    evaluate,
    ranking_metrics,
    validation_split,
)
from p13n.domain.recommend.filters import FilterContext
from p13n.domain.recommend.interpret import (
    Constraint,
    Interpreted,
    Reading,
    check_currency,
    interpret,
)
from p13n.domain.recommend.item_filter import ItemFilter
from p13n.domain.recommend.lexical import LexicalIndex
from p13n.domain.recommend.model import Interactions, ModelParams, TrainedModel, train_model
from p13n.domain.recommend.objective import ObjectiveRecommender
from p13n.domain.recommend.ranking import (
    Eligible,
    Rerank,
    Rules,
    Slot,
    allowed_rows,
    compile_rules,
    explore,
    rank,
    request_rng,
)
from p13n.domain.recommend.reasons import query_reason
from p13n.domain.recommend.recipes import RuleRecipe
from p13n.domain.recommend.request import (
    Recommendations,
    RecommendedItem,
    RecommendRequest,
    diagnostic,
    effective_limit,
)
from p13n.domain.recommend.rule_costs import SWITCH_NOTE, RuleCost, rule_costs, suggested_weight
from p13n.domain.recommend.snapshot import CatalogSnapshot, build_snapshot
from p13n.domain.recommend.tuning import BudgetTooSmall, CandidateName, Trial, TuneResult, tune
from p13n.domain.recommend.vocabulary import (
    CatalogVocabulary,
    age_range,
    catalog_currency,
    category_words,
)

__all__ = [
    "RankingMetrics",
    "SplitKind",
    "ValidationSplit",
    "evaluate",
    "ranking_metrics",
    "validation_split",
    "BudgetTooSmall",
    "CandidateName",
    "Trial",
    "TuneResult",
    "RuleCost",
    "rule_costs",
    "suggested_weight",
    "SWITCH_NOTE",
    "tune",
    "age_range",
    "catalog_currency",
    "query_reason",
    "Algorithm",
    "BlendWeights",
    "Booster",
    "CatalogSnapshot",
    "CatalogVocabulary",
    "Constraint",
    "DEFAULT_LIMIT",
    "DEFAULT_RECOMMENDERS",
    "Diversity",
    "ExactVectors",
    "FilterCondition",
    "FilterContext",
    "FilterGroup",
    "FilterType",
    "History",
    "Interpreted",
    "Interactions",
    "ItemFilter",
    "ItemVectors",
    "LexicalIndex",
    "IvfVectors",
    "MAX_LIMIT",
    "ModelParams",
    "Objective",
    "ObjectiveBased",
    "ObjectiveRecommender",
    "PreferenceTilt",
    "QueryBlend",
    "Reading",
    "Rerank",
    "RecommendRequest",
    "Recommendations",
    "RecommendedItem",
    "RecommenderConfig",
    "RuleRecipe",
    "SimilarItems",
    "Eligible",
    "Rules",
    "ScoreRequest",
    "Scored",
    "Slot",
    "Switches",
    "Tastes",
    "TrainedModel",
    "allowed_rows",
    "build_snapshot",
    "category_words",
    "check_currency",
    "compile_rules",
    "constraint_rows",
    "diagnostic",
    "effective_limit",
    "explore",
    "item_text",
    "interpret",
    "rank",
    "request_rng",
    "single_threaded_blas",
    "train_model",
]
