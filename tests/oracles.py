"""Brute-force definitions over all 2^n subsets, written from the papers' formulas.

They share nothing with spectrex's Möbius-weight implementation: each index is computed from
discrete derivatives or least squares over the full lattice. Subsets are integers (bit i = part i).
"""

from __future__ import annotations

from itertools import combinations
from math import comb, factorial

import numpy as np


def popc(x: int) -> int:
    return bin(x).count("1")


def derivative(f: np.ndarray, T: int, S: int) -> float:
    """Δ_T f(S) = Σ_{L ⊆ T} (-1)^{|T|-|L|} f(S ∪ L)."""
    total, L = 0.0, T
    while True:
        total += (-1) ** (popc(T) - popc(L)) * f[S | L]
        if L == 0:
            return total
        L = (L - 1) & T


def complements(n: int, T: int):
    full = (1 << n) - 1
    rest = full & ~T
    S = rest
    while True:
        yield S
        if S == 0:
            return
        S = (S - 1) & rest


def subsets_upto(n: int, k: int):
    for t in range(k + 1):
        for c in combinations(range(n), t):
            yield sum(1 << i for i in c)


def sii(f, n, k):
    out = {}
    for T in subsets_upto(n, k):
        t = popc(T)
        out[T] = sum(
            factorial(n - popc(S) - t) * factorial(popc(S)) / factorial(n - t + 1) * derivative(f, T, S)
            for S in complements(n, T)
        )
    return out


def bii(f, n, k):
    return {T: sum(derivative(f, T, S) for S in complements(n, T)) / 2 ** (n - popc(T)) for T in subsets_upto(n, k)}


def stii(f, n, k):
    out = {}
    for T in subsets_upto(n, k):
        t = popc(T)
        if t < k:
            out[T] = derivative(f, T, 0)
        else:
            out[T] = k / n * sum(derivative(f, T, S) / comb(n - 1, popc(S)) for S in complements(n, T))
    return out


def ksii(f, n, k):
    from fractions import Fraction

    b = [Fraction(1)]
    for j in range(1, k + 1):
        b.append(-sum(comb(j + 1, i) * b[i] for i in range(j)) / (j + 1))
    s = sii(f, n, k)
    out = {}
    for T in subsets_upto(n, k):
        t = popc(T)
        out[T] = sum(float(b[popc(U) - t]) * v for U, v in s.items() if U & T == T and popc(U) <= k)
    out[0] = f[0]
    return out


def _design(n, k):
    cols = list(subsets_upto(n, k))
    X = np.array([[1.0 if (S & T) == T else 0.0 for T in cols] for S in range(2**n)])
    return cols, X


def fbii(f, n, k):
    cols, X = _design(n, k)
    coef = np.linalg.lstsq(X, f, rcond=None)[0]
    return dict(zip(cols, coef))


def fsii(f, n, k):
    """Faith-Shap: Shapley-kernel weighted least squares with f(∅), f(N) fitted exactly."""
    from scipy.linalg import null_space

    cols, X = _design(n, k)
    sizes = np.array([popc(S) for S in range(2**n)])
    inner = (sizes > 0) & (sizes < n)
    w = np.zeros(2**n)
    w[inner] = (n - 1) / (np.array([comb(n, s) for s in sizes[inner]]) * sizes[inner] * (n - sizes[inner]))
    A, c = X[[0, 2**n - 1]], f[[0, 2**n - 1]]
    x0 = np.linalg.lstsq(A, c, rcond=None)[0]
    Z = null_space(A)
    sw = np.sqrt(w)
    z = np.linalg.lstsq((X @ Z) * sw[:, None], (f - X @ x0) * sw, rcond=None)[0]
    return dict(zip(cols, x0 + Z @ z))


def shapley(f, n):
    out = np.zeros(n)
    for i in range(n):
        for S in complements(n, 1 << i):
            s = popc(S)
            out[i] += factorial(s) * factorial(n - s - 1) / factorial(n) * (f[S | 1 << i] - f[S])
    return out


def banzhaf(f, n):
    return np.array([sum(f[S | 1 << i] - f[S] for S in complements(n, 1 << i)) / 2 ** (n - 1) for i in range(n)])
