"""ProxySPEX: uniform random masks, a gradient-boosted tree proxy, its exact sparse spectrum."""

from __future__ import annotations

import numbers

import numpy as np

from ..decoders.proxy import ProxyDecoder
from ..design.stratified import StratifiedDesign
from ..design.uniform import UniformDesign
from ..transforms.residual import ResidualSample
from ..validate import check_flag, check_number, check_whole
from .base import Explainer


def default_budget(n: int, max_order: int | None = None) -> int:
    """Queries used when no budget is given: 64 per part, between 1,000 and 20,000."""
    return int(min(max(64 * n, 1000), 20_000))


def _minimum(n: int, max_order: int | None) -> int:
    """64 queries: enough to fit and validate the tree proxy."""
    return 64


class ProxySPEX(Explainer):
    """ProxySPEX (Butler et al., 2025): fit LightGBM to random ablations, read its spectrum, correct its indices.

    The masks are distinct and size-stratified (:mod:`spectrex.design.stratified`: uniform masks plus
    Shapley-kernel sizes, sizes enumerated whole when the budget reaches them, only kernel sizes from a
    quarter of all masks on; every mask once at ``budget ≥ 2^n``; below 16 queries per part, where the
    indices are the surrogate's, sizes spread evenly instead). The result's index views of orders ≤ 2
    add the residual correction of :mod:`spectrex.transforms.residual` to the proxy's exact indices, with
    standard errors; ``predict`` stays the recovered transform.

    Parameters
    ----------
    max_order : int, default 5
        Highest interaction order recovered (also bounds the proxy's tree depth).
    index, random_state, engine
        See :class:`~spectrex.Explainer`.
    paired : bool or "auto", default "auto"
        Query every mask together with its complement (the same size-stratified design, closed under
        complement). Each pair observes the function's odd part ``(f(M) − f(¬M)) / 2`` — all that Shapley
        and Banzhaf values read — apart from its even part, so the refit fits the two apart and the
        first-order corrections use the odd residual alone: on a dense order-≤ 2 game (n = 32, all 528
        terms) the Shapley values are exact from 250 queries, against errors of 1.5 / 0.72 at 250 / 500
        unpaired. The odd fit also grows by the proxy's odd terms that its residual points at, which no
        energy fraction keeps (``diagnostics["odd_grown_terms"]``; planted n = 32 at 500 queries: exact
        Shapley values in 8 of 10 seeds). But a pair is one observation of the even part, so with enough
        queries unpaired masks recover interactions better (Gemma 3 270M sentiment: SII-2 5–10 % better,
        Shapley values 20 % at 2,000). "auto": pairs below 16 queries per part, where first-order
        corrections are too thin to apply anyway, on problems of up to 262,144 queries × parts
        (:data:`spectrex.design.stratified.THIN_BELOW_PER_PART`, ``PAIRED_UP_TO``).
    energy : float, tuple of floats or "auto", default "auto"
        Fraction of the proxy's non-constant Fourier energy kept before the refit; with several
        values the best is picked on the proxy's holdout rows. "auto": (0.95, 0.99, 0.999), plus 0.9999
        on small problems (queries × parts ≤ 131,072); there, on unpaired masks, the surrogate is the mix
        of the sparse refits at every energy and the five fold proxies' mean spectrum (rebuilt from ten
        folds) in the weights (≥ 0, summing to 1) that predict the held-out folds best, where that mix
        predicts them better than the chosen energy's refit alone (a real model's long tail of weak
        interactions; ``diagnostics["surrogate"]`` is ``"mix"`` or ``"proxy"``, the weights are
        ``diagnostics["energy_weights"]`` and ``["proxy_share"]``, and ``["bagged_folds"]``). Wherever a fit
        is nearly but not exactly right (held-out R² above 0.999), matching pursuit over its terms and the
        proxies' looks for an exact sparse fit, which then is the surrogate (``diagnostics["exact_sparse_terms"]``;
        ``benchmarks/sparse_recovery``: 263 of 270 planted functions recovered exactly, 222 without it).
    top_k : int, optional
        Keep this many coefficients instead (overrides ``energy``).
    residual : bool, default True
        Second stage: add order-1/2 terms that the residual of the refit still shows (estimated by
        sample reuse over the uniform masks) and refit.
    adaptive : bool, default False
        Query in doubling rounds over uniform masks (all masks drawn up front, so rounds reuse earlier queries) and stop
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
    default_order = 5

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine=None,
        *,
        paired: bool | str = "auto",
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
        fractions = all(isinstance(e, numbers.Real) and not isinstance(e, bool) and 0 < e <= 1 for e in energies)
        if (isinstance(energy, str) and not auto) or not energies or not fractions:
            raise ValueError(f"energy must be 'auto', a fraction in (0, 1] or a tuple of them, got {energy!r}")
        check_whole("top_k", top_k, 1, optional=True)
        check_whole("num_threads", num_threads, 1)
        check_flag("residual", residual)
        check_flag("adaptive", adaptive)
        check_number("tol", tol)
        check_flag("paired", paired, auto=True)
        if proxy not in ("numba", "lightgbm"):
            raise ValueError(f"proxy must be 'numba' or 'lightgbm', got {proxy!r}")
        # stored as given (scikit-learn's clone checks that); energies are normalised where they are used
        self.paired, self.energy, self.top_k, self.residual = paired, energy, top_k, residual
        self.adaptive, self.tol, self.num_threads, self.proxy = adaptive, tol, num_threads, proxy

    def design(self) -> StratifiedDesign | UniformDesign:
        if self.adaptive:  # nested prefixes are a uniform-mask design
            return UniformDesign(_minimum, default_budget, paired=self._paired() is True, method="ProxySPEX")
        return StratifiedDesign(_minimum, default_budget, paired=self._paired(), method="ProxySPEX")

    def _paired(self) -> bool | str:
        """``paired`` as True, False or "auto" (stored as given, e.g. ``numpy.True_``, for ``clone``)."""
        return check_flag("paired", self.paired, auto=True)

    def _residual(self, transform, diagnostics: dict, masks: np.ndarray, y: np.ndarray) -> ResidualSample | None:
        # uniform paired masks (the adaptive design) are not uniform within a size given the other half
        if self._paired() is True and self.adaptive:
            return None
        # the refit's residuals at its own rows are smaller than at fresh masks: scale the variances by
        # the held-out over the in-sample residual variance (from the decoder's own holdout rows)
        held, fitted = diagnostics.get("holdout_r2"), diagnostics.get("refit_r2")
        ok = held is not None and fitted is not None and np.isfinite(held) and np.isfinite(fitted) and fitted < 1
        inflation = max(1.0, (1.0 - held) / (1.0 - fitted)) if ok else 1.0
        return ResidualSample.of(transform, masks, y, inflation)

    def decoder(self) -> ProxyDecoder:
        top_k = None if self.top_k is None else int(self.top_k)
        return ProxyDecoder(self.energy, top_k, self.residual, int(self.num_threads), self.proxy)

    def _order(self, n: int) -> int:
        return max(1, min(super()._order(n), n))

    def _adaptive_tol(self) -> float | None:
        return float(self.tol) if self.adaptive else None

    def _limits(self):
        from threadpoolctl import threadpool_limits

        # BLAS gets the same thread count as LightGBM: on a busy machine oversubscribed BLAS threads
        # made the refit's SVD 10x slower; the value function runs outside this limit's reach only
        # if it uses its own pools (torch does)
        return threadpool_limits(limits=int(self.num_threads), user_api="blas")
