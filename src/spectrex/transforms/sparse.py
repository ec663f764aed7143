"""Sparse set functions in the Fourier (parity) and Möbius (AND) bases.

With ``m ∈ {0, 1}^n`` (1 = part kept):

* Fourier:  ``f(m) = Σ_K F(K) · (-1)^{|K ∩ m|}``
* Möbius:   ``f(m) = Σ_S a(S) · Π_{i∈S} m_i``

Since ``(-1)^{m_i} = 1 - 2 m_i`` the two are linked exactly:
``a(T) = (-2)^{|T|} Σ_{K⊇T} F(K)`` and ``F(T) = (-1)^{|T|} Σ_{S⊇T} 2^{-|S|} a(S)``.
Both are sums over supersets with a weight that depends only on the two sizes, so one
vectorised routine, :func:`superset_sum`, serves them and every interaction index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import combinations
from math import comb
from typing import Literal

import numpy as np

from ..errors import ResourceError
from . import bitset

Basis = Literal["fourier", "mobius"]
Weight = Callable[[int, int], float]

# Guard against expanding a support into an astronomic number of subsets.
MAX_EXPANSION = 50_000_000


@lru_cache(maxsize=256)
def _combos(s: int, t: int) -> np.ndarray:
    return np.array(list(combinations(range(s), t)), dtype=np.int64).reshape(comb(s, t), t)


def subsets_by_order(bits: np.ndarray, n: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Group support rows by size: ``{s: (row_positions, (m, s) sorted part indices)}``."""
    sizes = bitset.popcount(bits)
    out = {}
    for s in np.unique(sizes):
        rows = np.flatnonzero(sizes == s)
        _, cols = np.nonzero(bitset.unpack(bits[rows], n))
        out[int(s)] = (rows, cols.reshape(len(rows), int(s)))
    return out


