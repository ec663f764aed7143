"""Exact transform from all 2^n masks: the reference for small inputs."""

from __future__ import annotations

import numpy as np

from ..engine import Query
from ..errors import BudgetError
from ..transforms.sparse import SparseTransform
from ..transforms.wht import all_masks, exact_fourier
from .base import Explainer, require_answers

MAX_EXACT_N = 20


class Exact(Explainer):
    """Query every one of the 2^n masks and return the exact Fourier transform.

    Refuses ``n > 20``; use :class:`~spectrex.SPEX` or :class:`~spectrex.ProxySPEX` there.
    ``max_order`` (default: none) only caps the order of the index view.
    """

    name = "exact"

    def _fit(self, query: Query, n: int, budget: int | None, rng: np.random.Generator) -> tuple[SparseTransform, dict]:
        if n > MAX_EXACT_N:
            raise ValueError(
                f"Exact needs all 2^{n} = {2**n:,} masks; it is limited to n ≤ {MAX_EXACT_N}. "
                "Use method='spex' or method='proxyspex', which need far fewer queries"
            )
        if budget is not None and budget < 2**n:
            raise BudgetError(f"Exact needs all 2^{n} = {2**n:,} queries but the budget is {budget:,}", minimum=2**n)
        y = require_answers(query(all_masks(n)), "Exact")
        fourier = exact_fourier(y, n)
        # drop float dust so the transform stays as sparse as the function is
        scale = max(float(np.abs(fourier.coefs).max(initial=0.0)), 1e-300)
        keep = np.abs(fourier.coefs) > 1e-12 * scale
        return SparseTransform(n, fourier.supports[keep], fourier.coefs[keep], "fourier"), {}
