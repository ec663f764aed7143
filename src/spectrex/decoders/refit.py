"""Regression refit of a recovered support on the queried values.

Both SPEX and ProxySPEX end by refitting the coefficients of the support they found on every
query they made: ridge regression with the penalty chosen by generalised cross-validation (GCV).

Two solvers, equal in exact arithmetic:

* :func:`ridge_gram` works from sufficient statistics (``XᵀX``, ``Xᵀy``, column sums, ``Σy``,
  ``yᵀy``) accumulated over row chunks by :func:`gram_stats`. Fourier columns are ``±1``, so
  their Gram block is an integer matrix computed exactly in float32 (sums of at most ``2^24``
  ``±1`` products); memory is ``O(s² + chunk · s)`` whatever the number of queries, one ``s × s``
  eigendecomposition serves every penalty, and nested supports (prefixes) reuse the same
  statistics. This is what ProxySPEX uses: at 4,224 queries and 600 terms it is ~10× cheaper
  than the thin SVD of the ``(q, s)`` design.
* :func:`ridge_gcv` takes the thin SVD of the design: used for wide designs (fewer rows than
  columns) where the Gram matrix is singular anyway, and for the Möbius basis.

Values are standardised before either solve (:func:`standardise`) so any finite scale works
(``yᵀy`` of values near ``1e200`` would overflow otherwise); coefficients are mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..metrics import r2_from_sums, r2_score
from ..transforms import bitset
from ..transforms.sparse import Basis, SparseTransform, basis_matrix

#: GCV's candidate penalties (relative to ``||X_c||²/q``); 0, least squares, lets an exactly sparse
#: noiseless function be fitted to rounding (the smallest ridge penalty alone leaves ~1e-7 errors in its
#: indices: planted n = 32, 2,000 queries)
ALPHAS = np.concatenate([[0.0], np.logspace(-8, 3, 45)])
#: rows of the design built at once by :func:`gram_stats` (bounds memory to ``chunk × s`` floats)
CHUNK = 4096


def standardise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``y = loc + scale · z`` with ``z`` of mean 0 and variance 1; returns ``(z, loc, scale)``.

    Computed without forming squares of the raw values, so any finite scale works. A constant
    ``y`` gives ``scale = 0`` and ``z = 0``.

    Raises
    ------
    ValueError
        When ``y`` is empty or holds a non-finite value.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size == 0:
        raise ValueError("no values to fit: every row of the design was dropped; fix the model or raise the budget")
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise ValueError(f"{bad} of {y.size} values are NaN or infinite; drop those rows before decoding")
    top = float(np.abs(y).max())
    if top == 0:
        return np.zeros_like(y), 0.0, 0.0
    z = y / top
    mz = float(z.mean())
    c = z - mz
    sz = float(np.sqrt(np.mean(c * c)))
    if sz <= 1e-13:  # constant up to rounding
        return np.zeros_like(y), mz * top, 0.0
    return c / sz, mz * top, sz * top


@dataclass
class GramStats:
    """Sufficient statistics of ``y ≈ b0 + X β`` over some rows (no constant column in ``X``)."""

    G: np.ndarray  # (s, s) XᵀX
    Xty: np.ndarray  # (s,)
    col_sum: np.ndarray  # (s,)
    y_sum: float
    yy: float
    q: int

    def prefix(self, k: int) -> GramStats:
        """Statistics of the first ``k`` columns."""
        return GramStats(self.G[:k, :k], self.Xty[:k], self.col_sum[:k], self.y_sum, self.yy, self.q)

    def __add__(self, other: GramStats) -> GramStats:
        return GramStats(
            self.G + other.G,
            self.Xty + other.Xty,
            self.col_sum + other.col_sum,
            self.y_sum + other.y_sum,
            self.yy + other.yy,
            self.q + other.q,
        )

    def __sub__(self, other: GramStats) -> GramStats:
        return GramStats(
            self.G - other.G,
            self.Xty - other.Xty,
            self.col_sum - other.col_sum,
            self.y_sum - other.y_sum,
            self.yy - other.yy,
            self.q - other.q,
        )

    def sse(self, b0: float, beta: np.ndarray) -> float:
        """``Σ (y - b0 - X β)²`` over these rows, from the statistics alone."""
        return float(
            self.yy
            - 2 * b0 * self.y_sum
            - 2 * beta @ self.Xty
            + self.q * b0 * b0
            + 2 * b0 * beta @ self.col_sum
            + beta @ self.G @ beta
        )

    def sst(self) -> float:
        return float(self.yy - self.y_sum**2 / self.q) if self.q else 0.0


def fourier_columns(masks: np.ndarray, supports: np.ndarray, n: int, inc=None) -> np.ndarray:
    """``(q, s)`` float32 Fourier design ``(-1)^{|K∩m|}`` (exact: entries are ±1)."""
    counts = bitset.overlap_counts(masks, supports, n, inc)
    return (1 - 2 * (counts & 1)).astype(np.float32)


def gram_stats(masks: np.ndarray, supports: np.ndarray, n: int, y: np.ndarray, *, chunk: int = CHUNK) -> GramStats:
    """:class:`GramStats` of the Fourier columns of ``supports`` (no empty set) on ``(masks, y)``.

    The design is built ``chunk`` rows at a time; its Gram block is exact (float32 ``±1`` sums).
    """
    s = supports.shape[0]
    y = np.asarray(y, dtype=np.float64)
    G = np.zeros((s, s))
    Xty, col_sum = np.zeros(s), np.zeros(s)
    inc = bitset.incidence(supports, n) if s else None
    for lo in range(0, masks.shape[0], chunk):
        if s == 0:
            break
        X = fourier_columns(masks[lo : lo + chunk], supports, n, inc)
        G += X.T @ X
        Xty += y[lo : lo + chunk] @ X.astype(np.float64)
        col_sum += X.sum(axis=0, dtype=np.float64)
    return GramStats(G, Xty, col_sum, float(y.sum()), float(y @ y), int(masks.shape[0]))


class RidgeFit(NamedTuple):
    """A ridge fit ``y ≈ b0 + X β``: its penalty, residual sum of squares and GCV score ``q · rss / (q − df)²``."""

    b0: float
    beta: np.ndarray
    alpha: float
    rss: float
    gcv: float


def ridge_gram(stats: GramStats, alphas: np.ndarray = ALPHAS) -> RidgeFit:
    """Ridge fit of ``y ≈ b0 + X β`` (``b0`` unpenalised) with the penalty picked by GCV, from statistics.

    The penalty is relative to ``||X_c||²/q`` (as in :func:`ridge_gcv`). Directions whose eigenvalue is
    below ``1e-12`` of the largest are treated as null.
    """
    q = max(stats.q, 1)
    xm, ym = stats.col_sum / q, stats.y_sum / q
    yyc = max(stats.yy - q * ym * ym, 0.0)
    s = stats.G.shape[0]
    if s == 0:
        return RidgeFit(ym, np.zeros(0), 0.0, yyc, q * yyc / max(q - 1, 1) ** 2)
    Gc = stats.G - q * np.outer(xm, xm)
    gc = stats.Xty - q * xm * ym
    lam, V = np.linalg.eigh(Gc)  # callers set BLAS threads (ProxySPEX: num_threads)
    g = V.T @ gc
    live = lam > 1e-12 * max(float(lam.max()), 1e-300)
    lam, g, V = lam[live], g[live], V[:, live]
    if lam.size == 0:
        return RidgeFit(ym, np.zeros(s), 0.0, yyc, q * yyc / max(q - 1, 1) ** 2)
    Uy2 = g**2 / lam
    resid0 = max(yyc - float(Uy2.sum()), 0.0)
    scale = float(lam.sum() / q) or 1.0
    a, rss, gcv = _gcv_pick(lam, Uy2, resid0, q, alphas * scale)
    beta = V @ (g / (lam + a * q))
    return RidgeFit(float(ym - xm @ beta), beta, a / scale, rss, gcv)


def _gcv_pick(ev: np.ndarray, Uy2: np.ndarray, resid0: float, q: int, alphas: np.ndarray) -> tuple[float, float, float]:
    """The penalty of least generalised cross-validation error, for every candidate at once.

    ``ev`` are the design's squared singular values (the eigenvalues of its Gram matrix), ``Uy2`` the
    squared projections ``(U^T y)²`` of ``y`` on the left singular vectors and ``resid0`` the part of
    ``||y||²`` outside the column space. Returns ``(alpha, rss, gcv)`` with ``gcv = q · rss / (q − df)²``
    (an estimate of the error at a fresh row, comparable between designs on the same rows); the first
    minimum wins a tie.
    """
    shrink = ev / (ev + alphas[:, None] * q)
    rss = ((1 - shrink) ** 2 * Uy2).sum(axis=1) + resid0
    gcv = q * rss / np.maximum(q - shrink.sum(axis=1), 1e-9) ** 2
    best = int(np.argmin(np.where(np.isnan(gcv), np.inf, gcv)))
    return float(alphas[best]), float(rss[best]), float(gcv[best])


def ridge_gcv(X: np.ndarray, y: np.ndarray, alphas: np.ndarray = ALPHAS, *, intercept_col: int | None = None):
    """Ridge fit of ``y ≈ X β`` with the penalty (relative to ``||X||²/q``) picked by GCV (thin SVD).

    ``intercept_col`` names a column left unpenalised (the empty set). Returns ``(beta, alpha)``.
    """
    q, s = X.shape
    if s == 0:
        return np.zeros(0), 0.0
    center = intercept_col is not None
    if center:
        others = np.delete(np.arange(s), intercept_col)
        xm, ym = X[:, others].mean(0), y.mean()
        Xc, yc = X[:, others] - xm, y - ym
    else:
        Xc, yc = X, y
    if Xc.shape[1] == 0:
        beta = np.zeros(s)
        beta[intercept_col] = ym / X[:, intercept_col].mean()
        return beta, 0.0
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    live = S > 1e-12 * max(float(S.max(initial=0.0)), 1e-300)  # null directions (as in ridge_gram)
    U, S, Vt = U[:, live], S[live], Vt[live]
    Uy = U.T @ yc
    resid0 = float(yc @ yc - Uy @ Uy)  # part of y outside the column space
    scale = float((S**2).sum() / max(q, 1)) or 1.0
    best_alpha, _, _ = _gcv_pick(S**2, Uy**2, resid0, q, alphas * scale)
    coef = Vt.T @ (S / (S**2 + best_alpha * q) * Uy)
    if not center:
        return coef, best_alpha / scale
    beta = np.zeros(s)
    beta[others] = coef
    beta[intercept_col] = (ym - xm @ coef) / X[:, intercept_col].mean()
    return beta, best_alpha / scale


def simplex_lstsq(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares ``min ‖y − A w‖²`` over the simplex (``w ≥ 0``, ``Σ w = 1``), exactly, for a few columns.

    The minimum lies inside one face of the simplex (a subset of the columns), where it is the minimum over
    that face's affine hull: every face's is solved from the ``m × m`` Gram matrix (``2^m − 1`` tiny KKT
    systems, 31 for five columns) and the best one inside its face is returned. Collinear columns are
    handled by the least-squares solve (any of the tied minima is returned).
    """
    A = np.asarray(A, dtype=np.float64)
    m = A.shape[1]
    G, c = A.T @ A, A.T @ np.asarray(y, dtype=np.float64)
    best, best_sse = np.eye(m)[0], np.inf
    for face in range(1, 2**m):
        idx = np.flatnonzero((face >> np.arange(m)) & 1)
        k = len(idx)
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k], kkt[:k, k], kkt[k, :k] = G[np.ix_(idx, idx)], 1.0, 1.0
        sol = np.linalg.lstsq(kkt, np.append(c[idx], 1.0), rcond=None)[0][:k]
        if sol.min() < -1e-12 or not np.isfinite(sol).all():
            continue
        w = np.zeros(m)
        w[idx] = np.maximum(sol, 0.0) / np.maximum(sol, 0.0).sum()
        sse = float(w @ G @ w - 2 * c @ w)  # ‖y − A w‖² up to the constant ‖y‖²
        if sse < best_sse - 1e-12 * max(1.0, abs(sse)):
            best, best_sse = w, sse
    return best


