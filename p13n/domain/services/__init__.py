"""What a running process holds and the orchestrators that drive the steps over it.

The step packages never import this one (tested in `tests/unit/test_layers.py`)."""

from p13n.domain.services.catalog_search import SearchHit, SearchPage, search_items
from p13n.domain.services.recommend_service import RecommendService
from p13n.domain.services.training import interactions_from_log, load_model, save_model

__all__ = [
    "RecommendService",
    "SearchHit",
    "SearchPage",
    "interactions_from_log",
    "load_model",
    "save_model",
    "search_items",
]
