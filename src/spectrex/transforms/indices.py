"""Conversion of a sparse set function to the standard interaction indices.

Every index here is linear in the Möbius coefficients ``a`` and has the form
``I(T) = Σ_{S ⊇ T} w(|S|, |T|) · a(S)`` for ``|T| ≤ k``, so each is a weight function handed
to :func:`~spectrex.transforms.sparse.superset_sum`. Derivations (``s = |S|``, ``t = |T|``):

* SII (Grabisch & Roubens 1999): ``w = 1 / (s - t + 1)``; Shapley value = SII at order 1.
* BII (Grabisch & Roubens 1999): ``w = 2^{-(s-t)}``; Banzhaf value = BII at order 1.
* STII (Sundararajan et al. 2020): ``a(T)`` below order k; ``w = 1 / C(s, k)`` at order k.
* FSII (Tsai et al. 2023, Thm. 19): ``a(T)`` for ``s ≤ k``, plus for ``s > k``
  ``(-1)^{k-t} · t/(k+t) · C(k, t) · C(s-1, k) / C(s+k-1, k+t)``.
* FBII (Tsai et al. 2023): the least-squares fit of order ≤ k under the uniform distribution,
  i.e. the Fourier truncation; in Möbius terms ``(-1)^{k-t} 2^{-(s-t)} C(s-t-1, k-t)`` for ``s > k``.
* k-SII (Fumagalli et al. 2023): ``Σ_{ℓ=0}^{k-t} B_ℓ Σ_{U ⊇ T, |U| = t+ℓ} SII(U)`` with the
  Bernoulli numbers ``B_ℓ`` (``B_1 = -1/2``), i.e. ``w = Σ_ℓ B_ℓ C(s-t, ℓ) / (s-t-ℓ+1)``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb

import numpy as np

from ..validate import check_whole
from .bitset import popcount
from .sparse import SparseTransform, superset_sum

# canonical name → accepted spellings (compared case-insensitively)
_ALIASES = {
    "Fourier": ("fourier", "walsh", "fb"),
    "Moebius": ("moebius", "mobius", "möbius", "mo"),
    "FBII": ("fbii", "faith-banzhaf", "faithbanzhaf"),
    "FSII": ("fsii", "faith-shap", "faithshap", "faith-shapley"),
    "STII": ("stii", "shapley-taylor", "shapleytaylor"),
    "k-SII": ("k-sii", "ksii", "k_sii"),
    "SII": ("sii", "shapley-interaction"),
    "BII": ("bii", "banzhaf-interaction"),
    "SV": ("sv", "shapley", "shapley-value", "shap"),
    "BV": ("bv", "banzhaf", "banzhaf-value"),
}
_LOOKUP = {alias: name for name, aliases in _ALIASES.items() for alias in (name.lower(), *aliases)}
INDICES: tuple[str, ...] = tuple(_ALIASES)


def canonical_index(name: str) -> str:
    """The canonical spelling of an index name; a clear error for unknown names."""
    key = str(name).strip().lower()
    if key not in _LOOKUP:
        raise ValueError(f"unknown index {name!r}; choose one of: {', '.join(INDICES)}")
    return _LOOKUP[key]


@lru_cache(maxsize=64)
def _bernoulli(m: int) -> float:
    """Bernoulli number B_m with B_1 = -1/2 (exact, via the standard recurrence)."""
    b = [Fraction(1)]
    for j in range(1, m + 1):
        b.append(-sum(comb(j + 1, i) * b[i] for i in range(j)) / (j + 1))
    return float(b[m])


def _weight(index: str, k: int):
    if index == "SII":
        return lambda s, t: 1.0 / (s - t + 1)
    if index == "BII":
        return lambda s, t: 2.0 ** -(s - t)
    if index == "STII":
        return lambda s, t: (1.0 / comb(s, k)) if t == k else float(s == t)
    if index == "FSII":
        return lambda s, t: (
            float(s == t)
            if s <= k
            else (-1) ** (k - t) * t / (k + t) * comb(k, t) * comb(s - 1, k) / comb(s + k - 1, k + t)
        )
    if index == "FBII":
        return lambda s, t: float(s == t) if s <= k else (-1) ** (k - t) * 2.0 ** -(s - t) * comb(s - t - 1, k - t)
    if index == "k-SII":
        return lambda s, t: sum(_bernoulli(j) * comb(s - t, j) / (s - t - j + 1) for j in range(min(k, s) - t + 1))
    raise ValueError(index)


def convert(transform: SparseTransform, index: str, max_order: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Express ``transform`` in ``index`` up to ``max_order``.

    Returns ``(supports, values, max_order)``. ``SV`` and ``BV`` are first-order by definition;
    for the interaction indices ``max_order`` defaults to the transform's own maximum order.
    The empty set's entry is the same weighted sum at ``t = 0``, except for the efficient
    indices (SV, k-SII) where it is the baseline ``f(∅)``, as in shapiq's exact values.
    """
    index = canonical_index(index)
    check_whole("max_order", max_order, 0, optional=True)
    if index in ("SV", "BV"):
        if max_order is not None and max_order != 1:
            raise ValueError(f"{index} is first-order; max_order must be 1 (or None), not {max_order}")
        k = 1
    else:
        k = transform.max_order if max_order is None else int(max_order)
    if index in ("Fourier", "Moebius"):
        t = transform.to_basis("fourier" if index == "Fourier" else "mobius").truncate(k)
        return t.supports, t.coefs, k
    mob = transform.to_mobius()
    base = {"SV": "SII", "BV": "BII"}.get(index, index)
    sup, val = superset_sum(mob.supports, mob.coefs, mob.n, _weight(base, k), max_order=k)
    if index in ("SV", "k-SII"):  # efficient indices: the empty set carries the baseline f(∅)
        nonempty = popcount(sup) > 0
        sup = np.concatenate([np.zeros((1, sup.shape[1]), np.uint64), sup[nonempty]])
        val = np.concatenate([[mob.coef(())], val[nonempty]])
    return sup, val, k
