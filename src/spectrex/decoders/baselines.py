"""Decoders of the baseline methods: masks + values → sparse transform (numpy, and a numba sweep for the LASSO).

* :func:`fourier_features` / :func:`lasso_fourier`: LASSO on the Fourier basis up to order ``k``
  (k = 2 is Faith-Banzhaf regression, Tsai et al. 2023) by coordinate descent, the penalty picked
  by K-fold cross-validation on a warm-started path.
* :func:`kernel_shap`: Shapley values as the Shapley-kernel weighted least squares with the
  efficiency constraint (Lundberg & Lee 2017).
* :func:`msr_banzhaf`: Banzhaf values by maximum sample reuse (Wang & Jia 2023).
* :func:`weighted_linear`: LIME's weighted (ridge) linear surrogate (Ribeiro et al. 2016).

Every routine sees boolean masks and float values only; the classes at the end are the
:class:`~spectrex.decoders.base.Decoder` of each baseline method (the masks come from
:mod:`spectrex.design`).
"""

from __future__ import annotations

from math import comb

import numpy as np

from ..design.base import Plan
from ..errors import ResourceError
from ..transforms import bitset
from ..transforms.sparse import SparseTransform

#: refuse design matrices larger than this many floats (order-2 LASSO at large n)
MAX_DESIGN_FLOATS = 400_000_000


# -- Fourier features -----------------------------------------------------------------------
def fourier_supports(n: int, max_order: int) -> np.ndarray:
    """All subsets of size 1…``max_order`` (``max_order ≤ 2``) as bit rows, singletons first."""
    if max_order not in (1, 2):
        raise ValueError(f"the LASSO baseline supports max_order 1 or 2, not {max_order}")
    singles = np.arange(n)
    rows = [np.zeros((n, bitset.n_words(n)), np.uint64)]
    bitset.set_bits(rows[0], singles, singles)
    if max_order == 2:
        i, j = np.triu_indices(n, 1)
        pairs = np.zeros((i.size, bitset.n_words(n)), np.uint64)
        r = np.arange(i.size)
        bitset.set_bits(pairs, r, i)
        bitset.set_bits(pairs, r, j)
        rows.append(pairs)
    return np.concatenate(rows)


def n_fourier_features(n: int, max_order: int) -> int:
    return n + (comb(n, 2) if max_order == 2 else 0)


def fourier_features(masks: np.ndarray, max_order: int) -> np.ndarray:
    """Fourier basis columns ``(-1)^{|K ∩ m|}`` for every ``K`` of :func:`fourier_supports` (Fortran order)."""
    z = 1.0 - 2.0 * np.asarray(masks, dtype=np.float64)  # (q, n) of ±1
    q, n = z.shape
    p = n_fourier_features(n, max_order)
    if q * p > MAX_DESIGN_FLOATS:
        raise ResourceError(
            f"the order-{max_order} Fourier design would hold {q:,} × {p:,} floats; "
            "lower the budget or use max_order=1 (or SPEX/ProxySPEX, which never build it)",
            needed=q * p,
            limit=MAX_DESIGN_FLOATS,
        )
    X = np.empty((q, p), order="F")
    X[:, :n] = z
    if max_order == 2:
        i, j = np.triu_indices(n, 1)
        X[:, n:] = z[:, i] * z[:, j]
    return X


# -- LASSO by coordinate descent (the sweep is :func:`.lasso_cd.cd_lasso`) ------------------------
def _center(X: np.ndarray, y: np.ndarray):
    xm, ym = X.mean(axis=0), y.mean()
    return np.asfortranarray(X - xm), y - ym, xm, ym