def refit(
    masks: np.ndarray, y: np.ndarray, supports: np.ndarray, n: int, basis: Basis = "fourier"
) -> tuple[SparseTransform, dict]:
    """Refit the coefficients of ``supports`` on ``(masks, y)``; the empty set is always included.

    Fourier supports on a tall design (at least as many rows as columns) go through
    :func:`gram_stats` / :func:`ridge_gram`; anything else through the thin SVD (:func:`ridge_gcv`).
    Values of any finite scale are accepted. Returns the refitted transform and
    ``{"refit_alpha": …, "refit_r2": …}`` (in-sample R²).
    """
    masks = np.asarray(masks, dtype=bool)
    z, loc, scale = standardise(y)
    empty = np.zeros((1, supports.shape[1]), np.uint64)
    supports = bitset.canonical(np.concatenate([empty, supports]), np.zeros(len(supports) + 1))[0]
    if scale == 0:
        coefs = np.zeros(len(supports))
        coefs[0] = loc
        return SparseTransform(n, supports, coefs, basis), {"refit_alpha": 0.0, "refit_r2": 1.0}
    if basis == "fourier" and masks.shape[0] >= len(supports):
        stats = gram_stats(masks, supports[1:], n, z)
        b0, beta, alpha, rss, _ = ridge_gram(stats)
        coefs = np.concatenate([[b0], beta])
        r2 = r2_from_sums(rss, stats.sst())
    else:
        X = basis_matrix(masks, supports, n, basis)
        coefs, alpha = ridge_gcv(X, z, intercept_col=0)
        pred = X @ coefs
        r2 = r2_score(z, pred)
    coefs = coefs * scale
    coefs[0] += loc  # supports are canonical: the empty set comes first, and is a constant in both bases
    return SparseTransform(n, supports, coefs, basis), {"refit_alpha": float(alpha), "refit_r2": float(r2)}
