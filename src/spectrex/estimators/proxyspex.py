"""ProxySPEX: uniform random masks, a gradient-boosted tree proxy, its exact sparse spectrum."""

from __future__ import annotations

import numpy as np

from ..decoders.proxy import MIN_ROWS, proxy_decode
from ..design import uniform_masks
from ..engine import Query
from ..errors import BudgetError, ValueFunctionError
from ..transforms.sparse import SparseTransform
from .base import Explainer, answered

MIN_BUDGET = 64
DEFAULT_MAX_ORDER = 5


def _answered(masks: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The answered rows, or a clear error when (nearly) all of them were dropped by the engine."""
    kept_masks, kept_y = answered(masks, y)
    if len(kept_y) < MIN_ROWS:
        raise ValueFunctionError(
            f"ProxySPEX got {len(kept_y)} answered queries out of {len(y)} (the engine dropped the rest, "
            f"on_error='drop') and needs at least {MIN_ROWS}; fix the model for the failing masks "
            "(see the engine's warnings) or query with on_error='raise' to see the first failure",
            rows=np.flatnonzero(~np.isfinite(y))[:100],
        )
    return kept_masks, kept_y


def default_budget(n: int) -> int:
    """Queries used when no budget is given: 64 per part, between 1,000 and 20,000."""
    return int(min(max(64 * n, 1000), 20_000))


class ProxySPEX(Explainer):
    """ProxySPEX (Butler et al., 2025): fit LightGBM to uniform random ablations, read its spectrum.

    Parameters
    ----------
    max_order : int, default 5
        Highest interaction order recovered (also bounds the proxy's tree depth).
    index, random_state, engine
        See :class:`~spectrex.Explainer`.
    paired : bool, default False
        Query each random mask together with its complement.
    energy : float, tuple of floats or "auto", default "auto"
        Fraction of the proxy's non-constant Fourier energy kept before the refit; with several
        values the best is picked on the proxy's holdout rows. "auto": (0.95, 0.99, 0.999), plus 0.9999
        on small problems (queries × parts ≤ 131,072).
    top_k : int, optional
        Keep this many coefficients instead (overrides ``energy``).
    residual : bool, default True
        Second stage: add order-1/2 terms that the residual of the refit still shows (estimated by
        sample reuse over the uniform masks) and refit.
    adaptive : bool, default False
        Query in doubling rounds (all masks drawn up front, so rounds reuse earlier queries) and stop
        once the held-out R² of the fit improves by less than ``tol``.
    tol : float, default 0.002
        Held-out R² gain below which the adaptive budget stops.
    num_threads : int, default 1
        LightGBM and BLAS threads during decoding (fixed so results are deterministic).
    proxy : {"numba", "lightgbm"}, default "numba"
        The boosted-tree learner: spectrex's own kernel for binary masks (no heavy imports) or
        LightGBM with the same settings (the two grow the same trees on these inputs).
    """

    name = "proxyspex"

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine=None,
        *,
        paired: bool = False,
        energy: float | tuple[float, ...] | str = "auto",
        top_k: int | None = None,
        residual: bool = True,
        adaptive: bool = False,
        tol: float = 0.002,
        num_threads: int = 1,
        proxy: str = "numba",
    ):
        super().__init__(max_order, index, random_state, engine)
        auto = isinstance(energy, str) and energy == "auto"
        energies = (0.5,) if auto else (energy,) if np.isscalar(energy) else tuple(energy)
        if (isinstance(energy, str) and not auto) or not energies or not all(0 < float(e) <= 1 for e in energies):
            raise ValueError(f"energy must be 'auto', a fraction in (0, 1] or a tuple of them, got {energy!r}")
        if top_k is not None and int(top_k) < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        if proxy not in ("numba", "lightgbm"):
            raise ValueError(f"proxy must be 'numba' or 'lightgbm', got {proxy!r}")
        # stored as given (scikit-learn's clone checks that); energies are normalised where they are used
        self.paired, self.energy, self.top_k, self.residual = paired, energy, top_k, residual
        self.adaptive, self.tol, self.num_threads, self.proxy = adaptive, tol, num_threads, proxy

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        from threadpoolctl import threadpool_limits

        # BLAS gets the same thread count as LightGBM: on a busy machine oversubscribed BLAS threads
        # made the refit's SVD 10x slower; the value function runs outside this limit's reach only
        # if it uses its own pools (torch does)
        with threadpool_limits(limits=self.num_threads, user_api="blas"):
            return self._fit_limited(query, n, budget, rng)

    def _fit_limited(self, query: Query, n: int, budget: int | None, rng: np.random.Generator):
        order = DEFAULT_MAX_ORDER if self.max_order is None else self.max_order
        order = max(1, min(order, n))
        if budget is None:
            budget = default_budget(n)
        if budget < MIN_BUDGET:
            raise BudgetError(
                f"ProxySPEX needs at least {MIN_BUDGET} queries to fit and validate its tree proxy, "
                f"but the budget is {budget}; raise the budget (default for n = {n}: {default_budget(n):,})",
                minimum=MIN_BUDGET,
            )
        # every mask is drawn before any query: the design never depends on the model
        masks = uniform_masks(n, budget, rng, paired=self.paired)[:budget]
        seed = int(rng.integers(2**31 - 1))
        energy = self.energy
        if not isinstance(energy, str):  # "auto" passes through; one fraction or a tuple of them
            energies = (energy,) if np.isscalar(energy) else tuple(energy)
            energy = tuple(float(e) for e in energies) if len(energies) > 1 else float(energies[0])
        kw = {
            "energy": energy,
            "top_k": self.top_k,
            "residual": self.residual,
            "seed": seed,
            "num_threads": self.num_threads,
            "proxy": self.proxy,
        }
        if not self.adaptive:
            return proxy_decode(*_answered(masks, query(masks)), n, order, **kw)
        sizes, size = [], max(MIN_BUDGET, budget // 8)
        while size < budget:
            sizes.append(size)
            size *= 2
        sizes.append(budget)
        history, best = [], None
        for size in sizes:
            # earlier rows come back from the query's memo (and any engine cache), not the model
            transform, meta = proxy_decode(*_answered(masks[:size], query(masks[:size])), n, order, **kw)
            score = meta["holdout_r2"]
            history.append({"queries": size, "holdout_r2": score})
            gain = score - best if best is not None else np.inf
            best = score if best is None else max(best, score)
            if gain < self.tol:
                break
        meta["adaptive_rounds"] = history
        return transform, meta
