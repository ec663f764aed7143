"""SPEX (Kang et al., ICML 2025): sparse Fourier recovery with BCH-coded subsampling, then a refit."""

from __future__ import annotations

import logging

import numpy as np

from ..decoders.spex import SpexSettings, decode
from ..design.spex import DEFAULT_GROUPS, SpexDesign, minimum_budget, spex_design
from ..engine import Query, QueryEngine
from ..transforms.sparse import SparseTransform
from .base import Explainer, require_answers

#: order decoded when ``max_order`` is not given (the reference implementation's default)
DEFAULT_ORDER = 5

log = logging.getLogger(__name__)


class SPEX(Explainer):
    """Sparse spectral explanation: recover a sparse, low-order Fourier transform from few queries.

    The masks are fixed before any query (a pure function of ``n``, ``budget``, ``max_order`` and
    ``random_state``): ``C`` random subsampling groups of ``2^b`` masks, each shifted by the zero delay
    and the ``P`` parity rows of a BCH code correcting ``max_order`` errors. ``b`` is the largest that
    fits in the budget; :meth:`plan` says how many queries that is before querying. The decoder peels
    singletons (soft-decision BCH decoding) and refits the support found on all queries (ridge, GCV).

    Parameters
    ----------
    max_order : int, optional
        Highest interaction order recovered (the BCH code's ``t``); default 5.
    index, random_state, engine
        See :class:`~spectrex.Explainer`.
    groups : int, default 3
        Number of subsampling groups ``C``.
    chase_depth : int, optional
        Least reliable parity bits flipped by Chase decoding (default ``2·max_order``, at most 10).
    max_rounds : int, default 30
        Peeling rounds at most.

    Notes
    -----
    When the function is not sparse or not low-order enough for the budget some bins stay
    unresolved: SPEX warns (``RuntimeWarning``) and returns the best fit of what it found.
    """

    name = "spex"

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine: QueryEngine | None = None,
        *,
        groups: int = DEFAULT_GROUPS,
        chase_depth: int | None = None,
        max_rounds: int = 30,
    ):
        super().__init__(max_order=max_order, index=index, random_state=random_state, engine=engine)
        if max_order == 0:
            raise ValueError("SPEX needs max_order ≥ 1 (order 0 is just the mean; query it directly)")
        self.groups = int(groups)
        self.chase_depth = chase_depth
        self.max_rounds = int(max_rounds)

    @property
    def order(self) -> int:
        """The order decoded: ``max_order`` or the default 5."""
        return int(self.max_order) if self.max_order is not None else DEFAULT_ORDER

    def minimum_budget(self, n: int) -> int:
        """Fewest queries SPEX accepts for ``n`` parts at this order."""
        return self._supported(int(n), lambda t: minimum_budget(int(n), t, self.groups))

    def plan(self, n: int, budget: int | None = None) -> SpexDesign:
        """The design SPEX will query for ``n`` parts and ``budget`` (``plan(...).n_queries`` = queries used).

        Raises :class:`~spectrex.BudgetError` naming the minimum when the budget is too small.
        """
        return self._supported(int(n), lambda t: spex_design(int(n), budget, t, self.random_state, groups=self.groups))

    def _supported(self, n: int, build):
        """``build(order)``, or a clear error naming the largest order the BCH design supports for ``n``."""
        try:
            return build(self.order)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, ValueError) and "BCH" not in str(exc) and "GF(" not in str(exc):
                raise
        top = 0
        for t in range(min(self.order - 1, 16), 0, -1):
            try:
                minimum_budget(n, t, self.groups)
            except (OverflowError, ValueError):
                continue
            top = t
            break
        raise ValueError(
            f"SPEX max_order = {self.order} is beyond what its BCH code design supports for n = {n} parts"
            + (f"; use max_order ≤ {top}" if top else "; use fewer parts")
            + " (or method='proxyspex', which has no such limit)"
        )

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        design = self._supported(n, lambda t: spex_design(n, budget, t, rng, groups=self.groups))
        log.info(
            "SPEX: %s queries (%d groups × %d delays × 2^%d) for n = %d at max_order = %d",
            f"{design.n_queries:,}",
            design.groups,
            design.n_delays,
            design.b,
            n,
            self.order,
        )
        y = require_answers(query(design.masks()), "SPEX")
        settings = SpexSettings(chase_depth=self.chase_depth, max_rounds=self.max_rounds)
        transform, info = decode(design, y, settings)
        return transform, {"design_queries": design.n_queries, **info}
