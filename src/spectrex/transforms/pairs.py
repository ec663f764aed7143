"""Complement pairs in a set of masks: ``(M, ¬M)`` split a function into its odd and even parts.

``f(M) = f_odd(M) + f_even(M)`` with ``f_odd(M) = (f(M) − f(¬M)) / 2`` (the odd-order Fourier terms) and
``f_even(M) = (f(M) + f(¬M)) / 2``. The Shapley and Banzhaf values read only the odd part (an even-order
Fourier term changes sign under no complement, and by symmetry and efficiency its Shapley values are 0),
so a sample closed under complement observes exactly what they need.
"""

from __future__ import annotations

import numpy as np


def complement_pairs(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows ``(a, b)`` with ``masks[b] = ¬masks[a]`` covering all rows but at most one, or None.

    ``a`` are the rows that keep part 0 (one of each pair does).
    """
    packed = np.ascontiguousarray(np.packbits(masks, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    twin = np.ascontiguousarray(np.packbits(~masks, axis=1)).view(keys.dtype).ravel()
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], twin)
    pos = np.minimum(pos, len(keys) - 1)
    partner = np.where(keys[order][pos] == twin, order[pos], -1)
    a = np.flatnonzero(masks[:, 0] & (partner >= 0))
    if masks.shape[0] < 2 or 2 * len(a) < masks.shape[0] - 1:
        return None
    return a, partner[a]