def superset_sum(
    bits: np.ndarray,
    coefs: np.ndarray,
    n: int,
    weight: Weight,
    *,
    max_order: int | None = None,
    min_order: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``out(T) = Σ_{S ⊇ T} weight(|S|, |T|) · coefs(S)`` for all ``min_order ≤ |T| ≤ max_order``.

    Only subsets of the given supports can be non-zero, so each support of size ``s`` is
    expanded into its ``Σ_t C(s, t)`` subsets, one vectorised block per ``(s, t)`` pair.
    ``coefs`` may be ``(s,)`` or ``(s, k)`` (several series converted at once).
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    w = bitset.n_words(n)
    groups = subsets_by_order(bits, n)
    top = max(groups, default=0) if max_order is None else max_order
    total = sum(len(r) * comb(s, t) for s, (r, _) in groups.items() for t in range(min_order, min(s, top) + 1))
    if total > MAX_EXPANSION:
        raise ResourceError(
            f"this conversion would expand the supports into {total:,} subsets; "
            "pass a smaller max_order or sparsify the transform first",
            needed=total,
            limit=MAX_EXPANSION,
        )
    out_bits, out_vals = [], []
    for s, (rows, idx) in groups.items():
        for t in range(min_order, min(s, top) + 1):
            wt = weight(s, t)
            if wt == 0:
                continue
            combos = _combos(s, t)
            sel = idx[:, combos]  # (m, C, t)
            m, c = sel.shape[0], sel.shape[1]
            sub = np.zeros((m * c, w), dtype=np.uint64)
            flat = sel.reshape(m * c, t)
            r = np.arange(m * c)
            for j in range(t):  # t ≤ max order: a loop over positions, not coefficients
                col = flat[:, j]
                sub[r, col >> 6] |= np.left_shift(np.uint64(1), (col & 63).astype(np.uint64))
            out_bits.append(sub)
            out_vals.append(np.repeat(coefs[rows] * wt, c, axis=0))
    if not out_bits:
        return np.zeros((0, w), dtype=np.uint64), np.zeros((0,) + coefs.shape[1:])
    sup, vals = bitset.canonical(np.concatenate(out_bits), np.concatenate(out_vals))
    # terms that cancel leave rounding dust (a few eps of the inputs' weighted mass); it is not an
    # interaction. The floor is that rounding bound, not a fixed 1e-12: at n = 16 a real Möbius term of
    # 1.6e-7 on all parts (Fourier mass × 2^16 weight ≈ 5e5) must survive, and does (floor ≈ 2e-9)
    dust = (
        16 * np.finfo(np.float64).eps * np.abs(coefs).sum(axis=0)
        * max(abs(weight(s, t)) for s in groups for t in range(min(s, top) + 1))
    )  # fmt: skip
    keep = np.abs(vals) > dust if vals.ndim == 1 else np.any(np.abs(vals) > dust, axis=1)
    return sup[keep], vals[keep]


def basis_matrix(masks: np.ndarray, supports: np.ndarray, n: int, basis: Basis = "fourier", inc=None) -> np.ndarray:
    """``(q, s)`` matrix of basis functions: ``(-1)^{|K∩m|}`` (Fourier) or ``Π_{i∈S} m_i`` (Möbius).

    ``inc`` is the supports' :func:`~spectrex.transforms.bitset.incidence`, when already built.
    """
    counts = bitset.overlap_counts(masks, supports, n, inc)
    if basis == "fourier":
        return 1.0 - 2.0 * (counts & 1)
    return (counts == bitset.popcount(supports)[None, :]).astype(np.float64)


@dataclass(frozen=True, eq=False)
class SparseTransform:
    """A set function on ``n`` parts as sparse coefficients in one basis.

    Attributes
    ----------
    n : int
        Number of parts.
    supports : ndarray of uint64, shape (s, ceil(n/64))
        Bit-packed subsets (see :mod:`spectrex.transforms.bitset`).
    coefs : ndarray of float64, shape (s,)
        One coefficient per support.
    basis : {"fourier", "mobius"}
    """

    n: int
    supports: np.ndarray
    coefs: np.ndarray
    basis: Basis = "fourier"

    def __post_init__(self) -> None:
        if self.basis not in ("fourier", "mobius"):
            raise ValueError(f"basis must be 'fourier' or 'mobius', not {self.basis!r}")
        sup = np.ascontiguousarray(self.supports, dtype=np.uint64).reshape(-1, bitset.n_words(self.n))
        coefs = np.asarray(self.coefs, dtype=np.float64).reshape(-1)
        if sup.shape[0] != coefs.shape[0]:
            raise ValueError(f"{sup.shape[0]} supports but {coefs.shape[0]} coefficients")
        sup, coefs = bitset.canonical(sup, coefs)
        object.__setattr__(self, "supports", sup)
        object.__setattr__(self, "coefs", coefs)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, terms: dict, n: int, basis: Basis = "fourier") -> SparseTransform:
        """Build from ``{(i, j, …): coef}`` (small, hand-written functions and tests)."""
        keys = list(terms)
        return cls(n, bitset.from_indices(keys, n), np.array([terms[k] for k in keys], dtype=float), basis)

    @classmethod
    def zero(cls, n: int, basis: Basis = "fourier") -> SparseTransform:
        return cls(n, np.zeros((0, bitset.n_words(n)), dtype=np.uint64), np.zeros(0), basis)

    # -- views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.coefs.shape[0])

    @property
    def orders(self) -> np.ndarray:
        """Size of every support."""
        return bitset.popcount(self.supports)

    @property
    def max_order(self) -> int:
        return int(self.orders.max(initial=0))

    def to_dict(self) -> dict[tuple[int, ...], float]:
        """``{index tuple: coef}`` for display and interop (not for hot paths)."""
        return dict(zip(bitset.to_indices(self.supports, self.n), self.coefs.tolist()))

    def coef(self, subset) -> float:
        """Coefficient of one subset given as part indices (0 when absent)."""
        pos = bitset.lookup(self.supports, bitset.from_indices([tuple(subset)], self.n))[0]
        return float(self.coefs[pos]) if pos >= 0 else 0.0

    # -- evaluation -----------------------------------------------------------------------
    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """Evaluate the function on boolean masks of shape ``(q, n)``."""
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim == 1:
            masks = masks[None, :]
        if masks.shape[1] != self.n:
            raise ValueError(f"masks have {masks.shape[1]} columns but the transform has n = {self.n} parts")
        inc = self._incidence
        m8 = np.ascontiguousarray(masks, dtype=np.uint8)
        from ._kernels import evaluate_sparse  # numba loads on first evaluation, not at import

        return evaluate_sparse(m8, inc.indptr, inc.indices, self.coefs, self.basis == "mobius")

    @cached_property
    def _incidence(self):
        return bitset.incidence(self.supports, self.n)

    # -- algebra --------------------------------------------------------------------------
    def truncate(self, max_order: int) -> SparseTransform:
        """Drop every coefficient of order above ``max_order``."""
        keep = self.orders <= max_order
        return SparseTransform(self.n, self.supports[keep], self.coefs[keep], self.basis)

    def top(self, k: int) -> SparseTransform:
        """Keep the ``k`` coefficients largest in magnitude (the empty set always kept)."""
        keep = np.zeros(len(self), dtype=bool)
        keep[self.orders == 0] = True
        nz = np.flatnonzero(~keep)
        keep[nz[np.argsort(-np.abs(self.coefs[nz]), kind="stable")[:k]]] = True
        return SparseTransform(self.n, self.supports[keep], self.coefs[keep], self.basis)

    def to_mobius(self) -> SparseTransform:
        if self.basis == "mobius":
            return self
        sup, c = superset_sum(self.supports, self.coefs, self.n, lambda s, t: (-2.0) ** t)
        return SparseTransform(self.n, sup, c, "mobius")

    def to_fourier(self) -> SparseTransform:
        if self.basis == "fourier":
            return self
        sup, c = superset_sum(self.supports, self.coefs, self.n, lambda s, t: (-1.0) ** t * 2.0**-s)
        return SparseTransform(self.n, sup, c, "fourier")

    def to_basis(self, basis: Basis) -> SparseTransform:
        return self.to_fourier() if basis == "fourier" else self.to_mobius()

    def __add__(self, other: SparseTransform) -> SparseTransform:
        if other.n != self.n:
            raise ValueError(f"cannot add transforms over {self.n} and {other.n} parts")
        other = other.to_basis(self.basis)
        sup, c = bitset.canonical(
            np.concatenate([self.supports, other.supports]), np.concatenate([self.coefs, other.coefs])
        )
        return SparseTransform(self.n, sup, c, self.basis)

    def __neg__(self) -> SparseTransform:
        return SparseTransform(self.n, self.supports, -self.coefs, self.basis)

    def __sub__(self, other: SparseTransform) -> SparseTransform:
        return self + (-other)

    def allclose(self, other: SparseTransform, atol: float = 1e-8) -> bool:
        """Same function up to ``atol`` in every coefficient (compared in this basis)."""
        return bool(np.all(np.abs((self - other).coefs) <= atol))

    def __repr__(self) -> str:
        return f"SparseTransform(n={self.n}, basis={self.basis!r}, terms={len(self)}, max_order={self.max_order})"
