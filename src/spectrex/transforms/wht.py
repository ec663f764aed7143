"""Dense transforms over all 2^n masks: the exact oracle for small n.

Mask ``m`` is the integer ``Σ_i m_i 2^i`` (part 0 is the least significant bit).
"""

from __future__ import annotations

import numpy as np

from ..errors import ResourceError
from . import bitset
from .sparse import SparseTransform

MAX_DENSE_N = 24


def all_masks(n: int) -> np.ndarray:
    """Every mask over ``n`` parts as a ``(2^n, n)`` boolean array, row ``j`` = integer ``j``."""
    if n > MAX_DENSE_N:
        raise ResourceError(
            f"all_masks(n={n}) would hold 2^{n} rows; the dense oracle is for n ≤ {MAX_DENSE_N}",
            needed=2**n,
            limit=2**MAX_DENSE_N,
        )
    return ((np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)) & 1).astype(bool)


def fwht(values: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh–Hadamard transform along axis 0 (length a power of two)."""
    a = np.array(values, dtype=np.float64, copy=True)
    size = a.shape[0]
    if size & (size - 1):
        raise ValueError(f"fwht needs a power-of-two length, got {size}")
    h = 1
    rest = a.shape[1:]
    while h < size:
        a = a.reshape((size // (2 * h), 2, h) + rest)
        x, y = a[:, 0].copy(), a[:, 1]
        a[:, 0] += y
        a[:, 1] = x - y
        h *= 2
    return a.reshape((size,) + rest)


def mobius_dense(values: np.ndarray) -> np.ndarray:
    """Möbius transform a(S) = Σ_{T⊆S} (-1)^{|S|-|T|} f(T) over all 2^n subsets (axis 0)."""
    a = np.array(values, dtype=np.float64, copy=True)
    size = a.shape[0]
    h = 1
    rest = a.shape[1:]
    while h < size:
        a = a.reshape((size // (2 * h), 2, h) + rest)
        a[:, 1] -= a[:, 0]
        h *= 2
    return a.reshape((size,) + rest)


def dense_to_sparse(coefs: np.ndarray, n: int, basis: str, *, atol: float = 0.0) -> SparseTransform:
    """Wrap a dense length-2^n coefficient vector as a :class:`SparseTransform`."""
    keep = np.flatnonzero(np.abs(coefs) > atol)
    return SparseTransform(n, bitset.pack(all_masks(n)[keep]), coefs[keep], basis)


def exact_fourier(values: np.ndarray, n: int) -> SparseTransform:
    """Fourier transform of a function given on all 2^n masks (in :func:`all_masks` order)."""
    return dense_to_sparse(fwht(values) / 2**n, n, "fourier")


def exact_mobius(values: np.ndarray, n: int) -> SparseTransform:
    """Möbius transform of a function given on all 2^n masks (in :func:`all_masks` order)."""
    return dense_to_sparse(mobius_dense(values), n, "mobius")
