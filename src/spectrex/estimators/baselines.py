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

from ..decoders import baselines as dec
from ..design.lime import LimeDesign
from ..design.shapley import ShapleyKernelDesign, first_order_default
from ..design.uniform import UniformDesign
from ..validate import check_number, check_whole
from .base import Explainer


class _FirstOrder(Explainer):
    """Shared checks of the first-order baselines (they estimate one value per part)."""

    default_order = 1

    def _order(self, n: int) -> int:
        if self.max_order not in (None, 1):
            raise ValueError(
                f"{type(self).__name__} estimates first-order values only; max_order must be 1 or None, "
                f"not {self.max_order}. Use method='spex' or 'proxyspex' for interactions"
            )
        return 1

    def _view_order(self, order: int | None) -> int | None:
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
        if not (isinstance(alpha, str) and alpha == "cv"):
            try:
                check_number("alpha", alpha)
            except ValueError:
                raise ValueError(f"alpha must be 'cv' or a finite number ≥ 0, got {alpha!r}") from None
        check_whole("n_folds", n_folds, 2)
        self.alpha, self.n_folds = alpha, n_folds

    def _order(self, n: int) -> int:
        order = self.default_order if self.max_order is None else self.max_order
        if order not in (1, 2):
            raise ValueError(f"{type(self).__name__} fits max_order 1 or 2, not {order}")
        return order

    def _view_order(self, order: int | None) -> int | None:
        return order

    def _pairwise(self, order: int | None) -> bool:
        return order == 2

    def design(self) -> UniformDesign:
        return UniformDesign(self._minimum, _lasso_default, enumerate_small=True, method=type(self).__name__)

    def decoder(self) -> dec.LassoDecoder:
        return dec.LassoDecoder(self.alpha, int(self.n_folds))

    def _minimum(self, n: int, max_order: int | None) -> int:
        """Two rows per cross-validation fold."""
        return 2 * int(self.n_folds)


def _lasso_default(n: int, max_order: int | None) -> int:
    """Four queries per coefficient, between 500 and 20,000."""
    return int(min(max(4 * (dec.n_fourier_features(n, max_order) + 1), 500), 20_000))


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

    def design(self) -> ShapleyKernelDesign:
        return ShapleyKernelDesign()

    def decoder(self) -> dec.KernelShapDecoder:
        return dec.KernelShapDecoder()


class BanzhafMSR(_FirstOrder):
    """Banzhaf values by maximum sample reuse (Wang & Jia 2023) on uniform random masks.

    Every sampled mask informs every part: ``φ_i`` is the mean value of the masks keeping ``i``
    minus that of the masks dropping it. With ``budget ≥ 2^n`` all masks are used once and the
    values are exact. The result is the Fourier order-1 function ``mean v + Σ_i φ_i (m_i − ½)``,
    whose Banzhaf values are the estimates.
    """

    name = "banzhaf"

    def design(self) -> UniformDesign:
        return UniformDesign(lambda n, t: 2, first_order_default, enumerate_small=True, method="BanzhafMSR")

    def decoder(self) -> dec.MsrBanzhafDecoder:
        return dec.MsrBanzhafDecoder()


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
        check_number("width", width, positive=True)
        check_number("ridge", ridge)
        self.width, self.ridge = width, ridge

    def design(self) -> LimeDesign:
        return LimeDesign()

    def decoder(self) -> dec.LimeDecoder:
        return dec.LimeDecoder(float(self.width), float(self.ridge))
