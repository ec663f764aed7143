"""The exact transform from the values of all 2^n masks."""

from __future__ import annotations

import numpy as np

from ..design.base import Plan
from ..transforms.sparse import SparseTransform
from ..transforms.wht import exact_fourier


def dust_floor(values: np.ndarray, n: int) -> float:
    """The largest rounding error of a Fourier coefficient from ``values`` over ``n`` parts: 4 n eps max|v|."""
    top = float(np.abs(np.asarray(values, dtype=np.float64)).max(initial=0.0))
    return 4.0 * max(n, 1) * float(np.finfo(np.float64).eps) * top


class ExactDecoder:
    """Fast Walsh–Hadamard transform of the values of :class:`~spectrex.design.AllMasks`."""

    min_rows = 1

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        n = masks.shape[1]
        fourier = exact_fourier(values, n)
        # drop float dust so the transform stays as sparse as the function is. The dust is the
        # transform's own rounding: each coefficient is a mean of 2^n values summed in n stages, so its
        # error is below ~n · eps · max|value| — a floor set by the data, under which no real
        # coefficient is dropped (a Möbius term of 1.6e-7 on all 16 parts is a Fourier one of 2.4e-12)
        keep = np.abs(fourier.coefs) > dust_floor(values, n)
        return SparseTransform(fourier.n, fourier.supports[keep], fourier.coefs[keep], "fourier"), {}
