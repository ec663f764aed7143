"""The ProxySPEX decoder: a gradient-boosted tree proxy, its exact spectrum, sparsification, refit.

Steps (Butler et al., 2025, "ProxySPEX"):

1. standardise the values (any finite scale works; the constant function ends here);
2. fit a boosted-tree proxy on ``(masks, values)`` (:mod:`.boost`, or LightGBM) with a small search:
   a holdout split (five folds on small problems), two depths (and those in between, from 3 up, on
   small ones), early stopping on the holdout; the best booster is used as is (instead of a 40–60-model
   grid with 5-fold cross-validation);
3. read the proxy's Fourier spectrum exactly out of the trees (:mod:`.trees`), capped at ``max_order``;
4. keep the coefficients that hold a fraction ``energy`` of the non-constant energy (or the top ``k``),
   the fraction picked among a few by holdout R² (a fixed 0.95, as in the reference, caps R² near 0.95
   on planted functions);
5. refit the kept coefficients on the queried values (ridge with GCV, :mod:`.refit`);
6. optionally, a residual screen: estimate the residual's Fourier coefficients of order 1 and 2 by
   sample reuse (``mean(r · χ_T)`` over uniform masks, all pairs at once as one ``n × n`` product)
   and add the ones that stand out of the noise;
7. the final refit (:func:`_refit`): on a sample closed under complement (``paired=True``) the odd and
   even terms apart, the odd block then grown by the proxy's odd terms that its residual points at
   (:func:`_grow_odd`, kept where GCV falls by 40 % or more); on small problems also the fit over every part and
   pair (the low-order completion), kept where GCV prefers it;
8. on small unpaired problems with the default energy, the surrogate is the convex mix of the sparse fits
   at every energy and the fold proxies' mean spectrum that predicts the held-out folds best, where it
   predicts them better than the chosen energy's fit alone (:func:`_mix_weights`: a real model's long
   tail); the proxies' spectrum is then rebuilt from :data:`BAG_FOLDS` folds;
9. where the fit is nearly but not exactly right (held-out R² above ``1 −`` :data:`SPARSE_PROBE_GATE`),
   matching pursuit over the fitted and the proxies' terms looks for an exact sparse fit
   (:func:`_exact_sparse`); found, it is the surrogate, alone.

Why it is fast (measured on planted Möbius functions, one thread; see ``benchmarks/proxyspex_speed``):

* **The proxy only has to find the support.** Its coefficients are thrown away: step 5 refits them
  on every query. So on large problems boosting runs at learning rate 0.5 and stops as soon as 20
  rounds in a row improve the holdout error by less than ``min_delta`` (0.1 % of the variance; the
  values are standardised so the tolerance is relative). With shrinkage 0.2 and a bare patience of
  50 rounds, as before, early stopping never triggered on clean signals: 1,000–2,200 rounds, 85 % of
  the time, for supports that the first ~100 rounds had already found (R² after the refit is the
  same). Small problems (``q · n ≤ 131,072``, where a round costs microseconds) get a careful
  schedule and five fold-wise proxies whose spectra are averaged (a bagged proxy; the energy is
  then chosen by pooled 5-fold R², each fold scored on candidates from the proxy that never saw
  it), which find more of a real model's weak interactions (:func:`schedule`; Gemma 3 270M
  sentiment at 500 queries: mean held-out R² 0.864 against 0.839 with one proxy).
* **Its own booster.** :mod:`.boost` grows the same trees as LightGBM on 0/1 masks (same gain, leaf
  size and stopping rule; identical rounds and R² on the benchmarks) 2–3× faster per round, with no
  lightgbm / scikit-learn / pandas import (~1 s of CPU in a fresh process); ``proxy="lightgbm"``
  still uses LightGBM.
* **One statistics pass serves every candidate.** The kept supports for the energy fractions are
  nested prefixes of the spectrum sorted by magnitude, so the design of the largest candidate is
  built once, in row chunks, as Gram statistics on the training and holdout rows
  (:func:`.refit.gram_stats`, exact in float32 since Fourier columns are ±1); each candidate is a
  prefix block, scored on the holdout from the statistics alone, and the final refit on all rows is
  the sum of the two — one ``s × s`` eigendecomposition each instead of a thin SVD of the
  ``(q, s)`` design (which was 10 % of the time at n = 256 and half of it after the boosting fix).
* **Memory does not grow with the design.** Statistics are accumulated ``CHUNK`` rows at a time, the
  residual is evaluated by the sparse kernel and the residual screen runs in row chunks, so the
  peak is the masks' copies plus ``s²`` floats (n = 1000 at 20,000 queries within 1 GiB); the sparse
  probe's design (step 9) is capped at 16 MiB (128 MiB on small problems).
* ``lightgbm`` (which also imports scikit-learn) is imported only with ``proxy="lightgbm"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..metrics import r2_from_sums, r2_score
from ..transforms import bitset
from ..transforms.pairs import complement_pairs
from ..transforms.residual import log_comb
from ..transforms.sparse import SparseTransform
from .refit import CHUNK, GramStats, RidgeFit, fourier_columns, gram_stats, ridge_gram, simplex_lstsq, standardise
from .trees import paths_fourier, tree_fourier


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
#: small problems also try 0.9999 (a real model's weak tail; cheap there)
SMALL_ENERGIES = (0.95, 0.99, 0.999, 0.9999)
#: fewest answered rows a proxy can be fitted and validated on
MIN_ROWS = 16
#: most candidate terms refitted (the Gram matrix is ``s × s``); also at most half the training rows
MAX_TERMS = 4000


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
        "force_row_wise": True,  # 2.5x faster per round than col-wise on 0/1 masks (n = 64…256)
        "num_threads": num_threads,
        "verbose": -1,
    }


#: ``queries × parts`` up to which boosting runs the careful schedule (one round costs ~q·n)
SMALL_PROBLEM = 131_072
#: proxies fitted on small problems, one per fold (bagged spectrum, K-fold choice of the energy)
FOLDS = 5
#: folds of the proxies' spectrum once it takes a share of the surrogate (:func:`_mix_weights`): rebuilt from
#: twice as many proxies, each seeing 90 % of the rows instead of 80 %, it predicts fresh masks better
#: (``benchmarks/proxyspex_models``, measured when it replaced the sparse fit outright: held-out R² at 500 /
#: 1,000 / 2,000 queries: Gemma 3 270M sentiment 0.8484 / 0.8957 / 0.9313 → 0.8487 / 0.9005 / 0.9337, the
#: toxicity BiLSTM 0.9933 / 0.9962 / 0.9977 → 0.9935 / 0.9962 / 0.9977; Gemma's
#: Shapley-value error over 30 runs of ``index_accuracy`` 0.0079 / 0.0033 / 0.0012 → 0.0077 / 0.0033 / 0.0012,
#: SII-2 0.0216 / 0.0084 / 0.0029 → 0.0213 / 0.0083 / 0.0029). Ten folds from the start, for the energy's
#: choice too, made noisy and large planted functions' Shapley values worse (n = 64 at 10 dB, 250 queries:
#: 0.247 → 0.273; n = 256 at 500: 0.079 → 0.082).
BAG_FOLDS = 10
#: the mix replaces the chosen energy's sparse fit when its held-out error is below this share of that fit's
#: (:func:`_mix_weights`): a sparse function's exact fit stays as it is, whatever rounding says
MIX_GAIN = 0.98


def schedule(q: int, n: int) -> dict:
    """Boosting settings for ``q`` queries over ``n`` parts.

    Small problems (``q · n ≤`` :data:`SMALL_PROBLEM`: real models explained with up to a few thousand queries
    over tens of parts) get the careful schedule — learning rate 0.3, patience 30, no minimum gain — whose
    smaller steps find more of a real model's long tail of weak interactions (with the five fold-wise proxies of
    :func:`proxy_decode`: held-out R² on Gemma 3 270M sentiment 0.864 / 0.901 / 0.934 at 500 / 1,000 / 2,000
    queries against 0.837 / 0.900 / 0.930 at learning rate 0.5) at a cost of milliseconds per proxy there.
    Larger ones get the fast schedule — learning rate 0.5, patience 20, a gain of 0.1 % of the variance per 20
    rounds — which stops as soon as the support has been found instead of running 1,000–2,000 rounds on clean
    signals.
    """
    if q * n <= SMALL_PROBLEM:
        return {"learning_rate": 0.3, "patience": 30, "min_delta": 0.0}
    return {"learning_rate": 0.5, "patience": 20, "min_delta": 1e-3}


def fit_proxy(
    masks: np.ndarray,
    y: np.ndarray,
    depths: tuple[int, ...] = (3, 5),
    *,
    learning_rate: float | None = None,
    holdout: float = 0.2,
    max_rounds: int = 1000,
    patience: int | None = None,
    min_delta: float | None = None,
    seed: int = 0,
    num_threads: int = 1,
    proxy: str = "numba",
    fold: tuple[int, int] | None = None,
) -> ProxyFit:
    """Fit the boosted-tree proxy with a holdout search over ``depths`` and early stopping.

    The proxy only has to find the support (the coefficients are refitted on every query
    afterwards), so the best booster on the holdout is used as is, with no refit on all rows.
    ``min_delta`` is the holdout-MSE gain, relative to the variance of ``y``, that ``patience``
    rounds must bring for boosting to go on. With ``fold = (k, K)`` the holdout is the ``k``-th of
    ``K`` equal parts of a seeded permutation (instead of a fraction ``holdout``).
    ``learning_rate``, ``patience`` and ``min_delta`` default to :func:`schedule` of the problem's size.
    ``proxy`` picks the learner: ``"numba"`` (default, :mod:`.boost`) or ``"lightgbm"`` (same
    settings; imports lightgbm and scikit-learn).
    """
    y = np.asarray(y, dtype=np.float64)
    q = len(y)
    auto = schedule(q, np.shape(masks)[1])
    learning_rate = auto["learning_rate"] if learning_rate is None else learning_rate
    patience = auto["patience"] if patience is None else patience
    min_delta = auto["min_delta"] if min_delta is None else min_delta
    min_leaf = max(2, min(20, q // 500))
    rng = np.random.default_rng(seed)
    perm = rng.permutation(q)
    if fold is not None and fold[1] > 1:
        parts = np.array_split(perm, fold[1])
        hold = np.sort(parts[fold[0]])
        train = np.sort(np.concatenate([p for i, p in enumerate(parts) if i != fold[0]]))
    else:
        n_hold = max(1, int(round(holdout * q)))
        hold, train = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
    var = float(y.var()) or 1.0
    if proxy == "numba":
        from .boost import boost

        M = np.asarray(masks, dtype=bool).view(np.uint8)  # no copy: the rows are taken below
        Mt, Mh = M[train], M[hold]
        sst = float(((y[hold] - y[hold].mean()) ** 2).sum())
        search, best = [], None
        for depth in dict.fromkeys(max(1, int(d)) for d in depths):
            ens = boost(
                Mt,
                y[train],
                Mh,
                y[hold],
                depth,
                learning_rate=learning_rate,
                max_rounds=max_rounds,
                patience=patience,
                min_delta=min_delta * var,
                min_leaf=min_leaf,
            )
            r2 = r2_from_sums(ens.holdout_sse, sst)
            search.append({"depth": depth, "rounds": ens.best_iteration, "holdout_r2": r2})
            if best is None or r2 > best["holdout_r2"]:
                best = {**search[-1], "booster": ens}
        return ProxyFit(best.pop("booster"), best["rounds"], best["depth"], best["holdout_r2"], search, hold)
    if proxy != "lightgbm":
        raise ValueError(f"proxy must be 'numba' or 'lightgbm', got {proxy!r}")
    import lightgbm as lgb

    X = np.asarray(masks, dtype=np.float32)
    ds_kw = {"params": {"max_bin": 2, "verbose": -1, "feature_pre_filter": False}, "free_raw_data": True}
    dtrain = lgb.Dataset(X[train], y[train], **ds_kw)
    dhold = lgb.Dataset(X[hold], y[hold], reference=dtrain, **ds_kw)
    search, best = [], None
    for depth in dict.fromkeys(max(1, int(d)) for d in depths):
        booster = lgb.train(
            _params(depth, learning_rate, seed, num_threads, min_leaf),
            dtrain,
            num_boost_round=max_rounds,
            valid_sets=[dhold],
            callbacks=[lgb.early_stopping(patience, verbose=False, min_delta=min_delta * var)],
        )
        rounds = max(1, booster.best_iteration or booster.current_iteration())
        r2 = r2_score(y[hold], booster.predict(X[hold], num_iteration=rounds))
        search.append({"depth": depth, "rounds": rounds, "holdout_r2": r2})
        if best is None or r2 > best["holdout_r2"]:
            best = {**search[-1], "booster": booster}
    return ProxyFit(best.pop("booster"), best["rounds"], best["depth"], best["holdout_r2"], search, hold)


def proxy_spectrum(proxy: ProxyFit, n: int, max_order: int) -> SparseTransform:
    """The proxy's exact Fourier spectrum up to ``max_order`` (either learner)."""
    if hasattr(proxy.booster, "paths"):
        return paths_fourier(*proxy.booster.paths(), n, max_order)
    return tree_fourier(proxy.booster, n, max_order)


