"""The estimator interface and its one driver: a method is a mask design plus a decoder.

Settings live in the constructor (scikit-learn's convention); a method declares its
:meth:`Explainer.design` and :meth:`Explainer.decoder` from them, and :meth:`Explainer.explain`
does the rest for every method: budget default and minimum, the plan, the queries, the dropped-row
rule of the plan, the decoding and the metadata.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import check_design
from ..contract import check_budget, check_n
from ..decoders.base import Decoder
from ..design.base import Design, Plan
from ..engine import Query, QueryEngine
from ..errors import ValueFunctionError
from ..interactions import Interactions
from ..provenance import Counts, Provenance, Source, Timings
from ..transforms import bitset
from ..transforms.indices import canonical_index
from ..transforms.residual import ResidualSample
from ..transforms.sparse import SparseTransform
from ..validate import check_whole

if TYPE_CHECKING:
    from ..explanations import Explanations


class Explainer(ABC):
    """Base class of every method: a mask design plus a decoder, run through the query engine.

    A subclass sets ``name`` and ``default_order`` and returns its :meth:`design` and
    :meth:`decoder`; see ``docs/extending.md``.

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
    #: whether the decoded transform reproduces the model on every mask once all 2^n were answered
    #: (Exact); then the result says so (``provenance.exhaustive``) and no held-out check is run
    interpolates = False

    def __init__(
        self, max_order: int | None = None, index: str = "Moebius", random_state=None, engine: QueryEngine | None = None
    ):
        check_whole("max_order", max_order, 0, optional=True)
        try:
            np.random.default_rng(random_state)  # what explain does with it (a Generator is returned as is)
        except (TypeError, ValueError):
            raise ValueError(
                f"random_state must be None, an integer ≥ 0 or a numpy Generator, got {random_state!r}"
            ) from None
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

    # -- what a method declares ---------------------------------------------------------------
    #: order recovered when ``max_order`` is None (None: no cap)
    default_order: int | None = None

    @abstractmethod
    def design(self) -> Design:
        """The mask design, configured by this method's settings."""

    @abstractmethod
    def decoder(self) -> Decoder:
        """The decoder, configured by this method's settings."""

    def _order(self, n: int) -> int | None:
        """The order decoded for ``n`` parts (methods restrict it here, with a message that says why)."""
        return self.default_order if self.max_order is None else int(self.max_order)

    def _view_order(self, order: int | None) -> int | None:
        """Highest order of the returned index view (default: ``max_order`` as given)."""
        return self.max_order

    def _adaptive_tol(self) -> float | None:
        """Held-out gain below which an adaptive budget stops; None: query the whole plan at once."""
        return None

    def _limits(self):
        """Context held while querying and decoding (e.g. BLAS threads)."""
        return contextlib.nullcontext()

    # -- the driver -----------------------------------------------------------------------------
    def minimum_budget(self, n: int) -> int:
        """Fewest queries this method accepts for ``n`` parts."""
        n = check_n(n)
        return self.design().minimum_budget(n, self._order(n))

    def default_budget(self, n: int) -> int:
        """Queries used for ``n`` parts when no budget is given."""
        n = check_n(n)
        return self.design().default_budget(n, self._order(n))

    def plan(self, n: int, budget: int | None = None) -> Plan:
        """The masks this method will query for ``n`` parts and ``budget``, before any query is made.

        ``plan(n, budget).n_queries`` is the number of rows (the engine sends each distinct mask once);
        with a fixed ``random_state`` they are the masks :meth:`explain` queries. Raises
        :class:`~spectrex.BudgetError` naming the minimum when the budget is too small.
        """
        n, budget = check_n(n), check_budget(budget)
        order, design = self._order(n), self.design()
        # the size checks explain() makes, so that a plan too large is refused before it is allocated
        check_design(n, design.budget(n, budget, order), type(self).__name__, pairwise=self._pairwise(order))
        return design.plan(n, budget, order, np.random.default_rng(self.random_state))

    def explain(
        self,
        value_fn,
        n: int | None = None,
        budget: int | None = None,
        *,
        labels=None,
        method: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Interactions | Explanations:
        """Explain ``value_fn`` over ``n`` parts (default: ``value_fn.n``) with at most ``budget`` queries.

        ``method`` is the name the result records (default: the estimator's own, ``self.name``; e.g. the
        alias the user chose) and ``notes`` what the result should say about the run (the choices made).

        Returns
        -------
        Interactions or Explanations
            The recovered transform, viewed in ``self.index``; for a value function with several
            outputs per mask (``(q, m)`` answers, or an ``outputs`` attribute), an
            :class:`~spectrex.Explanations` with one :class:`Interactions` per output, all decoded from
            the same queries (plus the explanation of their sum when the function has a ``total``
            name, e.g. a whole generated sequence). Its :class:`~spectrex.provenance.Provenance` holds
            the method, budget, the queries sent to the model, served from memory or the cache, asked
            for, dropped and planned, whether every mask was queried, the seed, settings, engine
            settings, timings, what the value function says about itself (:meth:`describe`, its
            ``full_values``) and the decoder's ``diagnostics``.
        """
        type(self)(**self.get_params(deep=False))  # the constructor's checks, also for values given to set_params
        if n is None:
            n = getattr(value_fn, "n", None)
            if n is None:
                raise ValueError("pass n, the number of parts (this value function does not say how many it has)")
        n = check_n(n)
        budget = check_budget(budget)
        if labels is None:
            labels = getattr(value_fn, "labels", None)
        if isinstance(labels, (str, bytes)):
            raise TypeError(
                f"labels must be a list with one string per part, not one string ({labels!r}); e.g. labels=[...]"
            )
        order = self._order(n)
        design, decoder = self.design(), self.decoder()
        check_design(n, design.budget(n, budget, order), type(self).__name__, pairwise=self._pairwise(order))
        rng = np.random.default_rng(self.random_state)
        own_engine = self.engine is None
        engine = QueryEngine() if own_engine else self.engine
        try:
            query = engine.bind(value_fn, n)
            query.expect(budget)
            t0 = time.perf_counter()
            try:
                with self._limits():
                    plan = design.plan(n, budget, order, rng)
                    decoded, (answered_masks, answered_y) = self._run(query, plan, decoder, order)
                    outputs = decoded if isinstance(decoded, list) else [decoded]
                    columns = _columns(answered_y, value_fn)
                    residuals = [
                        self._residual(t, d, answered_masks, column) for (t, d), column in zip(outputs, columns)
                    ]
            finally:
                query.close()
            total = time.perf_counter() - t0
        finally:
            if own_engine:
                engine.close()
        model_s = query.stats.model_seconds
        counts = Counts(
            sent=query.stats.sent,
            cached=query.stats.cached,
            requested=query.stats.requested,
            dropped=query.stats.dropped,
            planned=plan.n_queries,
        )
        shared = Provenance(
            method=method or self.name,
            budget=budget,
            counts=counts,
            engine=query.describe(),
            seed=self.random_state if isinstance(self.random_state, (int, np.integer)) else None,
            settings=self._settings(),
            timings=Timings(total_s=total, model_s=model_s, algorithm_s=max(total - model_s, 0.0)),
            quantity=value_fn.quantity if isinstance(getattr(value_fn, "quantity", None), str) else None,
            notes=list(notes),
            exhaustive=self.interpolates and _every_mask(answered_masks, n),
        )
        describe = getattr(value_fn, "describe", None)
        source = describe() if callable(describe) else None
        full = getattr(value_fn, "full_values", None)
        view = self._view_order(order)
        if not isinstance(decoded, list):
            transform, diagnostics = decoded
            meta = _each(shared, None, diagnostics, source, None if full is None else float(np.sum(full)))
            return Interactions(transform, self.index, view, labels, meta, residuals[0])
        from ..explanations import Explanations

        names = query.outputs or [str(j) for j in range(len(decoded))]
        total_name = getattr(value_fn, "total", None) if len(decoded) > len(names) else None
        fulls = [None] * len(decoded) if full is None else [*np.ravel(full).tolist(), float(np.sum(full))]
        items = [
            Interactions(t, self.index, view, labels, _each(shared, name, d, source, f), residual)
            for (t, d), name, residual, f in zip(decoded, [*names, total_name], residuals, fulls)
        ]
        return Explanations(items[: len(names)], names, items[len(names)] if total_name else None)

    def _residual(
        self, transform: SparseTransform, diagnostics: dict, masks: np.ndarray, y: np.ndarray
    ) -> ResidualSample | None:
        """The residual sample that corrects the index views (None: the views are the transform's alone).

        Only designs whose masks of one size are a uniform random subset of that size qualify
        (:mod:`spectrex.transforms.residual`); a method opts in by overriding this.
        """
        return None

    def _run(self, query: Query, plan: Plan, decoder: Decoder, order: int | None):
        """Query the plan and decode; with an adaptive tolerance, round by round over its prefixes.

        Returns ``(decoded, (masks, values))``: ``decoded`` is ``(transform, diagnostics)``, or a list of them
        for a multi-output value function — one per output decoded from the same masks and the same
        generator state (so each equals a single-output explanation of that output), then the sum of the
        outputs when the function names a ``total``; ``(masks, values)`` are the answered rows it was
        decoded from (values ``(q,)`` or ``(q, m)``).
        """
        tol = self._adaptive_tol()
        if tol is None or not plan.prefixes:
            masks, y = answered = self._answered(plan, plan.masks, query(plan.masks), decoder)
            if y.ndim == 1:
                return decoder(plan, masks, y, order), answered
            columns = _columns(y, query.value_fn)
            copies = [dataclasses.replace(plan, rng=copy.deepcopy(plan.rng)) for _ in columns]
            return [decoder(rnd, masks, c, order) for rnd, c in zip(copies, columns)], answered
        history, best, state = [], None, copy.deepcopy(plan.rng)
        for size in plan.prefixes:
            # every round decodes with the same generator state, so rounds differ only in their data;
            # earlier rows come back from the query's memo (and any engine cache), not the model
            rnd = dataclasses.replace(plan, rng=copy.deepcopy(state))
            masks = plan.masks[:size]
            y = query(masks)
            if y.ndim == 2:
                raise ValueError(
                    f"an adaptive budget stops on one output's fit, but this value function has {y.shape[1]} "
                    "outputs; pass adaptive=False (the budget is then spent at once) or explain one output at a time"
                )
            answered = self._answered(plan, masks, y, decoder)
            transform, diagnostics = decoder(rnd, *answered, order)
            score = diagnostics[decoder.score]
            history.append({"queries": size, decoder.score: score})
            gain = score - best if best is not None else np.inf
            best = score if best is None else max(best, score)
            if gain < tol:
                break
        diagnostics["adaptive_rounds"] = history
        return (transform, diagnostics), answered

    def _answered(self, plan: Plan, masks: np.ndarray, y: np.ndarray, decoder: Decoder):
        """The dropped-row rule of the plan: a structured design needs every row, a sampling one drops them.

        With ``on_error="drop"`` the engine returns failed rows as NaN.
        """
        ok = np.isfinite(y) if y.ndim == 1 else np.isfinite(y).all(axis=1)
        if ok.all():
            return masks, y
        method = type(self).__name__
        if plan.every_row:
            dropped = np.flatnonzero(~ok)
            raise ValueFunctionError(
                f"{method} needs the value of every mask in its design, but {dropped.size} were dropped "
                "(on_error='drop'); fix the model for those masks, or use a sampling method such as ProxySPEX",
                rows=dropped,
            )
        least = getattr(decoder, "min_rows", 1)
        if int(ok.sum()) < least:
            raise ValueFunctionError(
                f"{method} got {int(ok.sum())} answered queries out of {len(y)} (the engine dropped the rest, "
                f"on_error='drop') and needs at least {least}; fix the model for the failing masks "
                "(see the engine's warnings) or query with on_error='raise' to see the first failure",
                rows=np.flatnonzero(~ok)[:100],
            )
        return masks[ok], y[ok]

    def _pairwise(self, order: int | None) -> bool:
        """Whether the decoder builds order-2 features (for the memory bound)."""
        return False

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({args})"


def _each(shared: Provenance, output: str | None, diagnostics: dict, source: Source | None, full) -> Provenance:
    """One output's provenance: the run's shared record with the output's name, diagnostics and full value."""
    if source is not None or full is not None:
        source = dataclasses.replace(source or Source(), full_value=full)
    return dataclasses.replace(
        shared, output=output, diagnostics=diagnostics, source=source, timings=copy.deepcopy(shared.timings),
        notes=list(shared.notes),
    )  # fmt: skip


def _every_mask(masks: np.ndarray, n: int) -> bool:
    """Whether the answered ``masks`` are all ``2^n`` subsets."""
    return n < 63 and len(masks) >= 2**n and len(np.unique(bitset.pack(masks), axis=0)) == 2**n


def _columns(y: np.ndarray, value_fn) -> list[np.ndarray]:
    """The answers of each output (one column, or each of ``(q, m)``'s, then their sum when the value
    function names a ``total``)."""
    if y.ndim == 1:
        return [y]
    columns = [y[:, j] for j in range(y.shape[1])]
    return columns + ([y.sum(axis=1)] if isinstance(getattr(value_fn, "total", None), str) else [])


def _plain(v) -> bool:
    return (
        v is None
        or isinstance(v, (bool, int, float, str))
        or (isinstance(v, (list, tuple)) and all(_plain(x) for x in v))
    )
