"""LIME's text sampler: the full input, then masks removing a uniform number of parts."""

from __future__ import annotations

import numpy as np

from .base import MaskDesign
from .shapley import first_order_default


def lime_masks(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """LIME's text sampler: the full input first, then masks removing a uniform number 1…n of parts."""
    if count <= 0:
        return np.zeros((0, n), dtype=bool)
    removed = rng.integers(1, n + 1, size=count - 1)
    ranks = np.argsort(rng.random((count - 1, n)), axis=1)
    return np.concatenate([np.ones((1, n), bool), ranks >= removed[:, None]])


class LimeDesign(MaskDesign):
    """``budget`` masks from :func:`lime_masks` (a sampling design).

    The minimum is ``n + 1``: a weighted least-squares fit of one weight per part plus an intercept
    needs at least that many samples.
    """

    method = "LIME"

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return n + 1

    def why_minimum(self, n: int) -> str:
        return f" (LIME fits one weight per part plus an intercept: n + 1 = {n + 1})"

    def default_budget(self, n: int, max_order: int | None) -> int:
        return first_order_default(n)

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        return lime_masks(n, budget, rng), None