def sparsify(transform: SparseTransform, energy: float | None = 0.95, top_k: int | None = None) -> SparseTransform:
    """Keep the largest coefficients holding ``energy`` of the non-constant energy (or the ``top_k``).

    The constant term is always kept and excluded from the energy.
    """
    orders = transform.orders
    nz = np.flatnonzero(orders > 0)
    order = np.argsort(-(transform.coefs[nz] ** 2), kind="stable")
    k = _keep_count(transform.coefs[nz][order], energy, top_k)
    keep = np.zeros(len(transform), dtype=bool)
    keep[orders == 0] = True
    keep[nz[order[:k]]] = True
    return SparseTransform(transform.n, transform.supports[keep], transform.coefs[keep], transform.basis)


def _keep_count(sorted_coefs: np.ndarray, energy: float | None, top_k: int | None) -> int:
    """How many of the coefficients (sorted by decreasing magnitude) hold ``energy`` (or ``top_k``)."""
    if top_k is not None:
        return min(int(top_k), sorted_coefs.size)
    mag = sorted_coefs**2
    total = mag.sum()
    if total <= 0:
        return 0
    return min(int(np.searchsorted(np.cumsum(mag) / total, energy - 1e-12) + 1), sorted_coefs.size)


def residual_candidates(
    masks: np.ndarray,
    resid: np.ndarray,
    n: int,
    *,
    z: float | None = None,
    max_new: int | None = None,
    chunk: int = CHUNK,
) -> np.ndarray:
    """Order-1 and order-2 supports whose sample-reuse estimate of the residual's coefficient
    stands out of the noise.

    Under uniform masks ``E[r · χ_T] = R(T)`` (the residual's Fourier coefficient), estimated by the
    mean over queries with standard error about ``sqrt(mean(r²) / q)``; each mask is weighted by
    :func:`uniform_weights`, so a size-stratified design's strata (whose bits are correlated through the
    size) count as the uniform distribution would (planted n = 1,000 at 10,000 queries, strata even over the
    sizes: 6 new terms instead of 2,932 spurious ones, 1.0 s instead of 7.2 s).
    The threshold ``z``
    defaults to the Bonferroni level for the ``n + n(n-1)/2`` candidates. Rows are processed
    ``chunk`` at a time (at most ``2^20 / n``), so memory is ``O(n² + chunk · n)``.
    """
    q = masks.shape[0]
    r = np.asarray(resid, dtype=np.float64)
    r = r * uniform_weights(masks)
    se = float(np.sqrt(np.mean(r**2) / max(q, 1)))
    if se == 0:
        return np.zeros((0, bitset.n_words(n)), np.uint64)
    if z is None:
        from statistics import NormalDist  # scipy.stats costs 0.6 s of import in a fresh process

        z = float(NormalDist().inv_cdf(1.0 - 0.05 / (2 * (n + n * (n - 1) / 2))))
    single, pair = np.zeros(n), np.zeros((n, n))
    chunk = max(64, min(chunk, (1 << 20) // max(n, 1)))  # float64 blocks of ≤ 8 MB (no first-touch storm)
    for lo in range(0, q, chunk):
        chi = 1.0 - 2.0 * np.asarray(masks[lo : lo + chunk], dtype=np.float64)  # ±1
        rc = r[lo : lo + chunk]
        single += rc @ chi
        pair += (chi * rc[:, None]).T @ chi  # entry (i, j) estimates R({i, j})
    single /= q
    pair /= q
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


def uniform_weights(masks: np.ndarray) -> np.ndarray:
    """Per-mask importance weights (mean 1) that make the sample's size distribution the uniform masks' one:
    ``P_uniform(size) / P_sample(size)``, ``P_uniform(s) = C(n, s) / 2^n``."""
    masks = np.asarray(masks, bool)
    q, n = masks.shape
    sizes = masks.sum(axis=1)
    log_uniform = np.array([log_comb(n, s) for s in range(n + 1)]) - n * np.log(2.0)
    w = np.exp(log_uniform[sizes] - np.log(np.bincount(sizes, minlength=n + 1)[sizes] / q))
    return w / w.mean()


def _predict(masks: np.ndarray, supports: np.ndarray, n: int, b0: float, beta: np.ndarray) -> np.ndarray:
    """``b0 + Σ β χ`` on every mask, ``CHUNK`` rows at a time (a BLAS product per chunk)."""
    out = np.full(masks.shape[0], b0)
    if len(supports) == 0:
        return out
    inc = bitset.incidence(supports, n)
    for lo in range(0, masks.shape[0], CHUNK):
        out[lo : lo + CHUNK] += fourier_columns(masks[lo : lo + CHUNK], supports, n, inc).astype(np.float64) @ beta
    return out


def _ranked(t: SparseTransform) -> np.ndarray:
    """Positions of ``t``'s non-constant terms by decreasing magnitude (stable)."""
    nz = np.flatnonzero(t.orders > 0)
    return nz[np.argsort(-(t.coefs[nz] ** 2), kind="stable")]


def _transform(n: int, supports: np.ndarray, b0: float, beta: np.ndarray, loc: float, scale: float) -> SparseTransform:
    """The fitted standardised model ``b0 + Σ β χ`` mapped back to the values' scale."""
    empty = np.zeros((1, bitset.n_words(n)), np.uint64)
    const = np.arange(len(beta) + 1) == 0
    return _unstandardised(n, np.concatenate([empty, supports]), np.concatenate([[b0], beta]), const, loc, scale)


def _unstandardised(
    n: int, supports: np.ndarray, coefs: np.ndarray, const: np.ndarray, loc: float, scale: float
) -> SparseTransform:
    """Fourier coefficients of the standardised values (``const``: which is the constant term) mapped back to
    the values' scale."""
    return SparseTransform(n, supports, coefs * scale + loc * const, "fourier")


#: the deepest tree searched by default: a tree of depth d expands into up to 4^d Fourier terms, so
#: memory and time grow ~4× per level (max_order 16 on 16 words: 6 GB, 45 s uncapped; 0.3 GB, 3 s at 8).
#: The spectrum is still read up to ``max_order``; interactions above depth 8 come from sums of trees.
MAX_DEPTH = 8


def default_depths(max_order: int, small: bool) -> tuple[int, ...]:
    """The tree depths searched for ``max_order``: ``max_order - 2`` and ``max_order`` (on small problems also
    those in between, from 3 up), none deeper than :data:`MAX_DEPTH` (the default order's are unchanged)."""
    depths = {max(1, max_order - 2), max_order}
    if small:  # also the depths in between, from 3 up: a proxy shallower than 3 wins its holdout
        # on order-3 functions and then misses their order-3 support
        depths |= set(range(max(3, max_order - 2), max_order + 1))
    return tuple(sorted({min(MAX_DEPTH, d) for d in depths}))


def proxy_decode(
    masks: np.ndarray,
    y: np.ndarray,
    n: int,
    max_order: int,
    *,
    depths: tuple[int, ...] | None = None,
    energy: float | tuple[float, ...] | str = "auto",
    top_k: int | None = None,
    residual: bool = True,
    seed: int = 0,
    num_threads: int = 1,
    folds: int | None = None,
    **proxy_settings,
) -> tuple[SparseTransform, dict]:
    """Masks and values → sparse Fourier transform through the tree proxy.

    ``energy="auto"`` tries :data:`SMALL_ENERGIES` on small problems (``q · n ≤`` :data:`SMALL_PROBLEM`),
    :data:`ENERGIES` otherwise. ``proxy_settings`` go to :func:`fit_proxy` (``learning_rate``,
    ``patience``, ``min_delta``, …).
    Returns the transform and metadata (search scores, number of terms at each stage, refit R²).

    Raises
    ------
    ValueError
        With fewer than :data:`MIN_ROWS` rows (e.g. every query was dropped) or non-finite values.
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.shape[0] < MIN_ROWS:
        raise ValueError(
            f"ProxySPEX needs at least {MIN_ROWS} answered queries to fit its proxy, but got {masks.shape[0]} "
            "(were the rest dropped by the engine?); fix the model's failing rows or raise the budget"
        )
    z, loc, scale = standardise(y)
    if scale == 0:  # a constant function: nothing to fit
        t = SparseTransform(n, np.zeros((1, bitset.n_words(n)), np.uint64), np.array([loc]), "fourier")
        return t, {"proxy_terms": 0, "kept_terms": 1, "energy": None, "holdout_r2": 1.0, "refit_r2": 1.0}
    small = masks.shape[0] * n <= SMALL_PROBLEM
    if depths is None:
        depths = default_depths(max_order, small)
    K = (FOLDS if small else 1) if folds is None else max(1, int(folds))
    K = min(K, masks.shape[0] // 8) or 1

    def fold_proxies(folds: int) -> tuple[list[ProxyFit], list[SparseTransform], SparseTransform]:
        """One proxy per fold, their spectra and the spectra's mean."""
        fits = [
            fit_proxy(masks, z, depths, seed=seed, num_threads=num_threads, fold=(f, folds), **proxy_settings)
            for f in range(folds)
        ]
        parts = [proxy_spectrum(p, n, max_order) for p in fits]
        coefs = np.concatenate([t.coefs for t in parts]) / folds
        return fits, parts, SparseTransform(n, np.concatenate([t.supports for t in parts]), coefs, "fourier")

    proxies, spectra, spectrum = fold_proxies(K)
    proxy = proxies[0]
    holds = [p.holdout for p in proxies]
    cap = int(min(MAX_TERMS, max(8, (len(z) - len(holds[0])) // 2)))
    auto = isinstance(energy, str)
    if auto:
        energy = SMALL_ENERGIES if small else ENERGIES
    energies = (energy,) if np.isscalar(energy) else tuple(energy)
    choices = [(e, None) for e in energies] if top_k is None else [(None, top_k)]
    pairs = complement_pairs(masks)
    grow = top_k is None  # a support size the caller chose is kept as chosen
    # on small unpaired problems the fold proxies' spectrum may join the sparse fit (not on a paired sample,
    # whose parity-split fit is what the Shapley values read); their mix is weighed on the held-out folds
    mixable = K > 1 and grow and auto and pairs is None
    # the energy is picked by the refit's held-out R², pooled over the folds: fold f's candidates come
    # from the proxy that never saw fold f (candidates from the bagged spectrum would leak its rows)
    sse, sst = np.zeros(len(choices)), 0.0
    oof = np.zeros((len(choices), len(z))) if mixable else None  # each candidate's prediction of the fold it never saw
    for p, t in zip(proxies, spectra):
        ranked = _ranked(t)
        counts = [min(_keep_count(t.coefs[ranked], e, k), cap) for e, k in choices]
        cand = t.supports[ranked[: max(counts, default=0)]]
        train = np.ones(len(z), dtype=bool)
        train[p.holdout] = False
        st_tr = gram_stats(masks[train], cand, n, z[train])
        st_ho = gram_stats(masks[p.holdout], cand, n, z[p.holdout])
        fits = {}
        for i, k in enumerate(counts):
            if k not in fits:  # energies that keep the same terms share one fit
                fits[k] = ridge_gram(st_tr.prefix(k))
            sse[i] += st_ho.prefix(k).sse(fits[k].b0, fits[k].beta)
            if mixable:
                oof[i, p.holdout] = _predict(masks[p.holdout], cand[:k], n, fits[k].b0, fits[k].beta)
        sst += st_ho.sst()
    scores = [r2_from_sums(e, sst) for e in sse]
    pick = int(np.nanargmax(scores)) if np.isfinite(scores).any() else 0
    meta = {
        "proxy_depth": proxy.depth,
        "proxy_rounds": proxy.num_rounds,
        "proxy_holdout_r2": proxy.holdout_r2,
        "proxy_search": proxy.search,
        "proxy_folds": K,
        "proxy_terms": len(spectrum),
        "energy": choices[pick][0],
        "energy_scores": scores,
        "holdout_r2": float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan"),
    }

    weights, mixed = (
        _mix_weights([*oof, _proxies_oof(proxies, spectra, masks)], z, sst, meta) if mixable else (None, None)
    )
    share = 0.0 if weights is None else float(weights[-1])

    def mixed_surrogate(sparse: list[tuple[float, SparseTransform]]) -> tuple[SparseTransform, dict]:
        """``Σ weight · sparse fit`` plus ``share`` of the fold proxies' mean spectrum (rebuilt from more folds,
        see BAG_FOLDS), on the values' scale, with its diagnostics."""
        bagged, bag = spectrum, min(BAG_FOLDS, masks.shape[0] // 8)
        if folds is None and bag > K:
            bagged = fold_proxies(bag)[2]
            meta["bagged_folds"] = bag
        parts = [(share, _unstandardised(n, bagged.supports, bagged.coefs, bagged.orders == 0, loc, scale))]
        parts = [(w, t) for w, t in parts + sparse if w > 0]
        out = SparseTransform(
            n, np.concatenate([t.supports for _, t in parts]), np.concatenate([w * t.coefs for w, t in parts])
        )
        meta.update(surrogate="proxy" if share == 1 else "mix", proxy_share=share, holdout_r2=mixed)
        meta.update(
            energy_weights=[float(w) for w in weights[:-1]], kept_terms=len(out), refit_r2=r2_score(y, out(masks))
        )
        return out, meta

    def exactly_sparse(fitted: np.ndarray) -> tuple[np.ndarray, _Final] | None:
        """Nearly exact but not quite: an exactly sparse function whose weak terms the proxy ranked below its
        artefacts (:func:`_exact_sparse`, over the fitted terms and the proxies'); found, it is the surrogate
        alone."""
        if not (grow and meta["holdout_r2"] > 1 - SPARSE_PROBE_GATE):
            return None
        candidates = _with(fitted, spectrum.supports[_ranked(spectrum)])  # the fitted terms, the proxies' by size
        cap = (SMALL_PROBE_ENTRIES if small else SPARSE_PROBE_ENTRIES) // masks.shape[0]
        if len(candidates) > cap and not small:  # there its cost grows with the design (SPARSE_PROBE_ENTRIES)
            return None
        found = _exact_sparse(masks, z, n, candidates[:cap])
        if found is not None:
            meta.update(exact_sparse_terms=len(found[0]), kept_terms=len(found[0]) + 1, refit_r2=found[1].r2)
        return found

    if share == 1:  # the proxies alone (then no sparse fit is needed), unless the function is exactly sparse
        found = exactly_sparse(np.zeros((0, bitset.n_words(n)), np.uint64))
        if found is None:
            return mixed_surrogate([])
        return _transform(n, found[0], found[1].b0, found[1].beta, loc, scale), meta
    if K == 1:  # one proxy: its statistics already cover every row
        k = counts[pick]
        total = st_tr + st_ho
    else:
        order = _ranked(spectrum)
        keep = [min(_keep_count(spectrum.coefs[order], *c), cap) for c in choices]
        k = keep[pick]
        if weights is not None:  # energies that keep the same terms are one part of the mix (the chosen one's)
            for i in range(len(choices)):
                first = pick if keep[i] == k else keep.index(keep[i])
                if i != first:
                    weights[first], weights[i] = weights[first] + weights[i], 0.0
        mixed_k = [keep[i] for i in np.flatnonzero(weights[:-1] > 0)] if weights is not None else []
        cand = spectrum.supports[order[: max([k, *mixed_k])]]
        total = gram_stats(masks, cand, n, z)
    stats = total.prefix(k)
    fit = ridge_gram(stats)
    supports = cand[:k]
    meta.update({"kept_terms": k + 1, "refit_alpha": fit.alpha, "refit_r2": r2_from_sums(fit.rss, stats.sst())})
    if residual:
        resid = z - _predict(masks, supports, n, fit.b0, fit.beta)
        meta["residual_terms"] = 0
        # a fit exact to rounding (least squares on a noiseless sparse function) leaves residuals of ~1e-16,
        # whose sample-reuse estimates the screen would read as terms (n = 256: 136 spurious ones)
        if float(np.sqrt(np.mean(resid**2))) > EXACT_RMS:
            new = residual_candidates(masks, resid, n)
            if max_order < 2:
                new = new[bitset.popcount(new) <= max_order]
            fresh = new[bitset.lookup(supports, new) < 0] if len(new) else new
            meta["residual_terms"] = int(fresh.shape[0])
            supports = np.concatenate([supports, fresh])
    rows = masks.shape[0] if pairs is None else len(pairs[0])
    if grow and pairs is not None and rows >= 2 * n:  # every part's own term: n odd columns, all SV/BV read
        supports = _with(supports, bitset.singles_and_pairs(n, pairs=False))
    if pairs is None and len(supports) == k:  # the fit above already covers these terms on every row
        final = _Final(fit.b0, fit.beta, fit.alpha, meta["refit_r2"], fit.gcv)
    else:
        final = _refit(masks, z, n, supports, pairs)
    if grow and pairs is not None:  # odd terms the proxy ranked too low to keep (see _grow_odd)
        supports, final, grown = _grow_odd(masks, z, n, supports, final, spectrum, pairs)
        if grown:
            meta["odd_grown_terms"] = grown
    if grow and small:  # the low-order completion (see _refit): every part and pair, kept when GCV says so
        wide = _with(supports, bitset.singles_and_pairs(n, pairs=max_order >= 2))
        if len(wide) > len(supports) and len(wide) <= COMPLETION_SHARE * rows:
            completed = _refit(masks, z, n, wide, pairs)
            meta["completion_gcv"] = [final.gcv, completed.gcv]
            if completed.gcv < final.gcv * (1 - 1e-3) - 1e-12:  # GCVs at rounding level are a tie
                meta["completed_terms"] = int(len(wide) - len(supports))
                supports, final = wide, completed
    found = exactly_sparse(supports) if 1 - final.r2 >= EXACT_R2_GAP else None
    if found is not None:  # exact: no proxy is mixed into it (below)
        supports, final = found
    meta.update({"refit_alpha": final.alpha, "refit_r2": final.r2})
    if pairs is not None:
        meta["pairs"] = rows
    fitted = _transform(n, supports, final.b0, final.beta, loc, scale)
    if weights is None or 1 - final.r2 < EXACT_R2_GAP:  # a fit exact on every row (the completion's) is kept alone
        return fitted, meta
    sparse = [(weights[pick], fitted)]
    for i in np.flatnonzero(weights[:-1] > 0):
        if i != pick:  # another energy's refit on every row (a prefix of the same statistics)
            f = ridge_gram(total.prefix(keep[i]))
            sparse.append((weights[i], _transform(n, cand[: keep[i]], f.b0, f.beta, loc, scale)))
    return mixed_surrogate(sparse)


def _proxies_oof(proxies: list[ProxyFit], spectra: list[SparseTransform], masks: np.ndarray) -> np.ndarray:
    """Each fold proxy's prediction of the fold it never saw (the folds partition the rows)."""
    oof = np.zeros(masks.shape[0])
    for p, t in zip(proxies, spectra):
        oof[p.holdout] = t(masks[p.holdout])
    return oof


def _mix_weights(
    columns: list[np.ndarray], z: np.ndarray, sst: float, meta: dict
) -> tuple[np.ndarray | None, float | None]:
    """The surrogate's mix: weights ``≥ 0`` summing to 1 on each energy's sparse fit and the fold proxies.

    ``columns`` are out-of-fold predictions of the standardised values ``z``, one per energy (each fold's
    sparse fit on candidates from the proxy that never saw the fold) and last the fold proxies'
    (:func:`_proxies_oof`); the weights are the convex combination of them that predicts the held-out folds
    best (a super learner, van der Laan et al. 2007). They err differently — a sparse fit at a low energy
    keeps the strong terms sharp, one at a high energy reaches further into a real model's long tail of weak
    interactions, the trees keep the whole tail but smooth each term — so the mix predicts fresh masks better
    than any one (held-out R² on the toxicity BiLSTM, 3 inputs × 3 seeds at 500 / 1,000 / 2,000 queries:
    0.9932 / 0.9963 / 0.9978 with whichever of the chosen energy's fit and the proxies predicted the held-out
    folds better, 0.9938 / 0.9965 / 0.9982 with the best mix of those two, 0.9942 / 0.9967 / 0.9982 with every
    energy in the mix). It is kept when its held-out error is below :data:`MIX_GAIN` of the chosen energy's
    (and the final sparse fit is not exact on every row, :data:`EXACT_R2_GAP`), so a sparse function keeps its
    exact sparse fit. Returns the weights (None when not kept) and the mix's held-out R²; ``meta`` gets the
    proxies' own.
    """
    A = np.column_stack(columns)
    meta["proxy_oof_r2"] = r2_from_sums(float(((z - A[:, -1]) ** 2).sum()), sst)
    w = simplex_lstsq(A, z)
    mixed = r2_from_sums(float(((z - A @ w) ** 2).sum()), sst)
    if not (np.isfinite(mixed) and 1 - mixed < MIX_GAIN * max(0.0, 1 - meta["holdout_r2"])):
        return None, None
    return w, mixed


def _with(supports: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """``supports`` followed by the rows of ``extra`` it does not hold."""
    return np.concatenate([supports, extra[bitset.lookup(supports, extra) < 0]])


def _grow_odd(
    masks: np.ndarray, z: np.ndarray, n: int, supports: np.ndarray, final: _Final, spectrum: SparseTransform, pairs
) -> tuple[np.ndarray, _Final, int]:
    """One matching-pursuit step on a paired fit's odd block: ``(supports, fit, terms added)``.

    A weak odd term (a triple of coefficient 0.027 among terms of 0.1–1.4) can rank below hundreds of the
    proxy's spurious terms, so no energy fraction keeps it, yet the odd residual points straight at it: the
    proxy's other odd terms are ranked by their correlation with that residual, the prefixes of 1, 2, 4, …
    up to :data:`COMPLETION_SHARE` of the pairs are refitted, and the best is kept if its GCV is below
    :data:`ODD_GROWTH_GCV` of the fit's. The margin is wide because the best of several prefixes is an
    optimistic pick: on noisy and large planted functions it lowered GCV by 18–34 % with worse Shapley values
    (n = 64 at 10 dB, 250 queries: 0.25 → 0.28), while a term that belongs in the support lowers it by
    41–100 % (planted n = 32 / 64 at 500 queries: Shapley-value error 0.0038 / 0.078 → 0 / 0.009, 3 seeds).
    """
    a, b = pairs
    odd = _odd(supports)
    have = int(odd.sum())
    room = int(COMPLETION_SHARE * len(a)) - have
    cands = spectrum.supports[_odd(spectrum.supports)]
    cands = cands[bitset.lookup(supports, cands) < 0] if len(cands) else cands
    room = min(room, len(cands))
    if room <= 0 or not final.gcv > 0:
        return supports, final, 0
    x = masks[a]
    z_odd = (z[a] - z[b]) / 2
    resid = z_odd - _predict(x, supports[odd], n, 0.0, final.beta[odd])
    score = np.concatenate(
        [np.abs(fourier_columns(x, cands[i : i + CHUNK], n).T @ resid) for i in range(0, len(cands), CHUNK)]
    )
    cands = cands[np.argsort(-score, kind="stable")[:room]]
    # every prefix is a leading block of one odd Gram matrix; the even block's fit stays the final one's
    stats = _odd_stats(x, np.concatenate([supports[odd], cands]), n, z_odd)
    sizes = sorted({min(2**i, room) for i in range(int(np.ceil(np.log2(room))) + 1)})
    m, f_odd = min(((m, ridge_gram(stats.prefix(have + m))) for m in sizes), key=lambda t: t[1].gcv)
    f_even = final.even
    if f_odd.gcv + f_even.gcv < ODD_GROWTH_GCV * final.gcv:
        grown = np.concatenate([odd, np.ones(m, bool)])
        sst = float(((z - z.mean()) ** 2).sum())
        return np.concatenate([supports, cands[:m]]), _paired(grown, f_odd, f_even, sst), m
    return supports, final, 0


#: the sparse probe (:func:`_exact_sparse`) runs where the held-out R² of the chosen fit is above ``1 −`` this
SPARSE_PROBE_GATE = 1e-3
#: the most terms the sparse probe selects, as a share of the rows (it must leave rows to spare to be identified)
SPARSE_PROBE_SHARE = 0.25
#: the largest design (rows × candidate terms, float32) the sparse probe builds: 16 MiB beyond small problems,
#: where its cost grows with it and with the support (planted n = 1,000 at 10,000 queries, a weak term the proxy
#: never found: 0.18 s more at 64 MiB), beyond which it does not run; 128 MiB on small ones, whose rows are few
#: but whose five proxies find many terms (planted n = 30 at 1,920 queries: up to 27,824), the largest kept
SPARSE_PROBE_ENTRIES, SMALL_PROBE_ENTRIES = 1 << 22, 1 << 25


def _exact_sparse(masks: np.ndarray, z: np.ndarray, n: int, candidates: np.ndarray) -> tuple[np.ndarray, _Final] | None:
    """An exact sparse fit of ``z`` over a few of ``candidates``, found by orthogonal matching pursuit, or None.

    A planted function of 8 interactions of order ≤ 3 over 12 parts (``spectrex demo --n 12``) has 18–24
    Fourier terms, all among the fold proxies' terms; but terms of 0.2 beside terms of 4.5 rank below hundreds
    of the trees' artefacts, so no energy fraction keeps them alone, the chosen fit keeps them and the artefacts
    (held-out R² 0.99998, not 1), and the fold proxies mixed in made it dense: 4 of 10 seeds at the default
    1,000 queries not recovered (289 spurious terms). Matching pursuit over the same candidates picks exactly the
    true terms, one per step, and the residual falls to rounding (≤ 4e-15) at the last one. Over 27 cases of
    ``benchmarks/sparse_recovery`` (n = 12…64, 4–20 interactions, 300 queries to the default, 10 seeds each) the
    default explanation recovers 263 of 270 planted functions exactly, against 222 without this step; the
    misses left are at n = 64 with 20 interactions, whose weak terms the one proxy of a large problem stops
    before growing (5 of 10), and at n = 30 with 300 queries (8 of 10), whose fit is not near enough to exact.

    The fit is kept only when it is exact to rounding (:data:`EXACT_RMS`) with at most
    :data:`SPARSE_PROBE_SHARE` of the rows as terms; a real model's values never are, so its surrogate is the
    one the other steps give, bit for bit (the toxicity BiLSTM and Gemma 3 270M benchmark inputs). On values
    with noise the pursuit stops a few steps after it starts fitting the noise (three steps running that each
    take under twice the share a noise column would): 0.00–0.2 s of CPU on planted n = 12 / 20 at 60–80 dB.
    Its design, ``q × candidates`` float32, is capped by :data:`SPARSE_PROBE_ENTRIES` and
    :data:`SMALL_PROBE_ENTRIES`.
    """
    q = len(z)
    most = min(int(SPARSE_PROBE_SHARE * q), len(candidates))
    if most < 1:
        return None
    # the constant is fitted apart, so the columns are centred; the residual sums to 0, so the raw ±1 columns
    # (float32, exact) score as their centred versions do, which are built only for the column chosen
    X = fourier_columns(masks, candidates, n)
    means = X.mean(axis=0, dtype=np.float64)
    norms = np.sqrt(np.maximum(q * (1 - means**2), 0.0))  # of the centred columns
    usable = norms > 1e-9 * np.sqrt(q)
    zc = z - z.mean()
    resid, basis, chosen = zc.copy(), np.zeros((q, most)), []
    rss, stalls = float(zc @ zc), 0
    # a step into noise takes about 2 ln(c) / (q − k) of what is left (the largest of c chi-squares); one
    # that takes under twice that, three times running, is fitting noise: not an exactly sparse function
    noise_step = 4 * np.log(max(len(candidates), 2))
    for k in range(most):
        score = np.where(usable, np.abs(resid.astype(np.float32) @ X) / np.where(usable, norms, 1.0), -1.0)
        j = int(np.argmax(score))
        if score[j] <= 0:
            return None
        col = X[:, j] - means[j]
        v = col - basis[:, :k] @ (basis[:, :k].T @ col)
        v -= basis[:, :k] @ (basis[:, :k].T @ v)  # twice: Gram–Schmidt loses orthogonality once
        length = float(np.linalg.norm(v))
        usable[j] = False
        if length <= 1e-9 * norms[j]:  # a combination of the terms already chosen
            continue
        basis[:, k] = v / length
        step = float(basis[:, k] @ resid)
        resid -= step * basis[:, k]
        chosen.append(j)
        stalls = stalls + 1 if step**2 < noise_step / (q - len(chosen)) * rss else 0
        rss -= step**2
        if stalls == 3:
            return None
        if float(np.sqrt(np.mean(resid**2))) <= EXACT_RMS:
            A = X[:, chosen] - means[chosen]
            beta, *_ = np.linalg.lstsq(A, zc, rcond=None)
            rss = float(((zc - A @ beta) ** 2).sum())
            fit = _Final(float(z.mean() - means[chosen] @ beta), beta, 0.0, r2_from_sums(rss, float(zc @ zc)), rss / q)
            return candidates[chosen], fit
    return None


#: RMS of the standardised values' residual below which a fit is exact (rounding is left)
EXACT_RMS = 1e-9
#: in-sample ``1 − R²`` below which a final refit is exact to rounding (its R² comes from sums, whose
#: rounding reads ~1e-15 on exact planted fits) and no fold proxies are mixed into it
EXACT_R2_GAP = 1e-12
#: the low-order completion is tried while its terms are at most this share of the rows (of the pairs)
COMPLETION_SHARE = 0.75
#: an odd block grown by :func:`_grow_odd` is kept when its GCV score is below this share of the fit's
ODD_GROWTH_GCV = 0.6


@dataclass(frozen=True)
class _Final:
    """The final refit: ``z ≈ b0 + Σ β χ`` (standardised values), its penalty, in-sample R² and GCV score;
    on a paired sample also the even block's own fit (which :func:`_grow_odd` leaves as it is)."""

    b0: float
    beta: np.ndarray
    alpha: float | dict
    r2: float
    gcv: float
    even: RidgeFit | None = None


def _refit(masks: np.ndarray, z: np.ndarray, n: int, supports: np.ndarray, pairs) -> _Final:
    """The final ridge refit of ``supports`` (GCV penalty), split by parity on a complement-paired sample.

    Over pairs ``(M, ¬M)`` (:mod:`spectrex.transforms.pairs`) an odd Fourier column flips sign and an even
    one does not, so the two blocks of the design are orthogonal and each pair is one observation of
    ``z_odd = (z(M) − z(¬M)) / 2`` (odd columns) and of ``z_even = (z(M) + z(¬M)) / 2`` (even columns and
    the constant). Fitted apart, the odd coefficients — all that Shapley and Banzhaf values read — see none
    of the even part's misfit, and each block gets its own penalty: an odd part inside the support is fitted
    to rounding (planted dense order ≤ 2 at n = 32: Shapley values exact from 250 queries; one joint fit
    leaves errors of 1.3). The score is GCV's error at a fresh mask (for a paired fit the sum of the two
    blocks': the cross term of an odd and an even function averages to 0).

    Used for the low-order completion too: a tree proxy finds a few strong interactions, and a function with
    many weak low-order ones (the dense game's 528 terms) keeps a residual the correction can only
    estimate; with rows enough, the fit over every part and pair recovers it exactly, kept only where its
    GCV score is lower than the sparse fit's.
    """
    sst = float(((z - z.mean()) ** 2).sum())
    if pairs is None:
        fit = ridge_gram(gram_stats(masks, supports, n, z))
        return _Final(fit.b0, fit.beta, fit.alpha, r2_from_sums(fit.rss, sst), fit.gcv)
    a, b = pairs
    x = masks[a]
    z_odd, z_even = (z[a] - z[b]) / 2, (z[a] + z[b]) / 2
    odd = _odd(supports)
    f_odd = ridge_gram(_odd_stats(x, supports[odd], n, z_odd))
    f_even = ridge_gram(gram_stats(x, supports[~odd], n, z_even))
    return _paired(odd, f_odd, f_even, sst)


def _odd(supports: np.ndarray) -> np.ndarray:
    """Which supports have an odd number of parts (the columns that flip sign under complement)."""
    return (bitset.popcount(supports) % 2).astype(bool)


def _odd_stats(x: np.ndarray, supports: np.ndarray, n: int, z_odd: np.ndarray) -> GramStats:
    """Statistics of the odd block: one row per pair (its complement holds the same equation, signs flipped)
    and no constant — over the pairs the odd columns and ``z_odd`` sum to 0, so their sums are 0, not those
    of the rows kept here."""
    half = gram_stats(x, supports, n, z_odd)
    return GramStats(half.G, half.Xty, np.zeros(len(supports)), 0.0, half.yy, len(x))


def _paired(odd: np.ndarray, f_odd: RidgeFit, f_even: RidgeFit, sst: float) -> _Final:
    """The odd and even blocks' fits as one :class:`_Final` (``odd``: which supports are odd; ``sst``: the
    values' total sum of squares)."""
    beta = np.zeros(len(odd))
    beta[odd], beta[~odd] = f_odd.beta, f_even.beta
    r2 = r2_from_sums(2 * (f_odd.rss + f_even.rss), sst)
    alpha = {"odd": f_odd.alpha, "even": f_even.alpha}
    return _Final(f_even.b0, beta, alpha, r2, f_odd.gcv + f_even.gcv, f_even)


class ProxyDecoder:
    """:func:`proxy_decode` as a :class:`~spectrex.decoders.base.Decoder`: the proxy's seed is the next
    draw of the plan's generator; ``energy`` is normalised here ("auto", one fraction or a tuple)."""

    min_rows = MIN_ROWS
    #: the diagnostic an adaptive budget compares between rounds
    score = "holdout_r2"

    def __init__(self, energy="auto", top_k=None, residual=True, num_threads=1, proxy="numba"):
        if not isinstance(energy, str):
            energies = (energy,) if np.isscalar(energy) else tuple(energy)
            energy = tuple(float(e) for e in energies) if len(energies) > 1 else float(energies[0])
        self.energy, self.top_k, self.residual = energy, top_k, residual
        self.num_threads, self.proxy = num_threads, proxy

    def __call__(self, plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        seed = int(plan.rng.integers(2**31 - 1))
        return proxy_decode(
            masks,
            values,
            masks.shape[1],
            max_order,
            energy=self.energy,
            top_k=self.top_k,
            residual=self.residual,
            seed=seed,
            num_threads=self.num_threads,
            proxy=self.proxy,
        )
