"""The estimator interface: settings in the constructor, ``explain()`` does the work."""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..contract import check_budget, check_n
from ..engine import Query, QueryEngine
from ..errors import ValueFunctionError
from ..interactions import Interactions
from ..transforms.indices import canonical_index
from ..transforms.sparse import SparseTransform


class Explainer(ABC):
    """Base class of every method: a mask design plus a decoder, run through the query engine.

    Parameters
    ----------
    max_order : int or None
        Highest interaction order to recover (``None`` = the method's default).
    index : str, default "Moebius"
        Index of the returned :class:`~spectrex.Interactions` view; ``.to()`` converts later.
    random_state : int, numpy Generator or None
        Seed; a fixed value makes the masks and the result deterministic.
    engine : QueryEngine, optional
        How masks reach the model (batching, cache, back-end).
    """

    #: short name used by :func:`spectrex.explain` and in metadata
    name = "base"

    def __init__(
        self, max_order: int | None = None, index: str = "Moebius", random_state=None, engine: QueryEngine | None = None
    ):
        if max_order is not None and (isinstance(max_order, bool) or int(max_order) != max_order or max_order < 0):
            raise ValueError(f"max_order must be a non-negative integer or None, got {max_order!r}")
        self.max_order = max_order
        self.index = canonical_index(index)
        self.random_state = random_state
        self.engine = engine

    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's parameters: in scikit-learn's convention they *are* the settings."""
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in kinds)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's settings (scikit-learn's ``get_params``; ``deep`` has nothing nested to expand)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> Explainer:
        """Change settings (scikit-learn's ``set_params``); they are checked again when :meth:`explain` runs."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no setting {key!r}; its settings are: {', '.join(valid)}")
            setattr(self, key, value)
        return self

    def _settings(self) -> dict[str, Any]:
        """The JSON-friendly settings, recorded in a result's metadata."""
        return {k: v for k, v in self.get_params().items() if k != "engine" and _plain(v)}

    def explain(self, value_fn, n: int, budget: int | None = None, *, labels=None) -> Interactions:
        """Explain ``value_fn`` over ``n`` parts with at most ``budget`` queries.

        Returns
        -------
        Interactions
            The recovered transform, viewed in ``self.index``; metadata holds the method,
            budget, queries sent to the model (``queries``) and served from memory or the cache
            (``queries_cached``), seed, settings, engine settings and timings.
        """
        type(self)(**self.get_params(deep=False))  # the constructor's checks, also for values given to set_params
        n = check_n(n)
        budget = check_budget(budget)
        if isinstance(labels, (str, bytes)):
            raise TypeError(
                f"labels must be a list with one string per part, not one string ({labels!r}); e.g. labels=[...]"
            )
        self._check_memory(n, budget)
        own_engine = self.engine is None
        engine = QueryEngine() if own_engine else self.engine
        try:
            query = engine.bind(value_fn, n)
            query.expect(budget)
            t0 = time.perf_counter()
            try:
                transform, info = self._fit(query, n, budget, np.random.default_rng(self.random_state))
            finally:
                query.close()
            total = time.perf_counter() - t0
        finally:
            if own_engine:
                engine.close()
        metadata = {
            "method": self.name,
            "budget": budget,
            "queries": query.stats.sent,
            "queries_cached": query.stats.cached,
            "queries_requested": query.stats.requested,
            "queries_dropped": query.stats.dropped,
            "engine": query.describe(),
            "seed": self.random_state if isinstance(self.random_state, (int, np.integer)) else None,
            "settings": self._settings(),
            "timings": {
                "total_s": total,
                "model_s": query.stats.model_seconds,
                "algorithm_s": max(total - query.stats.model_seconds, 0.0),
            },
            **info,
        }
        return Interactions(transform, self.index, self._view_order(transform), labels, metadata)

    def _check_memory(self, n: int, budget: int | None) -> None:
        """Refuse a design that would not fit in memory, before any mask is made (see :mod:`spectrex.bounds`)."""
        import sys

        from ..bounds import check_design

        if budget is None:  # the method's default budget, when its module says what it is
            default = getattr(sys.modules.get(type(self).__module__), "default_budget", None)
            budget = default(n) if callable(default) else None
        if budget is not None:
            check_design(n, int(budget), type(self).__name__, pairwise=self.name in ("lasso2", "faithbanzhaf"))

    def _view_order(self, transform: SparseTransform) -> int | None:
        return self.max_order

    @abstractmethod
    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        """Query the model through ``query`` and return the recovered transform and extra metadata."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({args})"


def _plain(v) -> bool:
    return (
        v is None
        or isinstance(v, (bool, int, float, str))
        or (isinstance(v, (list, tuple)) and all(_plain(x) for x in v))
    )


def answered(masks: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows the model answered: with ``on_error="drop"`` the engine returns failed rows as NaN.

    For designs of independent random masks, where leaving a row out only costs a sample.
    """
    ok = np.isfinite(y)
    return (masks, y) if ok.all() else (masks[ok], y[ok])


def require_answers(y: np.ndarray, method: str) -> np.ndarray:
    """For structured designs (every mask needed): a clear error when the engine dropped rows."""
    dropped = np.flatnonzero(~np.isfinite(y))
    if dropped.size:
        raise ValueFunctionError(
            f"{method} needs the value of every mask in its design, but {dropped.size} were dropped "
            "(on_error='drop'); fix the model for those masks, or use a sampling method such as ProxySPEX",
            rows=dropped,
        )
    return y
