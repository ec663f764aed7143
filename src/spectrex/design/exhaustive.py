"""Every one of the 2^n masks: the design of the exact transform."""

from __future__ import annotations

import numpy as np

from ..errors import BudgetError
from ..transforms.wht import all_masks
from .base import MaskDesign

#: the largest n whose 2^n masks are queried
MAX_EXACT_N = 20


class AllMasks(MaskDesign):
    """All ``2^n`` masks in :func:`~spectrex.transforms.all_masks` order (structured: every row needed)."""

    every_row = True
    method = "Exact"

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return 2**n

    def default_budget(self, n: int, max_order: int | None) -> int:
        return 2**n

    def budget(self, n: int, budget: int | None, max_order: int | None) -> int:
        if n > MAX_EXACT_N:
            raise ValueError(
                f"Exact needs all 2^{n} = {2**n:,} masks; it is limited to n ≤ {MAX_EXACT_N}. "
                "Use method='spex' or method='proxyspex', which need far fewer queries"
            )
        if budget is not None and budget < 2**n:
            raise BudgetError(f"Exact needs all 2^{n} = {2**n:,} queries but the budget is {budget:,}", minimum=2**n)
        return 2**n

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        return all_masks(n), None
