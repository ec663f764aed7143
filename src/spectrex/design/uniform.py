"""Uniform random mask designs (each part kept independently with probability ½)."""

from __future__ import annotations

import numpy as np


def uniform_masks(n: int, count: int, rng: np.random.Generator, *, paired: bool = False) -> np.ndarray:
    """``count`` masks over ``n`` parts drawn uniformly; ``paired`` adds each mask's complement.

    With ``paired=True`` rows come as (m, ¬m) pairs and ``count`` is rounded up to even.
    """
    if paired:
        half = rng.random((-(-count // 2), n)) < 0.5
        return np.stack([half, ~half], axis=1).reshape(-1, n)
    return rng.random((count, n)) < 0.5
