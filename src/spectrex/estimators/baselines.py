"""Baseline methods, under the same contract and through the same query engine as SPEX.

======================  ==================================  ===========================================
method                  returned transform                  what ``predict(m)`` means
======================  ==================================  ===========================================
``LASSO`` (lasso1)      Fourier, order ≤ 1, sparse          the LASSO surrogate ``Σ_K F(K)(-1)^{|K∩m|}``
``FaithBanzhaf``        Fourier, order ≤ 2, sparse          the same with pairs (Faith-Banzhaf regression)
``KernelSHAP``          Möbius, order ≤ 1                   ``v(∅) + Σ_{i∈m} φ_i`` (exact at ∅ and N)
``BanzhafMSR``          Fourier, order ≤ 1                  ``mean v + Σ_i β_i (m_i − ½)``
``LIME``                Möbius, order ≤ 1                   LIME's local surrogate ``b + Σ_{i∈m} β_i``
======================  ==================================  ===========================================

In each case the index that the method estimates is exact on the returned transform:
``result.to("SV")`` gives KernelSHAP's Shapley values, ``result.to("BV")`` the MSR Banzhaf values,
``result.to("FBII", max_order=2)`` the Faith-Banzhaf indices.
"""

from __future__ import annotations

import numpy as np

from ..contract import check_budget
from ..decoders import baselines as dec
from ..engine import Query
from ..errors import BudgetError
from ..transforms import bitset
from ..transforms.sparse import SparseTransform
from ..transforms.wht import all_masks
from .base import Explainer, answered, require_answers


def _first_order(n: int, const: float, coefs: np.ndarray, basis: str) -> SparseTransform:
    sup = np.zeros((n + 1, bitset.n_words(n)), np.uint64)
    bitset.set_bits(sup, np.arange(1, n + 1), np.arange(n))
    return SparseTransform(n, sup, np.concatenate([[const], coefs]), basis)


class _FirstOrder(Explainer):
    """Shared checks of the first-order baselines (they estimate one value per part)."""

    min_budget = 2

    def _order(self) -> int:
        if self.max_order not in (None, 1):
            raise ValueError(
                f"{type(self).__name__} estimates first-order values only; max_order must be 1 or None, "
                f"not {self.max_order}. Use method='spex' or 'proxyspex' for interactions"
            )
        return 1

    def _budget(self, n: int, budget: int | None) -> int:
        if budget is None:
            budget = max(1000, 20 * n)
        return check_budget(budget, minimum=self.min_budget, method=type(self).__name__)

    def _view_order(self, transform: SparseTransform) -> int | None:
        return 1


class LASSO(Explainer):
    """LASSO regression on the Fourier basis up to ``max_order`` (1 or 2, default 1) on uniform masks.

    Parameters
    ----------
    alpha : "cv" or float, default "cv"
        The L1 penalty (on the ``1/(2q)``-scaled squared error); ``"cv"`` picks it by K-fold
        cross-validation on a 20-point path, ``0`` fits plain least squares.
    n_folds : int, default 5
    max_order, index, random_state, engine
        As in :class:`~spectrex.Explainer`.

    Notes
    -----
    With ``alpha=0`` and every mask queried, the fit is the Fourier truncation to ``max_order``:
    the Faith-Banzhaf interaction index (Tsai et al. 2023). The default budget is four queries per
    coefficient (at most 20 000); the order-2 design holds ``budget × n²/2`` floats, so it is refused
    past about 3 GB.
    """

    name = "lasso"
    default_order = 1

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine=None,
        alpha="cv",
        n_folds: int = 5,
    ):
        super().__init__(max_order, index, random_state, engine)
        if not (alpha == "cv" or (isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha >= 0)):
            raise ValueError(f"alpha must be 'cv' or a non-negative number, got {alpha!r}")
        if int(n_folds) != n_folds or n_folds < 2:
            raise ValueError(f"n_folds must be an integer ≥ 2, got {n_folds!r}")
        self.alpha = alpha
        self.n_folds = int(n_folds)

    def _order(self) -> int:
        order = self.default_order if self.max_order is None else self.max_order
        if order not in (1, 2):
            raise ValueError(f"{type(self).__name__} fits max_order 1 or 2, not {order}")
        return order

    def _view_order(self, transform: SparseTransform) -> int | None:
        return self._order()

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        order = self._order()
        p = dec.n_fourier_features(n, order)
        if budget is None:
            budget = int(min(max(4 * (p + 1), 500), 20_000))
        budget = check_budget(budget, minimum=2 * self.n_folds, method=type(self).__name__)
        if budget >= 2**n:  # small n: every mask once beats sampling with repeats
            masks = all_masks(n)
        else:
            masks = rng.random((budget, n)) < 0.5
        masks, y = answered(masks, query(masks))
        sup, coefs, info = dec.lasso_fourier(masks, y, order, rng, alpha=self.alpha, n_folds=self.n_folds)
        return SparseTransform(n, sup, coefs, "fourier"), {"lasso": info, "max_order": order}


