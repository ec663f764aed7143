"""Uniform random mask designs (each part kept independently with probability ½)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..transforms.wht import all_masks
from .base import MaskDesign


def uniform_masks(n: int, count: int, rng: np.random.Generator, *, paired: bool = False) -> np.ndarray:
    """``count`` masks over ``n`` parts drawn uniformly; ``paired`` adds each mask's complement.

    With ``paired=True`` rows come as (m, ¬m) pairs and ``count`` is rounded up to even. This is
    also the design of every held-out faithfulness check.
    """
    rows = -(-count // 2) if paired else count
    drawn = np.empty((rows, n), bool)
    # In row blocks of ~1 MB of floats: the same stream as one draw, without a (rows, n) float temporary
    # (80 MB at n = 1000 / 10,000 masks, whose first touch alone cost 0.25 s in a fresh process).
    step = max(1, (1 << 17) // max(n, 1))
    for start in range(0, rows, step):
        np.less(rng.random((min(step, rows - start), n)), 0.5, out=drawn[start : start + step])
    if paired:
        return np.stack([drawn, ~drawn], axis=1).reshape(-1, n)
    return drawn


class UniformDesign(MaskDesign):
    """``budget`` uniform random masks (a sampling design: dropped rows are left out).

    Parameters
    ----------
    minimum : callable (n, max_order) -> int
        The least budget.
    default : callable (n, max_order) -> int
        The budget used when none is given.
    paired : bool, default False
        Each mask with its complement (the budget stays the row count).
    enumerate_small : bool, default False
        With ``budget ≥ 2^n`` query every mask once instead (beats sampling with repeats).
    method : str
        The method's name in messages.
    """

    nested = True

    def __init__(
        self,
        minimum: Callable[[int, int | None], int],
        default: Callable[[int, int | None], int],
        *,
        paired: bool = False,
        enumerate_small: bool = False,
        method: str = "this method",
    ):
        self._minimum, self._default = minimum, default
        self.paired, self.enumerate_small, self.method = paired, enumerate_small, method

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return int(self._minimum(n, max_order))

    def default_budget(self, n: int, max_order: int | None) -> int:
        return int(self._default(n, max_order))

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        if self.enumerate_small and budget >= 2**n:
            return all_masks(n), None
        return uniform_masks(n, budget, rng, paired=self.paired)[:budget], None


#: offset of the held-out masks' seed from the run's, so they are never the design's own draws
HOLDOUT_SEED_OFFSET = 7919


def holdout_masks(n: int, count: int, random_state) -> np.ndarray:
    """The held-out masks of a run seeded ``random_state``: uniform, from ``random_state + 7919`` (None: fresh)."""
    rng = np.random.default_rng(None if random_state is None else random_state + HOLDOUT_SEED_OFFSET)
    return uniform_masks(n, count, rng)
