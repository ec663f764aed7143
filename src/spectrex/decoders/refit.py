"""Regression refit of a recovered support on the queried values.

Both SPEX and ProxySPEX end by refitting the coefficients of the support they found on every
query they made. Ridge regression with the penalty chosen by generalised cross-validation (GCV)
costs one thin SVD of the ``(q, s)`` design and is exact for any number of penalties.
"""

from __future__ import annotations

import numpy as np

from ..transforms.sparse import Basis, SparseTransform, basis_matrix

ALPHAS = np.logspace(-8, 3, 45)


def ridge_gcv(X: np.ndarray, y: np.ndarray, alphas: np.ndarray = ALPHAS, *, intercept_col: int | None = None):
    """Ridge fit of ``y ≈ X β`` with the penalty (relative to ``||X||²/q``) picked by GCV.

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
    Uy = U.T @ yc
    resid0 = float(yc @ yc - Uy @ Uy)  # part of y outside the column space
    scale = float((S**2).sum() / max(q, 1)) or 1.0
    best, best_alpha = np.inf, 0.0
    for a in alphas * scale:
        shrink = S**2 / (S**2 + a * q)
        rss = float(((1 - shrink) ** 2 * Uy**2).sum()) + resid0
        dof = float(shrink.sum())
        gcv = rss / max(q - dof, 1e-9) ** 2
        if gcv < best:
            best, best_alpha = gcv, a
    coef = Vt.T @ (S / (S**2 + best_alpha * q) * Uy)
    if not center:
        return coef, best_alpha / scale
    beta = np.zeros(s)
    beta[others] = coef
    beta[intercept_col] = (ym - xm @ coef) / X[:, intercept_col].mean()
    return beta, best_alpha / scale


def refit(
    masks: np.ndarray, y: np.ndarray, supports: np.ndarray, n: int, basis: Basis = "fourier"
) -> tuple[SparseTransform, dict]:
    """Refit the coefficients of ``supports`` on ``(masks, y)``; the empty set is always included.

    Returns the refitted transform and ``{"refit_alpha": …, "refit_r2": …}`` (in-sample R²).
    """
    from ..transforms import bitset

    empty = np.zeros((1, supports.shape[1]), np.uint64)
    supports = bitset.canonical(np.concatenate([empty, supports]), np.zeros(len(supports) + 1))[0]
    X = basis_matrix(masks, supports, n, basis)
    beta, alpha = ridge_gcv(X, np.asarray(y, float), intercept_col=0)
    pred = X @ beta
    sst = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / sst if sst > 0 else 1.0
    return SparseTransform(n, supports, beta, basis), {"refit_alpha": float(alpha), "refit_r2": r2}