class FaithBanzhaf(LASSO):
    """:class:`LASSO` with pairs (``max_order=2``): Faith-Banzhaf regression on the Fourier basis."""

    name = "faithbanzhaf"
    default_order = 2


class KernelSHAP(_FirstOrder):
    """Shapley values by KernelSHAP: Shapley-kernel weighted regression with the efficiency constraint.

    Queries the empty and full masks, then coalitions drawn from the Shapley kernel in complementary
    pairs; with ``budget ≥ 2^n`` it enumerates every coalition with its exact kernel weight, which
    returns the exact Shapley values. The result is the additive (Möbius order-1) function
    ``v(∅) + Σ_{i∈m} φ_i``: its Shapley values are the estimates, and it matches the model on the
    empty and the full mask.
    """

    name = "kernelshap"
    min_budget = 3

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        self._order()
        budget = self._budget(n, budget)
        ends = np.zeros((2, n), bool)
        ends[1] = True
        if budget >= 2**n:
            inner = all_masks(n)
            inner = inner[(inner.sum(1) > 0) & (inner.sum(1) < n)]
            weights = dec.shapley_kernel_weight(inner.sum(1), n)
        else:
            inner, weights = dec.shapley_kernel_masks(n, budget - 2, rng), None
        v = require_answers(query(np.concatenate([ends, inner])), "KernelSHAP")
        phi = dec.kernel_shap(inner, v[2:], float(v[0]), float(v[1]), weights)
        return _first_order(n, float(v[0]), phi, "mobius"), {"enumerated": weights is not None}


class BanzhafMSR(_FirstOrder):
    """Banzhaf values by maximum sample reuse (Wang & Jia 2023) on uniform random masks.

    Every sampled mask informs every part: ``φ_i`` is the mean value of the masks keeping ``i``
    minus that of the masks dropping it. With ``budget ≥ 2^n`` all masks are used once and the
    values are exact. The result is the Fourier order-1 function ``mean v + Σ_i φ_i (m_i − ½)``,
    whose Banzhaf values are the estimates.
    """

    name = "banzhaf"

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        self._order()
        budget = self._budget(n, budget)
        masks = all_masks(n) if budget >= 2**n else rng.random((budget, n)) < 0.5
        masks, y = answered(masks, query(masks))
        phi = dec.msr_banzhaf(masks, y)
        # Banzhaf value of i = −2 F({i}) in the Fourier basis
        return _first_order(n, float(y.mean()), -phi / 2.0, "fourier"), {}


class LIME(_FirstOrder):
    """LIME-style local surrogate: weighted ridge regression on masks around the full input.

    Masks follow LIME's text sampler (the full input, then a uniform number of parts removed at
    random); each is weighted by ``exp(−d²/width²)`` with ``d`` its cosine distance to the full
    input; the surrogate ``b + Σ_{i∈m} β_i`` is fitted with an L2 penalty ``ridge`` (LIME's
    default 1). The result is that additive (Möbius order-1) surrogate; ``β`` are LIME's weights.

    Parameters
    ----------
    width : float, default 0.25
        Kernel width on the cosine distance (LIME's 25 on distances ×100).
    ridge : float, default 1.0
        L2 penalty of the surrogate (0 = weighted least squares).
    """

    name = "lime"

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine=None,
        width: float = 0.25,
        ridge: float = 1.0,
    ):
        super().__init__(max_order, index, random_state, engine)
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if not ridge >= 0:
            raise ValueError(f"ridge must be non-negative, got {ridge!r}")
        self.width = float(width)
        self.ridge = float(ridge)

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        self._order()
        budget = self._budget(n, budget)
        if budget < n + 1:  # a weighted least-squares fit of n + 1 values needs at least that many samples
            raise BudgetError(
                f"LIME fits one weight per part plus an intercept, so it needs a budget of at least n + 1 = {n + 1} "
                f"for n = {n} parts, but the budget is {budget}; raise the budget (default: {max(1000, 20 * n):,})",
                minimum=n + 1,
            )
        masks = dec.lime_masks(n, budget, rng)
        masks, y = answered(masks, query(masks))
        b, beta = dec.weighted_linear(masks, y, dec.lime_kernel(masks, self.width), self.ridge)
        return _first_order(n, b, beta, "mobius"), {}
