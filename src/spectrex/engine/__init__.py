"""Query engine: batching, de-duplication, on-disk cache, progress and back-ends between estimators and models."""

from ..digest import fingerprint
from .backends import (
    AsyncBackend,
    Backend,
    LocalBackend,
    RayBackend,
    RetryableError,
    RetryPolicy,
    ThreadBackend,
    WorkerLostError,
)
from .cache import SCHEMA_VERSION, QueryCache
from .query import Query, QueryEngine, QueryStats, resolve_fingerprint

__all__ = [
    "SCHEMA_VERSION",
    "AsyncBackend",
    "Backend",
    "LocalBackend",
    "Query",
    "QueryCache",
    "QueryEngine",
    "QueryStats",
    "RayBackend",
    "RetryPolicy",
    "RetryableError",
    "ThreadBackend",
    "WorkerLostError",
    "fingerprint",
    "resolve_fingerprint",
]
