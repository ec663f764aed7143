"""The exact transform from the values of all 2^n masks."""

from __future__ import annotations

import numpy as np

from ..design.base import Plan
from ..transforms.sparse import SparseTransform
from ..transforms.wht import exact_fourier


class ExactDecoder:
    """Fast Walsh–Hadamard transform of the values of :class:`~spectrex.design.AllMasks`."""

    min_rows = 1

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        fourier = exact_fourier(values, masks.shape[1])
        # drop float dust so the transform stays as sparse as the function is
        scale = max(float(np.abs(fourier.coefs).max(initial=0.0)), 1e-300)
        keep = np.abs(fourier.coefs) > 1e-12 * scale
        return SparseTransform(fourier.n, fourier.supports[keep], fourier.coefs[keep], "fourier"), {}
