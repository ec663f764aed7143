"""numba kernels for the few loops that numpy cannot vectorise without a (q, s) temporary."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, nogil=True)
def evaluate_sparse(masks: np.ndarray, indptr: np.ndarray, indices: np.ndarray, coefs: np.ndarray, mobius: bool):
    """Σ_s coefs[s] · basis_s(m) for each mask row; support s is ``indices[indptr[s]:indptr[s+1]]``.

    Fourier basis: (-1)^{|S∩m|}; Möbius basis: Π_{i∈S} m_i. Costs q · nnz with no temporaries.
    """
    q = masks.shape[0]
    s = coefs.shape[0]
    out = np.zeros(q)
    for r in numba.prange(q):
        row = masks[r]
        acc = 0.0
        for j in range(s):
            cnt = 0
            for p in range(indptr[j], indptr[j + 1]):
                cnt += row[indices[p]]
            if mobius:
                if cnt == indptr[j + 1] - indptr[j]:
                    acc += coefs[j]
            elif cnt & 1:
                acc -= coefs[j]
            else:
                acc += coefs[j]
        out[r] = acc
    return out


@numba.njit(cache=True, nogil=True)
def overlap_counts(masks: np.ndarray, indptr: np.ndarray, indices: np.ndarray):
    """``|m ∩ S|`` for each mask row ``m`` (0/1 bytes) and support ``S = indices[indptr[s]:indptr[s+1]]``."""
    q = masks.shape[0]
    s = indptr.shape[0] - 1
    out = np.empty((q, s), np.int32)
    for r in range(q):
        row = masks[r]
        for j in range(s):
            cnt = 0
            for p in range(indptr[j], indptr[j + 1]):
                cnt += row[indices[p]]
            out[r, j] = cnt
    return out
