"""Query engine: batching, de-duplication and accounting between estimators and models."""

from .query import Query, QueryEngine, QueryStats

__all__ = ["Query", "QueryEngine", "QueryStats"]
