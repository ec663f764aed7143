"""The ProxySPEX decoder: a gradient-boosted tree proxy, its exact spectrum, sparsification, refit.

Steps (Butler et al., 2025, "ProxySPEX"):

1. fit LightGBM on ``(masks, values)`` — here with a small search: a holdout split, two depths,
   early stopping on the holdout; the best booster is used as is (instead of a 40–60-model grid with
   5-fold cross-validation): it only has to find the support, the coefficients are refitted later;
2. read the proxy's Fourier spectrum exactly out of the trees (:mod:`.trees`), capped at ``max_order``;
3. keep the coefficients that hold a fraction ``energy`` of the non-constant energy (or the top ``k``),
   the fraction picked among a few by holdout R² (a fixed 0.95, as in the reference, caps R² near 0.95
   on planted functions);
4. refit the kept coefficients on the queried values (ridge with GCV, :mod:`.refit`);
5. optionally, a residual correction: estimate the residual's Fourier coefficients of order 1 and 2 by
   sample reuse (``mean(r · χ_T)`` over uniform masks, all pairs at once as one ``n × n`` product),
   add the ones that stand out of the noise, and refit again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..transforms import bitset
from ..transforms.sparse import SparseTransform, basis_matrix
from .refit import ALPHAS, refit
from .trees import tree_fourier


@dataclass
class ProxyFit:
    """A fitted proxy: the booster, the rounds used and the holdout scores of the search."""

    booster: object
    num_rounds: int
    depth: int
    holdout_r2: float
    search: list[dict] = field(default_factory=list)
    holdout: np.ndarray | None = None


ENERGIES = (0.95, 0.99, 0.999)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / sst if sst > 0 else 1.0


def _params(depth: int, learning_rate: float, seed: int, num_threads: int, min_leaf: int) -> dict:
    return {
        "objective": "regression",
        "max_depth": depth,
        "num_leaves": 2**depth,
        "learning_rate": learning_rate,
        "min_data_in_leaf": min_leaf,
        "min_sum_hessian_in_leaf": 0.0,
        "lambda_l2": 0.0,
        "max_bin": 2,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": num_threads,
        "verbose": -1,
    }


def fit_proxy(
    masks: np.ndarray,
    y: np.ndarray,
    depths: tuple[int, ...] = (3, 5),
    *,
    learning_rate: float = 0.2,
    holdout: float = 0.2,
    max_rounds: int = 2000,
    patience: int = 50,
    seed: int = 0,
    num_threads: int = 1,
) -> ProxyFit:
    """Fit the LightGBM proxy with a holdout search over ``depths`` and early stopping.

    The proxy only has to find the support (the coefficients are refitted on every query
    afterwards), so the best booster on the holdout is used as is, with no refit on all rows.
    """
    import lightgbm as lgb

    X = np.asarray(masks, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    q = X.shape[0]
    min_leaf = max(2, min(20, q // 500))
    rng = np.random.default_rng(seed)
    perm = rng.permutation(q)
    n_hold = int(round(holdout * q))
    hold, train = perm[:n_hold], perm[n_hold:]
    ds_kw = {"params": {"max_bin": 2, "verbose": -1, "feature_pre_filter": False}, "free_raw_data": False}
    dtrain = lgb.Dataset(X[train], y[train], **ds_kw)
    dhold = lgb.Dataset(X[hold], y[hold], reference=dtrain, **ds_kw)
    search, best = [], None
    for depth in dict.fromkeys(max(1, int(d)) for d in depths):
        booster = lgb.train(
            _params(depth, learning_rate, seed, num_threads, min_leaf),
            dtrain,
            num_boost_round=max_rounds,
            valid_sets=[dhold],
            callbacks=[lgb.early_stopping(patience, verbose=False)],
        )
        rounds = max(1, booster.best_iteration or booster.current_iteration())
        r2 = _r2(y[hold], booster.predict(X[hold], num_iteration=rounds))
        search.append({"depth": depth, "rounds": rounds, "holdout_r2": r2})
        if best is None or r2 > best["holdout_r2"]:
            best = {**search[-1], "booster": booster}
    return ProxyFit(best.pop("booster"), best["rounds"], best["depth"], best["holdout_r2"], search, hold)


def _holdout_score(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> float:
    """Holdout R² of a ridge fit (penalty by GCV) used only to rank candidate supports.

    Solved through the ``s × s`` Gram matrix (one GEMM and one symmetric eigendecomposition),
    several times cheaper than the thin SVD the final refit uses; precision is ample for ranking.
    """
    xm, ym = Xtr.mean(0), ytr.mean()
    Xc, yc = Xtr - xm, ytr - ym
    q = Xc.shape[0]
    if Xc.shape[1] == 0:
        return _r2(yte, np.full(len(yte), ym))
    evals, V = np.linalg.eigh(Xc.T @ Xc)
    evals = np.clip(evals, 0.0, None)
    b = V.T @ (Xc.T @ yc)
    scale = float(evals.sum() / max(q, 1)) or 1.0
    best, beta = np.inf, None
    for a in ALPHAS * scale * q:
        coef_e = b / (evals + a)
        shrink = evals / (evals + a)
        rss = float(yc @ yc - 2 * coef_e @ b + (coef_e**2 * evals).sum())
        gcv = rss / max(q - float(shrink.sum()), 1e-9) ** 2
        if gcv < best:
            best, beta = gcv, V @ coef_e
    return _r2(yte, ym + (Xte - xm) @ beta)


def sparsify(transform: SparseTransform, energy: float | None = 0.95, top_k: int | None = None) -> SparseTransform:
    """Keep the largest coefficients holding ``energy`` of the non-constant energy (or the ``top_k``).

    The constant term is always kept and excluded from the energy.
    """
    orders = transform.orders
    nz = np.flatnonzero(orders > 0)
    mag = transform.coefs[nz] ** 2
    order = np.argsort(-mag, kind="stable")
    if top_k is not None:
        k = int(top_k)
    else:
        total = mag.sum()
        if total <= 0:
            k = 0
        else:
            k = int(np.searchsorted(np.cumsum(mag[order]) / total, energy - 1e-12) + 1)
    keep = np.zeros(len(transform), dtype=bool)
    keep[orders == 0] = True
    keep[nz[order[: min(k, nz.size)]]] = True
    return SparseTransform(transform.n, transform.supports[keep], transform.coefs[keep], transform.basis)


def residual_candidates(
    masks: np.ndarray, resid: np.ndarray, n: int, *, z: float | None = None, max_new: int | None = None
) -> np.ndarray:
    """Order-1 and order-2 supports whose sample-reuse estimate of the residual's coefficient
    stands out of the noise.

    Under uniform masks ``E[r · χ_T] = R(T)`` (the residual's Fourier coefficient), estimated by the
    mean over queries with standard error about ``sqrt(mean(r²) / q)``. The threshold ``z``
    defaults to the Bonferroni level for the ``n + n(n-1)/2`` candidates.
    """
    q = masks.shape[0]
    chi = 1.0 - 2.0 * np.asarray(masks, dtype=np.float64)  # (q, n) ±1
    r = np.asarray(resid, dtype=np.float64)
    se = float(np.sqrt(np.mean(r**2) / max(q, 1)))
    if se == 0:
        return np.zeros((0, bitset.n_words(n)), np.uint64)
    if z is None:
        from scipy.stats import norm

        z = float(norm.isf(0.05 / (2 * (n + n * (n - 1) / 2))))
    single = chi.T @ r / q
    pair = (chi * r[:, None]).T @ chi / q  # (n, n): entry (i, j) estimates R({i, j})
    iu, ju = np.triu_indices(n, 1)
    est = np.concatenate([single, pair[iu, ju]])
    idx_i = np.concatenate([np.arange(n), iu])
    idx_j = np.concatenate([np.full(n, -1), ju])
    hit = np.flatnonzero(np.abs(est) > z * se)
    hit = hit[np.argsort(-np.abs(est[hit]), kind="stable")]
    if max_new is not None:
        hit = hit[:max_new]
    rows = np.repeat(np.arange(hit.size), 2)
    cols = np.stack([idx_i[hit], idx_j[hit]], axis=1).reshape(-1)
    ok = cols >= 0
    return bitset.set_bits(np.zeros((hit.size, bitset.n_words(n)), np.uint64), rows[ok], cols[ok])


def proxy_decode(
    masks: np.ndarray,
    y: np.ndarray,
    n: int,
    max_order: int,
    *,
    depths: tuple[int, ...] | None = None,
    energy: float | tuple[float, ...] | None = ENERGIES,
    top_k: int | None = None,
    residual: bool = True,
    seed: int = 0,
    num_threads: int = 1,
) -> tuple[SparseTransform, dict]:
    """Masks and values → sparse Fourier transform through the tree proxy.

    Returns the transform and metadata (search scores, number of terms at each stage, refit R²).
    """
    masks = np.asarray(masks, dtype=bool)
    y = np.asarray(y, dtype=np.float64)
    if depths is None:
        depths = tuple(sorted({max(1, max_order - 2), max_order}))
    proxy = fit_proxy(masks, y, depths, seed=seed, num_threads=num_threads)
    spectrum = tree_fourier(proxy.booster, n, max_order)
    # the energy fraction is picked on the proxy's holdout rows: refit on the rest, score there
    energies = (energy,) if energy is None or np.isscalar(energy) else tuple(energy)
    train = np.ones(len(y), dtype=bool)
    train[proxy.holdout] = False
    choices = [(e, None) for e in energies] if top_k is None else [(None, top_k)]
    scores = []
    for e, k in choices:
        sup = sparsify(spectrum, e, k).supports
        sup = sup[bitset.popcount(sup) > 0]  # the constant is the intercept
        X = basis_matrix(masks, sup, n, "fourier")
        ok = (~train).any()
        scores.append(_holdout_score(X[train], y[train], X[~train], y[~train]) if ok else np.nan)
    energy = choices[int(np.nanargmax(scores))][0] if np.isfinite(scores).any() else choices[0][0]
    kept = sparsify(spectrum, energy, top_k)
    fitted, info = refit(masks, y, kept.supports, n, "fourier")
    meta = {
        "proxy_depth": proxy.depth,
        "proxy_rounds": proxy.num_rounds,
        "proxy_holdout_r2": proxy.holdout_r2,
        "proxy_search": proxy.search,
        "proxy_terms": len(spectrum),
        "kept_terms": len(kept),
        "energy": energy,
        "energy_scores": scores,
        "holdout_r2": float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan"),
        **info,
    }
    if residual:
        resid = y - basis_matrix(masks, fitted.supports, n, "fourier") @ fitted.coefs
        new = residual_candidates(masks, resid, n)
        if max_order < 2:
            new = new[bitset.popcount(new) <= max_order]
        fresh = new[bitset.lookup(fitted.supports, new) < 0] if len(new) else new
        meta["residual_terms"] = int(fresh.shape[0])
        if fresh.shape[0]:
            fitted, info = refit(masks, y, np.concatenate([fitted.supports, fresh]), n, "fourier")
            meta.update(info)
    return fitted, meta
