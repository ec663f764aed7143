"""Bit-packed subsets of {0, …, n-1}.

A subset is a row of ``w = ceil(n / 64)`` little-endian uint64 words: part ``i`` is bit
``i % 64`` of word ``i // 64``. A collection of subsets is a ``(s, w)`` uint64 array, so sets
hash, sort and compare as fixed-width rows and no dense n-length tuple is ever built.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

WORD = 64


def n_words(n: int) -> int:
    """Number of uint64 words needed for subsets of ``n`` parts (at least one)."""
    return max(1, -(-int(n) // WORD))


def pack(masks: np.ndarray) -> np.ndarray:
    """Pack a boolean ``(s, n)`` array into ``(s, n_words(n))`` uint64 rows."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2:
        raise ValueError(f"pack expects a 2-D boolean array, got shape {masks.shape}")
    s, n = masks.shape
    w = n_words(n)
    padded = np.zeros((s, w * WORD), dtype=bool)
    padded[:, :n] = masks
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64, copy=False)


def unpack(bits: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``(s, w)`` uint64 rows → boolean ``(s, n)`` array."""
    bits = np.ascontiguousarray(bits, dtype="<u8")
    as_bytes = bits.view(np.uint8).reshape(bits.shape[0], bits.shape[1] * 8)
    return np.unpackbits(as_bytes, axis=1, count=n, bitorder="little").astype(bool)


def from_indices(index_sets: list, n: int) -> np.ndarray:
    """Pack an iterable of index collections (e.g. ``[(0, 3), (), (2,)]``) into bit rows."""
    index_sets = list(index_sets)
    rows = np.repeat(np.arange(len(index_sets)), [len(s) for s in index_sets])
    cols = np.fromiter((i for s in index_sets for i in s), dtype=np.int64, count=len(rows))
    if cols.size and (cols.min() < 0 or cols.max() >= n):
        raise ValueError(f"part indices must lie in [0, {n}); got {cols.min()}..{cols.max()}")
    return set_bits(np.zeros((len(index_sets), n_words(n)), dtype=np.uint64), rows, cols)


def set_bits(bits: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Set bit ``cols[j]`` in row ``rows[j]`` for every j (in place; returns ``bits``)."""
    cols = np.asarray(cols, dtype=np.int64)
    np.bitwise_or.at(bits, (np.asarray(rows), cols >> 6), np.left_shift(np.uint64(1), (cols & 63).astype(np.uint64)))
    return bits


def singles_and_pairs(n: int, pairs: bool = True) -> np.ndarray:
    """Every part, then (``pairs``) every pair ``i < j`` in ``np.triu_indices`` order, as bit rows."""
    words = n_words(n)
    one = set_bits(np.zeros((n, words), np.uint64), np.arange(n), np.arange(n))
    if not pairs:
        return one
    i, j = np.triu_indices(n, 1)
    two = set_bits(np.zeros((len(i), words), np.uint64), np.repeat(np.arange(len(i)), 2), np.stack([i, j], 1).ravel())
    return np.concatenate([one, two])


def to_indices(bits: np.ndarray, n: int) -> list[tuple[int, ...]]:
    """Unpack bit rows into sorted index tuples (for display and interop, not for hot paths)."""
    rows, cols = np.nonzero(unpack(bits, n))
    splits = np.searchsorted(rows, np.arange(1, bits.shape[0]))
    return [tuple(int(c) for c in chunk) for chunk in np.split(cols, splits)]


def popcount(bits: np.ndarray) -> np.ndarray:
    """Size of each subset (number of set bits per row)."""
    return np.bitwise_count(bits).sum(axis=-1).astype(np.int64)


class Incidence(NamedTuple):
    """The ``(s, n)`` 0/1 membership matrix of ``s`` subsets in CSR form: subset ``j``'s parts are
    ``indices[indptr[j]:indptr[j + 1]]`` (ascending)."""

    indptr: np.ndarray
    indices: np.ndarray


def incidence(bits: np.ndarray, n: int) -> Incidence:
    """Which parts belong to each subset, as index lists (:class:`Incidence`)."""
    rows, cols = np.nonzero(unpack(bits, n))
    indptr = np.zeros(bits.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=bits.shape[0]), out=indptr[1:])
    return Incidence(indptr, cols.astype(np.int64))


def overlap_counts(masks: np.ndarray, bits: np.ndarray, n: int, inc: Incidence | None = None) -> np.ndarray:
    """``|mask_q ∩ S_s|`` for every mask row and subset, as an integer ``(q, s)`` array.

    ``inc`` is :func:`incidence` of ``bits``, when the caller already has it. Costs ``q · nnz``
    (one numba loop; no scipy.sparse, whose import alone costs more than a small explanation).
    """
    from ._kernels import overlap_counts as kernel  # numba loads on first use

    inc = incidence(bits, n) if inc is None else inc
    return kernel(np.ascontiguousarray(masks, dtype=bool).view(np.uint8), inc.indptr, inc.indices)


def canonical(bits: np.ndarray, values: np.ndarray, *, drop_zeros: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate subsets (summing their values) and sort rows by (order, bits).

    Returns new ``(bits, values)``; values may be 1-D or 2-D (one column per series).
    """
    bits = np.ascontiguousarray(bits, dtype=np.uint64)
    values = np.asarray(values, dtype=np.float64)
    if bits.shape[0] == 0:
        return bits.reshape(0, bits.shape[1] if bits.ndim == 2 else 1), values
    keys = (popcount(bits),) + tuple(bits[:, j] for j in range(bits.shape[1]))
    order = np.lexsort(keys[::-1])
    sb = bits[order]
    new = np.ones(len(sb), dtype=bool)
    new[1:] = np.any(sb[1:] != sb[:-1], axis=1)
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(values[order], starts, axis=0)
    out_bits = sb[starts]
    if drop_zeros:
        keep = summed != 0 if summed.ndim == 1 else np.any(summed != 0, axis=1)
        out_bits, summed = out_bits[keep], summed[keep]
    return out_bits, summed


def lookup(table: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Row positions of ``query`` subsets inside ``table`` (-1 where absent)."""
    table = np.ascontiguousarray(table, dtype=np.uint64)
    query = np.ascontiguousarray(query, dtype=np.uint64)
    dt = np.dtype((np.void, table.dtype.itemsize * table.shape[1]))
    tv, qv = table.view(dt).ravel(), query.view(dt).ravel()
    order = np.argsort(tv, kind="stable")
    pos = np.searchsorted(tv[order], qv)
    pos = np.clip(pos, 0, max(len(tv) - 1, 0))
    found = (len(tv) > 0) & (tv[order][pos] == qv) if len(tv) else np.zeros(len(qv), dtype=bool)
    return np.where(found, order[pos] if len(tv) else -1, -1)
