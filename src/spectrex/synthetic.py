"""Planted sparse set functions: known ground truth for tests and benchmarks."""

from __future__ import annotations

from math import comb

import numpy as np

from .transforms import bitset
from .transforms.sparse import Basis, SparseTransform


def planted(
    n: int,
    k: int,
    max_order: int,
    random_state=None,
    *,
    basis: Basis = "mobius",
    scale: float = 2.0,
    include_empty: bool = False,
) -> SparseTransform:
    """A random sparse function with ``k`` distinct interactions of order 1…``max_order``.

    Supports are uniform over orders, then uniform over subsets of that order; coefficients are
    ``N(0, scale²)`` (the references' planted functions use ``scale = 2``).
    """
    available = sum(comb(n, t) for t in range(1, max_order + 1))
    if not 1 <= max_order <= n or k > available:
        raise ValueError(
            f"cannot plant {k} distinct interactions of order 1..{max_order} over {n} part{'s' * (n != 1)}: only "
            f"{available} exist; use more parts, fewer interactions or a lower order"
        )
    rng = np.random.default_rng(random_state)
    rows = np.zeros((0, bitset.n_words(n)), dtype=np.uint64)
    while rows.shape[0] < k:
        m = 2 * (k - rows.shape[0])
        orders = rng.integers(1, max_order + 1, size=m)
        scores = rng.random((m, n))
        picks = np.argsort(scores, axis=1)
        mask = np.zeros((m, n), dtype=bool)
        np.put_along_axis(mask, picks, np.arange(n)[None, :] < orders[:, None], axis=1)
        cand = np.unique(np.concatenate([rows, bitset.pack(mask)]), axis=0)
        rows = cand
    rows = rows[rng.permutation(rows.shape[0])[:k]]
    coefs = rng.normal(0.0, scale, size=k)
    if include_empty:
        rows = np.concatenate([np.zeros((1, rows.shape[1]), np.uint64), rows])
        coefs = np.concatenate([[rng.normal(0.0, scale)], coefs])
    return SparseTransform(n, rows, coefs, basis)


class NoisyFunction:
    """A value function ``f(m) + ε(m)`` with Gaussian noise at a given SNR (in dB).

    The noise variance is ``Var_m[f] / 10^(snr_db/10)`` estimated on uniform masks. ``ε(m)`` is a
    fixed function of the mask and the seed (a hash of the mask's bits turned into a standard
    normal draw), not a fresh draw per call: like a real model's departure from sparsity, a mask
    always gets the same value, so results do not depend on how the engine batches, orders,
    de-duplicates or caches the queries.
    """

    def __init__(self, f: SparseTransform, snr_db: float | None = None, random_state=None) -> None:
        self.f = f
        self.key = np.uint64(np.random.default_rng(random_state).integers(2**63))
        if snr_db is None:
            self.sigma = 0.0
        else:
            probe = f(np.random.default_rng(0).random((4096, f.n)) < 0.5)
            self.sigma = float(np.sqrt(probe.var() / 10 ** (snr_db / 10)))

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        y = self.f(masks)
        return y + self.sigma * self.noise(masks) if self.sigma else y

    def noise(self, masks: np.ndarray) -> np.ndarray:
        """The standard normal ``ε(m)`` of each mask (Box–Muller on two hashed uniforms)."""
        words = bitset.pack(np.asarray(masks, bool))
        h = np.full(words.shape[0], self.key, np.uint64)
        with np.errstate(over="ignore"):
            for w in words.T:  # a few words per row: n / 64
                h = _mix(h ^ w)
            u1 = ((_mix(h ^ np.uint64(1)) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
            u2 = (_mix(h ^ np.uint64(2)) >> np.uint64(11)).astype(np.float64) / 2.0**53
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective scramble of 64-bit words (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
