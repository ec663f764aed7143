"""KernelSHAP's design: the empty and full masks, then coalitions drawn from the Shapley kernel."""

from __future__ import annotations

import numpy as np

from ..transforms.wht import all_masks
from .base import MaskDesign


def first_order_default(n: int, max_order: int | None = None) -> int:
    """The default budget of the first-order baselines: 20 queries per part, at least 1,000."""
    return max(1000, 20 * n)


def shapley_kernel_masks(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` masks with sizes 1…n-1 drawn from the Shapley kernel, in complementary pairs.

    The size ``s`` has probability ∝ ``1 / (s (n - s))`` and the subset is uniform given its size,
    so each coalition is drawn with probability proportional to its Shapley-kernel weight.
    """
    if n < 2 or count <= 0:
        return np.zeros((0, n), dtype=bool)
    sizes = np.arange(1, n)
    p = 1.0 / (sizes * (n - sizes))
    half = -(-count // 2)
    s = rng.choice(sizes, size=half, p=p / p.sum())
    ranks = np.argsort(rng.random((half, n)), axis=1)
    first = ranks < s[:, None]
    return np.stack([first, ~first], axis=1).reshape(-1, n)[:count]


class ShapleyKernelDesign(MaskDesign):
    """Rows 0 and 1 the empty and full masks, then ``budget − 2`` kernel-drawn coalitions.

    With ``budget ≥ 2^n`` every coalition is enumerated instead (``structure`` is then True: the
    decoder weights each row by the exact kernel). Structured: the decoder needs both ends.
    """

    every_row = True
    method = "KernelSHAP"

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return 3

    def default_budget(self, n: int, max_order: int | None) -> int:
        return first_order_default(n)

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        ends = np.zeros((2, n), bool)
        ends[1] = True
        enumerated = budget >= 2**n
        if enumerated:
            inner = all_masks(n)
            inner = inner[(inner.sum(1) > 0) & (inner.sum(1) < n)]
        else:
            inner = shapley_kernel_masks(n, budget - 2, rng)
        return np.concatenate([ends, inner]), enumerated