def lasso_path(
    X: np.ndarray, y: np.ndarray, alphas: np.ndarray, *, max_sweeps: int = 2000, tol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Warm-started LASSO path with an unpenalised intercept.

    Returns ``(betas (len(alphas), p), intercepts (len(alphas),))``; ``alphas`` should decrease.
    """
    from .lasso_cd import cd_lasso

    Xc, yc, xm, ym = _center(X, y)
    q, p = Xc.shape
    col_sq = (Xc**2).sum(axis=0) / q
    beta, r = np.zeros(p), yc.copy()
    scale = float(np.sqrt(yc @ yc / max(q, 1))) or 1.0
    betas = np.empty((len(alphas), p))
    for a, alpha in enumerate(alphas):
        cd_lasso(Xc, r, beta, col_sq, float(alpha), max_sweeps, tol * scale)
        betas[a] = beta
    return betas, ym - betas @ xm


def lasso_cv(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, n_alphas: int = 20, n_folds: int = 5, eps: float = 1e-3
) -> tuple[np.ndarray, float, dict]:
    """LASSO with the penalty chosen by ``n_folds``-fold cross-validation on a log-spaced path.

    Returns ``(beta, intercept, info)``; ``info`` holds the chosen ``alpha`` and its CV error.
    """
    q = X.shape[0]
    yc = y - y.mean()
    alpha_max = float(np.abs((X - X.mean(axis=0)).T @ yc).max() / q) if q else 0.0
    if alpha_max == 0.0:  # constant values: nothing to explain beyond the intercept
        return np.zeros(X.shape[1]), float(y.mean()), {"alpha": 0.0, "cv_mse": 0.0}
    alphas = alpha_max * np.logspace(0, np.log10(eps), n_alphas)
    folds = np.arange(q) % n_folds
    folds = folds[rng.permutation(q)]
    err = np.zeros(n_alphas)
    for f in range(n_folds):
        test = folds == f
        if test.all() or not test.any():
            continue
        betas, b0 = lasso_path(X[~test], y[~test], alphas)
        pred = X[test] @ betas.T + b0[None, :]
        err += ((pred - y[test, None]) ** 2).sum(axis=0)
    best = int(np.argmin(err))
    betas, b0 = lasso_path(X, y, alphas[: best + 1])
    return betas[-1], float(b0[-1]), {"alpha": float(alphas[best]), "cv_mse": float(err[best] / q)}


def lasso_fourier(
    masks: np.ndarray, y: np.ndarray, max_order: int, rng: np.random.Generator, *, alpha="cv", n_folds: int = 5
) -> tuple[np.ndarray, np.ndarray, dict]:
    """LASSO on the Fourier basis up to ``max_order``; ``alpha=0`` is plain least squares.

    Returns ``(supports, coefs, info)`` in the Fourier basis with the empty set first and only
    the non-zero coefficients kept.
    """
    n = masks.shape[1]
    X = fourier_features(masks, max_order)
    y = np.asarray(y, dtype=np.float64)
    if alpha == "cv":
        beta, b0, info = lasso_cv(X, y, rng, n_folds=n_folds)
    elif float(alpha) == 0.0:
        Xc, yc, xm, ym = _center(X, y)
        beta = np.linalg.lstsq(Xc, yc, rcond=None)[0]
        b0, info = float(ym - xm @ beta), {"alpha": 0.0}
    else:
        betas, b0s = lasso_path(X, y, np.array([float(alpha)]))
        beta, b0, info = betas[0], float(b0s[0]), {"alpha": float(alpha)}
    keep = np.flatnonzero(beta != 0.0)
    sup = fourier_supports(n, max_order)[keep]
    supports = np.concatenate([np.zeros((1, sup.shape[1]), np.uint64), sup])
    info["nonzero"] = int(keep.size)
    return supports, np.concatenate([[b0], beta[keep]]), info


# -- KernelSHAP -----------------------------------------------------------------------------
def shapley_kernel_weight(sizes: np.ndarray, n: int) -> np.ndarray:
    """Shapley kernel ``(n-1) / (C(n,s) s (n-s))`` for ``0 < s < n`` (0 elsewhere)."""
    sizes = np.asarray(sizes)
    inner = (sizes > 0) & (sizes < n)
    s = np.where(inner, sizes, 1)
    binom = np.array([comb(n, int(k)) for k in range(n + 1)], dtype=np.float64)[s]
    return np.where(inner, (n - 1) / (binom * s * (n - s)), 0.0)


def kernel_shap(
    masks: np.ndarray, y: np.ndarray, v_empty: float, v_full: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Shapley values from the weighted regression ``y ≈ v(∅) + m·φ`` subject to ``Σφ = v(N) − v(∅)``.

    ``weights`` default to one per row (rows drawn from the kernel); pass the kernel itself for
    an enumeration. With every coalition and its exact kernel weight the result is exact.
    """
    masks = np.asarray(masks, dtype=np.float64)
    q, n = masks.shape
    total = v_full - v_empty
    if n == 1:
        return np.array([total])
    w = np.ones(q) if weights is None else np.asarray(weights, float)
    # eliminate φ_{n-1} = total − Σ_{i<n-1} φ_i
    A = masks[:, :-1] - masks[:, -1:]
    b = np.asarray(y, float) - v_empty - masks[:, -1] * total
    sw = np.sqrt(w)
    phi = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)[0]
    return np.concatenate([phi, [total - phi.sum()]])


