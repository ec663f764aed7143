"""The residual correction of a surrogate's indices: exact once every mask is queried.

Every index of :mod:`.indices` is linear in the function, ``I(f) = I(g) + I(f − g)``: the surrogate's
part ``I(g)`` is exact (:func:`~.indices.convert`), and the residual's part is estimated from the
residuals ``r = f − g`` at the queried masks (MSR-style sample reuse, as in ProxySHAP and
RegressionMSR; Fumagalli et al. 2023, Kolpaczki et al. 2024). For an index value ``I(T)`` a mask's
coefficient depends only on its size ``s`` and on ``j = |M ∩ T|``, so

    I_r(T) = Σ_s Σ_j W(s, j) · mean{ r(M) : |M| = s, |M ∩ T| = j },

with ``W(s, j)`` the sum of the coefficients over all masks of that size and pattern. The means are
estimated from the queried masks of a size (a uniform random subset of that size's masks, as the
designs of :mod:`spectrex.design.uniform` and :mod:`spectrex.design.stratified` give); sizes with few
masks are pooled with their neighbours in *bins*. A size that is queried completely is its own bin,
so with all ``2^n`` masks the correction is exact, whatever the surrogate. The standard error of each
value is the stratified-sampling one (pattern variances with the finite-population correction).

Corrected views: SV, BV, SII, BII, STII (orders ≤ 2 and k ≤ 2 for k-SII), FBII (k ≤ 2). Higher
orders, FSII, Möbius and Fourier stay the surrogate's (:attr:`Interactions.sources` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb, exp, lgamma, log

import numpy as np

from . import bitset
from .pairs import complement_pairs
from .sparse import SparseTransform

#: share of a scale below which a number is rounding noise: a surrogate whose residuals' RMS is below this share
#: of the values' spread is exact (:meth:`ResidualSample.of`: the correction would spread its ~1e-16 residuals
#: over every pair), and the summaries show values below this share of the largest as 0
#: (:mod:`spectrex.report.overview`). The correction it drops is that small too, so a result from every mask
#: stays exact to 1e-9 (a fit short of exact, e.g. ridge at the smallest penalty, leaves ~1e-7 and is corrected).
ROUNDING = 1e-12
#: fewest queried masks a bin of incompletely queried sizes pools before it is closed
MIN_BIN = 24
#: distinct masks per part, and per pair, below which an order's corrections are not applied (thin_orders)
PER_PART = 16
PER_PAIR = 2
#: pairs are corrected (densely) up to this many parts; above it only the surrogate's pairs
MAX_DENSE_PAIRS_N = 512
#: indices whose orders ≤ 2 are corrected (k-SII, FBII and FSII for max_order ≤ 2)
CORRECTED = ("SV", "BV", "SII", "BII", "STII", "k-SII", "FBII", "FSII")
#: FSII is a weighted regression over every term of order ≤ k: corrected up to this many parts
MAX_FSII_N = 64


@dataclass(frozen=True, eq=False)
class ResidualSample:
    """The surrogate's residuals ``f − g`` at distinct queried masks (the data of the correction).

    Attributes
    ----------
    n : int
    masks : ndarray of bool, shape (m, n)
        Distinct masks; within one size, a uniform random subset of that size's masks.
    residuals : ndarray of float, shape (m,)
    inflation : float, default 1
        Factor on the variances: residuals at the masks a surrogate was fitted on are smaller than
        at fresh masks; the fitting method knows by how much (e.g. held-out over in-sample residual
        variance) and says so here.
    """

    n: int
    masks: np.ndarray
    residuals: np.ndarray
    inflation: float = 1.0

    @cached_property
    def odd(self) -> np.ndarray | None:
        """The residual's odd part ``(r(M) − r(¬M)) / 2`` at each mask when the sample is closed under
        complement (:mod:`.pairs`; an unpaired mask gets 0), else None."""
        pairs = complement_pairs(self.masks)
        if pairs is None:
            return None
        a, b = pairs
        out = np.zeros_like(self.residuals)
        out[a] = (self.residuals[a] - self.residuals[b]) / 2
        out[b] = -out[a]
        return out

    @classmethod
    def of(cls, transform: SparseTransform, masks: np.ndarray, y: np.ndarray, inflation: float = 1.0) -> ResidualSample:
        """The residuals of ``transform`` at the answered ``masks`` (repeated masks once, their mean value);
        all 0 where ``transform`` is exact to rounding (RMS below :data:`ROUNDING` of the values' spread)."""
        masks = np.asarray(masks, bool)
        packed = np.ascontiguousarray(np.packbits(masks, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        y_mean = np.bincount(inverse, weights=np.asarray(y, float)) / np.bincount(inverse)
        distinct = masks[first]
        resid = y_mean - transform(distinct)
        top = float(np.abs(y_mean).max(initial=0.0)) or 1.0  # compared in units of the largest value: no overflow
        if resid.size and np.sqrt(np.mean((resid / top) ** 2)) <= ROUNDING * np.std(y_mean / top):
            resid = np.zeros_like(resid)
        return cls(transform.n, distinct, resid, float(inflation))

    def to_json(self) -> dict:
        """JSON-friendly form: each mask as the hex string of its bits packed (part 0 = the first byte's top bit)."""
        return {
            "masks": [row.tobytes().hex() for row in np.packbits(self.masks, axis=1)],
            "residuals": self.residuals.tolist(),
            "inflation": self.inflation,
        }

    @classmethod
    def from_json(cls, doc: dict, n: int) -> ResidualSample:
        if not (
            isinstance(doc, dict) and isinstance(doc.get("masks"), list) and isinstance(doc.get("residuals"), list)
        ):
            raise ValueError("the result's 'residual' field needs 'masks' and 'residuals' lists: check the file")
        if len(doc["masks"]) != len(doc["residuals"]):
            raise ValueError(
                "the result's residual sample lists different numbers of masks and residuals: check the file"
            )
        try:
            packed = np.array([np.frombuffer(bytes.fromhex(h), np.uint8) for h in doc["masks"]], np.uint8)
            masks = np.unpackbits(packed.reshape(len(doc["masks"]), -1), axis=1, count=n).astype(bool)
        except (TypeError, ValueError):
            raise ValueError(
                f"the result's residual masks are not {-(-n // 8) * 2}-digit hex strings: check the file"
            ) from None
        return cls(n, masks, np.array(doc["residuals"], float), float(doc.get("inflation", 1.0)))


# -- coefficient tables ------------------------------------------------------------------------
def log_comb(a: int, b: int) -> float:
    """``log C(a, b)`` without forming the (possibly huge) integer."""
    return lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1)


def pattern_weights(kind: str, t: int, n: int, k: int = 2) -> np.ndarray:
    """``W[s, j]``: the summed coefficient, in an order-``t`` value, of the masks of size ``s`` with ``|M ∩ T| = j``.

    ``kind``: "SII", "BII", "Moebius" (``a(T) = Δ_T f(∅)``), "STII-top" (Shapley–Taylor at its top
    order ``t = k``) or "Fourier" (``2^{-n} Σ f(M) (-1)^{|M∩T|}``).
    """
    out = np.zeros((n + 1, t + 1))
    for j in range(t + 1):
        sign = (-1.0) ** (t - j)
        for sp in range(0, n - t + 1):  # sp = |M \ T|
            s = sp + j
            lc = log(comb(t, j)) + log_comb(n - t, sp)  # masks of this size and pattern
            if kind == "SII":
                out[s, j] = sign * comb(t, j) / (n - t + 1)
            elif kind == "BII":
                out[s, j] = sign * np.exp(lc - (n - t) * log(2.0))
            elif kind == "Moebius":
                out[s, j] = sign * comb(t, j) * (sp == 0)
            elif kind == "STII-top":
                out[s, j] = sign * np.exp(lc + log(k / n) - log_comb(n - 1, sp))
            elif kind == "Fourier":
                out[s, j] = (-1.0) ** j * np.exp(lc - n * log(2.0))
            else:
                raise ValueError(kind)
    return out


# -- the estimator -----------------------------------------------------------------------------
def size_bins(sizes: np.ndarray, n: int, min_bin: int = MIN_BIN) -> list[np.ndarray]:
    """Sizes ``0…n`` grouped into bins: a completely queried size alone, others pooled to ≥ ``min_bin`` masks."""
    counts = np.bincount(sizes, minlength=n + 1)
    complete = np.array([counts[s] >= comb(n, s) for s in range(n + 1)])
    bins, run, held = [], [], 0
    for s in range(n + 1):
        if complete[s]:
            if run:
                bins.append(run)
                run, held = [], 0
            bins.append([s])
            continue
        run.append(s)
        held += int(counts[s])
        if held >= min_bin:
            bins.append(run)
            run, held = [], 0
    if run:  # an underfilled tail joins the previous bin of incomplete sizes when there is one
        if bins and not complete[bins[-1][-1]]:
            bins[-1].extend(run)
        else:
            bins.append(run)
    return [np.array(b) for b in bins]


def _pattern_sums(x: np.ndarray, w: np.ndarray, t: int) -> list[np.ndarray]:
    """Per pattern ``j`` the sums of ``w`` over masks with ``|M ∩ T| = j``, for every T of order ``t``."""
    total = w.sum()
    if t == 0:
        return [np.array(total)]
    one = x.T @ w  # (n,)
    if t == 1:
        return [total - one, one]
    both = (x * w[:, None]).T @ x  # (n, n)
    d = np.diag(both)
    return [total - d[:, None] - d[None, :] + both, d[:, None] + d[None, :] - 2 * both, both]


def estimate(
    sample: ResidualSample, weights: np.ndarray, t: int, min_bin: int = MIN_BIN, *, odd: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The residual's order-``t`` values (scalar, ``(n,)`` or ``(n, n)``) and their standard errors.

    ``odd``: the values read only the residual's odd part (Shapley and Banzhaf values) and the sample is
    closed under complement, so the odd part is estimated alone — the even part's spread leaves the
    variance. A size ``s`` mean then equals minus the ``n − s`` one at the complements, so the two add
    coherently: the variance is twice the one of independent strata.
    """
    n, masks = sample.n, sample.masks
    r = sample.odd if odd else sample.residuals
    shape = () if t == 0 else (n,) * t
    est, var = np.zeros(shape), np.zeros(shape)
    sizes = masks.sum(axis=1)
    for b in size_bins(sizes, n, min_bin):
        omega = weights[b].sum(axis=0)  # (t+1,)
        if not np.any(omega):
            continue
        rows = np.isin(sizes, b)
        x, rb = masks[rows].astype(np.float64), r[rows]
        spread = float(rb.var(ddof=1)) if rb.size > 1 else float(np.mean(rb**2)) if rb.size else 0.0
        cnt = _pattern_sums(x, np.ones(len(rb)), t)
        s1 = _pattern_sums(x, rb, t)
        s2 = _pattern_sums(x, rb**2, t)
        for j in range(t + 1):
            if omega[j] == 0:
                continue
            m = np.rint(cnt[j])
            population = sum(comb(t, j) * comb(n - t, int(s) - j) for s in b if 0 <= int(s) - j <= n - t)
            population = min(population, 2**62)  # only m / population is used: ~0 either way, and a float from here
            safe = np.maximum(m, 1)
            mean = np.where(m > 0, s1[j] / safe, 0.0)
            within = np.where(m > 1, (s2[j] - s1[j] ** 2 / safe) / np.maximum(m - 1, 1), spread)
            fpc = np.clip(1 - m / max(population, 1), 0.0, 1.0)
            v = np.where(m > 0, np.maximum(within, 0.0) / safe * fpc, spread)
            est += omega[j] * mean
            var += omega[j] ** 2 * v
    return est, np.sqrt(var * sample.inflation * (2.0 if odd else 1.0))


# -- the corrected views -----------------------------------------------------------------------
def _order_terms(index: str, k: int, t: int) -> str | None:
    """Which weight table gives ``index``'s order-``t`` values (at view order ``k``), or None."""
    if index in ("SV", "SII") or (index == "k-SII" and t == k):
        return "SII"
    if index in ("BV", "BII"):
        return "BII"
    if index == "STII":
        return "STII-top" if t == k else "Moebius"
    return None


def _as_terms(n: int, t: int, est: np.ndarray, se: np.ndarray):
    if t == 0:
        return np.zeros((1, bitset.n_words(n)), np.uint64), np.array([float(est)]), np.array([float(se)])
    if t == 1:
        return bitset.singles_and_pairs(n, pairs=False), est, se
    i, j = np.triu_indices(n, 1)  # the order of singles_and_pairs' pairs
    return bitset.singles_and_pairs(n)[n:], est[i, j], se[i, j]


def thin_orders(sample: ResidualSample) -> tuple[int, ...]:
    """Orders whose corrections the sample is too thin to apply: fewer than :data:`PER_PART` distinct masks
    per part (order 1) or :data:`PER_PAIR` per pair (order 2), unless every mask was queried.

    Below these the pattern means behind an order's values hold a mask or two each, and the correction
    adds more noise than the surrogate's error it removes (``python -m benchmarks correction_gain``,
    surrogate alone against corrected: planted n = 256 at 250 / 2,000 queries, Shapley values 0.14 vs 0.32 /
    0.011 vs 0.018, SII-2 0.0018 vs 0.10 / 0.00042 vs 0.0071; n = 64 at 250 SII-2 0.016 vs 0.16; while the
    real models at 17+ queries per part and 2.4+ per pair gain from it: Shapley values 1.3–10×, SII-2 up to
    4.5×). The values of a thin order stay the surrogate's; their standard errors still come from the residual
    (:func:`corrections`).
    """
    m, n = len(sample.residuals), sample.n
    if n <= 62 and m >= 2**n:
        return ()
    return tuple(t for t, need in ((1, PER_PART * n), (2, PER_PAIR * n * (n - 1) / 2)) if m < need)


def corrections(sample: ResidualSample, index: str, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The residual's values of ``index`` (view order ``k``) at orders ≤ 2, with standard errors.

    Pair corrections are shrunk by ``c² / (c² + se²)`` (a Wiener factor): a sparse truth has few
    pairs, and an unshrunk correction adds its sampling noise to every one of the ``n(n−1)/2``
    (planted n = 64, 250 queries: SII-2 error 0.234 unshrunk, 0.021 for the surrogate alone, 0.038
    shrunk). The factor is 1 once a pair's standard error is 0 (every mask queried), so the views stay
    exact there. First-order values are not shrunk (it cost their accuracy on the real models).

    The orders of :func:`thin_orders` get a correction of 0 and, as their standard error, the size of
    what the residual shows there: ``sqrt(c² + se²)`` (its estimate of the surrogate's error and that
    estimate's own noise).
    """
    found = _corrections(sample, index, k)
    if found is None:
        return None
    sup, val, err = found
    orders = bitset.popcount(sup)
    val = val.copy()
    pair = orders >= 2
    val[pair] = shrink(val[pair], err[pair])
    thin = np.isin(orders, thin_orders(sample))
    err = np.where(thin, np.hypot(val, err), err)
    val[thin] = 0.0
    return sup, val, err


def shrink(value: np.ndarray, err: np.ndarray) -> np.ndarray:
    """``value · value² / (value² + err²)`` (a Wiener factor): a value shrunk by how much of it its standard error
    could explain; unchanged where the error is 0 or unknown (NaN)."""
    value, err = np.asarray(value, float), np.asarray(err, float)
    ok = np.isfinite(err) & (err > 0)
    out = value.copy()
    out[ok] = value[ok] ** 3 / (value[ok] ** 2 + err[ok] ** 2)
    return out


def first_order_weights(kind: str, n: int, a: float, b: float) -> np.ndarray:
    """``W[s, j]`` of the first-order value ``a · I_i + b · Σ_{j≠i} I_ij`` (``I`` of :func:`pattern_weights` ``kind``).

    k-SII's (``k = 2``: ``SII_i − ½ Σ_j SII_ij``) and FBII's (``−2 F_i − 2 Σ_j F_ij``) first-order values
    are such sums. Estimated as one functional, from the masks' patterns with ``i`` alone, the value pools
    every mask of a size; the sum of ``n − 1`` pair estimates adds each one's sampling noise (planted
    n = 64, 250 queries: k-SII-2 error 0.156 as the sum, 0.070 as one functional; lower on Gemma 3 270M and
    the toxicity BiLSTM at every budget too).
    """
    w1, w2 = pattern_weights(kind, 1, n), pattern_weights(kind, 2, n)

    def each(w: np.ndarray, t: int, s: int, j: int, log_masks: float) -> float:
        """One such mask's coefficient times the ``exp(log_masks)`` masks it is summed over (in logs: the
        counts overflow a float from n ≈ 1,030)."""
        if not 0 <= s - j <= n - t or w[s, j] == 0:
            return 0.0
        return w[s, j] * exp(log_masks - log_comb(t, j) - log_comb(n - t, s - j))

    out = np.zeros((n + 1, 2))
    for s in range(n + 1):
        if s >= 1:  # i kept: the other s − 1 kept parts pair with it in pattern 2, the n − s others in 1
            m = log_comb(n - 1, s - 1)
            out[s, 1] = a * each(w1, 1, s, 1, m) + b * ((s - 1) * each(w2, 2, s, 2, m) + (n - s) * each(w2, 2, s, 1, m))
        if s <= n - 1:
            m = log_comb(n - 1, s)
            out[s, 0] = a * each(w1, 1, s, 0, m) + b * (s * each(w2, 2, s, 1, m) + (n - 1 - s) * each(w2, 2, s, 0, m))
    return out


def _corrections(sample: ResidualSample, index: str, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The residual's values of ``index`` (view order ``k``) at orders ≤ 2, with standard errors.

    Returns ``(supports, values, std_errors)`` over the empty set, every part and (n ≤
    :data:`MAX_DENSE_PAIRS_N`, ``k ≥ 2``) every pair, or None for an index that is not corrected.
    """
    n = sample.n
    if index not in CORRECTED or (index in ("k-SII", "FBII", "FSII") and k > 2):
        return None
    if index == "FSII":
        return _fsii(sample, k) if n <= MAX_FSII_N else None
    top = min(k, 2) if n <= MAX_DENSE_PAIRS_N else min(k, 1)
    if index == "FBII":
        return _fbii(sample, k, top)
    if index == "k-SII" and k == 2:
        e0, s0 = estimate(sample, pattern_weights("Moebius", 0, n), 0)  # the baseline f(∅)
        # k-SII_i = SII_i − ½ Σ_j SII_ij, estimated as one functional (see first_order_weights)
        e1, s1 = estimate(sample, first_order_weights("SII", n, 1.0, -0.5), 1)
        e2, s2 = estimate(sample, pattern_weights("SII", 2, n), 2) if top >= 2 else (None, None)
        parts = [(0, e0, s0), (1, e1, s1)] + ([(2, e2, s2)] if top >= 2 else [])
    else:
        paired = sample.odd is not None  # first-order Shapley and Banzhaf values then read the odd part alone
        parts = []
        for t in range(0, top + 1):
            if t == 0 and index in ("SV", "k-SII"):
                kind = "Moebius"  # the efficient indices' empty entry is the baseline f(∅)
            else:
                kind = _order_terms(index, k if index not in ("SV", "BV") else 1, t)
            odd = paired and t == 1 and kind in ("SII", "BII")
            e, s = estimate(sample, pattern_weights(kind, t, n, k), t, odd=odd)
            parts.append((t, e, s))
    sup, val, err = zip(*(_as_terms(n, t, e, s) for t, e, s in parts))
    return np.concatenate(sup), np.concatenate(val), np.concatenate(err)


def _fbii(sample: ResidualSample, k: int, top: int):
    """FBII (k ≤ 2): the residual's Fourier coefficients up to order k, read as FBII via :func:`.indices.convert`.

    At ``k = 2`` the first-order values ``−2 F_i − 2 Σ_j F_ij`` are estimated as one functional
    (:func:`first_order_weights`) instead of from the sum of the pair estimates.
    """
    from .indices import convert

    n = sample.n
    parts = [(t, *estimate(sample, pattern_weights("Fourier", t, n), t)) for t in range(0, top + 1)]
    terms = [_as_terms(n, t, e, s) for t, e, s in parts]
    sup = np.concatenate([x[0] for x in terms])
    val = np.concatenate([x[1] for x in terms])
    csup, cval, _ = convert(SparseTransform(n, sup, val, "fourier"), "FBII", k)
    # every term estimated, a zero one too (the conversion leaves zeros out: a residual of exact zeros has none),
    # in the order of ``sup``: the empty set, the n parts, the pairs
    at = bitset.lookup(csup, sup)
    fval = np.zeros(len(sup))
    fval[at >= 0] = cval[at[at >= 0]]
    # standard errors: FBII_ij = 4 F_ij (k = 2); FBII_i = -2 F_i (k = 1)
    se = [terms[0][2]]
    if top >= 1:
        if k >= 2:
            e1, s1 = estimate(sample, first_order_weights("Fourier", n, -2.0, -2.0), 1)
            fval[1 : n + 1] = e1
            se.append(s1)
        else:
            se.append(2 * parts[1][2])
        if top >= 2:
            se.append(4 * terms[2][2])
    return sup, fval, np.concatenate(se)


def _fsii(sample: ResidualSample, k: int):
    """FSII (k ≤ 2) of the residual: the Shapley-kernel least squares of order ≤ k, from the sample.

    FSII is the best order-``k`` Möbius approximation under the Shapley kernel μ(s) with the empty and
    full masks fitted exactly (Tsai et al. 2023). Its normal equations ``G β = b`` have a population Gram
    that depends only on ``|S ∪ T|`` (known exactly) and a right side ``b_S = Σ_{M ⊇ S} μ(|M|) r(M)``
    estimated per size by Horvitz–Thompson (inclusion ``m_s / C(n, s)``: exact for a size queried
    whole). The two constraints are solved exactly (KKT); standard errors are the HT variance of the
    masks' contributions.
    """
    n, masks, r = sample.n, sample.masks, sample.residuals
    singles = np.eye(n, dtype=bool)
    iu, ju = np.triu_indices(n, 1)
    rows = [np.zeros((1, n), bool), singles]
    if k >= 2:
        pairs = np.zeros((len(iu), n), bool)
        pairs[np.arange(len(iu)), iu] = True
        pairs[np.arange(len(iu)), ju] = True
        rows.append(pairs)
    terms = np.concatenate(rows)  # (p, n): ∅, parts, pairs
    sizes_t = terms.sum(axis=1)
    # μ(s) for 0 < s < n, and g(u) = Σ_{M ⊇ U, 0<|M|<n} μ(|M|) for |U| = u
    s_all = np.arange(n + 1)
    mu = np.zeros(n + 1)
    inner = (s_all > 0) & (s_all < n)
    mu[inner] = np.exp(log(n - 1) - np.array([log_comb(n, int(s)) for s in s_all[inner]])) / (
        s_all[inner] * (n - s_all[inner])
    )
    g = np.array([sum(comb(n - u, s - u) * mu[s] for s in range(max(u, 1), n)) for u in range(n + 1)])
    union = terms.astype(np.int64) @ terms.T.astype(np.int64)  # |S ∩ T|
    union = sizes_t[:, None] + sizes_t[None, :] - union
    gram = g[union]
    p = len(terms)
    # constraints: β_∅ = r(∅), Σ β = r(N)
    sizes = masks.sum(axis=1)
    r_empty = r[sizes == 0]
    r_full = r[sizes == n]
    cons = np.zeros((2, p))
    cons[0, 0] = 1.0
    cons[1, :] = 1.0
    d = np.array([r_empty[0] if r_empty.size else 0.0, r_full[0] if r_full.size else 0.0])
    kkt = np.block([[2 * gram, cons.T], [cons, np.zeros((2, 2))]])
    inv = np.linalg.pinv(kkt)
    kb, kd = inv[:p, :p] * 2, inv[:p, p:]
    # HT contributions of each inner mask to b: μ(|M|) a_S(M) r(M) / π(|M|)
    counts = np.bincount(sizes, minlength=n + 1)
    pi = np.array([counts[s] / comb(n, s) for s in range(n + 1)])
    use = inner[sizes]
    x = masks[use]
    feats = [np.ones((len(x), 1)), x.astype(np.float64)]
    if k >= 2:
        feats.append((x[:, iu] & x[:, ju]).astype(np.float64))
    a = np.concatenate(feats, axis=1)  # (m, p): a_S(M) = [S ⊆ M]
    weight = mu[sizes[use]] * r[use] / pi[sizes[use]]
    z = (a * weight[:, None]) @ kb.T  # (m, p): each mask's share of β
    beta = z.sum(axis=0) + kd @ d
    var = ((1 - pi[sizes[use]])[:, None] * z**2).sum(axis=0)
    return bitset.pack(terms), beta, np.sqrt(var * sample.inflation)