# -- Banzhaf by maximum sample reuse ---------------------------------------------------------
def msr_banzhaf(masks: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``φ_i = mean(v(S) : i ∈ S) − mean(v(S) : i ∉ S)`` over the sampled masks (0 where a side is empty)."""
    m = np.asarray(masks, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_in = m.sum(axis=0)
    n_out = m.shape[0] - n_in
    s_in = m.T @ y
    s_out = y.sum() - s_in
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = s_in / n_in - s_out / n_out
    return np.where((n_in > 0) & (n_out > 0), phi, 0.0)


# -- LIME ------------------------------------------------------------------------------------
def lime_kernel(masks: np.ndarray, width: float = 0.25) -> np.ndarray:
    """``exp(−d² / width²)`` with ``d`` the cosine distance of each mask to the full input."""
    m = np.asarray(masks, dtype=np.float64)
    d = 1.0 - np.sqrt(m.sum(axis=1) / m.shape[1])
    return np.exp(-(d**2) / width**2)


def weighted_linear(
    masks: np.ndarray, y: np.ndarray, weights: np.ndarray, ridge: float = 1.0
) -> tuple[float, np.ndarray]:
    """Weighted ridge ``y ≈ b + m·β`` (intercept unpenalised), as LIME fits its surrogate.

    Returns ``(b, β)``. ``ridge`` is the absolute penalty on ``||β||²`` (LIME uses 1).
    """
    m = np.asarray(masks, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    sw = w.sum()
    xm, ym = (w @ m) / sw, float(w @ y) / sw
    Xc, yc = m - xm, y - ym
    G = (Xc * w[:, None]).T @ Xc + ridge * np.eye(m.shape[1])
    beta = np.linalg.lstsq(G, (Xc * w[:, None]).T @ yc, rcond=None)[0]
    return ym - float(xm @ beta), beta


# -- the baselines' decoders ----------------------------------------------------------------
def first_order_transform(n: int, const: float, coefs: np.ndarray, basis: str) -> SparseTransform:
    """``const`` on the empty set and ``coefs[i]`` on ``{i}``."""
    sup = np.zeros((n + 1, bitset.n_words(n)), np.uint64)
    bitset.set_bits(sup, np.arange(1, n + 1), np.arange(n))
    return SparseTransform(n, sup, np.concatenate([[const], coefs]), basis)


class LassoDecoder:
    """:func:`lasso_fourier` up to ``max_order``; its CV folds continue the plan's generator."""

    min_rows = 1

    def __init__(self, alpha="cv", n_folds: int = 5):
        self.alpha, self.n_folds = alpha, n_folds

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        sup, coefs, info = lasso_fourier(masks, values, max_order, plan.rng, alpha=self.alpha, n_folds=self.n_folds)
        return SparseTransform(masks.shape[1], sup, coefs, "fourier"), {"lasso": info, "max_order": max_order}


class KernelShapDecoder:
    """:func:`kernel_shap` on :class:`~spectrex.design.ShapleyKernelDesign` (rows 0, 1: empty, full)."""

    min_rows = 2

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        n = masks.shape[1]
        inner, enumerated = masks[2:], bool(plan.structure)
        weights = shapley_kernel_weight(inner.sum(1), n) if enumerated else None
        phi = kernel_shap(inner, values[2:], float(values[0]), float(values[1]), weights)
        return first_order_transform(n, float(values[0]), phi, "mobius"), {"enumerated": enumerated}


class MsrBanzhafDecoder:
    """:func:`msr_banzhaf`, returned as the Fourier order-1 function ``mean v + Σ_i φ_i (m_i − ½)``."""

    min_rows = 1

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        phi = msr_banzhaf(masks, values)
        # Banzhaf value of i = −2 F({i}) in the Fourier basis
        return first_order_transform(masks.shape[1], float(values.mean()), -phi / 2.0, "fourier"), {}


class LimeDecoder:
    """:func:`weighted_linear` with :func:`lime_kernel` weights: LIME's surrogate ``b + Σ_{i∈m} β_i``."""

    min_rows = 1

    def __init__(self, width: float = 0.25, ridge: float = 1.0):
        self.width, self.ridge = width, ridge

    def __call__(self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        b, beta = weighted_linear(masks, values, lime_kernel(masks, self.width), self.ridge)
        return first_order_transform(masks.shape[1], b, beta, "mobius"), {}
