"""SPEX's decoder: subsampled WHTs → bin classification with soft BCH decoding → peeling → refit.

Given the values of a :class:`~spectrex.design.spex.SpexDesign` (Kang et al., ICML 2025):

1. one length-``2^b`` WHT per (group, delay), all at once, gives ``U[c, j, p]``;
2. every bin is a *zero-ton* (energy at the noise level), a *singleton* (one coefficient ``F(K)``:
   ``U[c, j, p] = F(K) (-1)^{⟨d_p, K⟩}``) or a *multiton*. The signs of a candidate singleton, read
   against the zero delay, are the BCH parity bits of ``K``; they are decoded with soft decisions
   (hard decision first, then Chase: flip the least reliable bits and keep the maximum-likelihood
   candidate). A candidate is accepted only if it hashes to this bin (``H_c K = j``) and explains the
   bin's values up to the noise level;
3. peeling: each found coefficient is subtracted from its bin in every group, which can turn
   multitons into singletons; repeat until nothing new is found;
4. the recovered support is refitted on all queries by ridge regression (penalty by GCV).

The bin classification and decoding run in one numba kernel over all bins; peeling is vectorised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from ..design.bch import bch_decode_word
from ..design.spex import SpexDesign
from ..metrics import r2_from_sums
from ..transforms import bitset
from ..transforms.sparse import SparseTransform
from ..transforms.wht import fwht
from .refit import ALPHAS, GramStats, ridge_gram

ZERO, SINGLETON, MULTITON = 0, 1, 2


@dataclass
class SpexSettings:
    """Decoder settings. Thresholds were tuned on planted functions at 10 dB SNR (see notes/spex.md).

    chase_depth : number of least reliable parity bits Chase flips (``None``: ``2t`` as in the
        reference code, capped at 10).
    zero_factor, single_factor : zero-ton / singleton thresholds in units of the estimated per-bin
        noise variance (times the number of delays).
    rel_single : a singleton may also leave this share of its bin's energy unexplained (a dominant
        coefficient over others below the noise).
    noise_quantile, noise_scale : the per-bin noise variance is the ``noise_quantile`` quantile of the
        bins' free-sign misfit divided by ``noise_scale · P`` (robust to multitons).
    max_rounds : peeling rounds at most, per pass.
    refine_rounds : passes of refit → subtract from the original bins → peel again.
    incomplete_tol : share of the signal's energy left in unresolved bins above which SPEX warns.
    """

    chase_depth: int | None = None
    zero_factor: float = 1.5
    single_factor: float = 5.0
    max_rounds: int = 30
    refine_rounds: int = 3
    rel_single: float = 0.1
    noise_quantile: float = 0.1
    noise_scale: float = 0.5
    incomplete_tol: float = 0.1


@numba.njit(cache=True)
def _classify_bins(
    U, active, cols, bins_per_group, parity, exp, log, m, t, r, n, chase_depth, thr_zero, thr_single, rel_single
):
    """Classify each active bin; decode singletons (hard decision, then Chase with ML choice)."""
    B, P1 = U.shape
    status = np.full(B, -1, dtype=np.int8)
    parts_out = np.full((B, t), -1, dtype=np.int64)
    coef_out = np.zeros(B)
    parts = np.empty(t, dtype=np.int64)
    flips = np.empty(t, dtype=np.int64)
    bits = np.zeros(r, dtype=np.uint8)
    hard = np.zeros(r, dtype=np.uint8)
    z = np.zeros(r)
    sig = np.zeros(r, dtype=np.uint8)
    for i in range(B):
        if not active[i]:
            continue
        u = U[i]
        energy = 0.0
        for p in range(P1):
            energy += u[p] * u[p]
        if energy <= thr_zero:
            status[i] = ZERO
            continue
        c = i // bins_per_group
        j = i % bins_per_group
        # a singleton must explain the bin up to the noise level, or up to a small share of its energy
        # (a dominant coefficient over others below the noise); the relative term also absorbs rounding
        limit = max(thr_single, rel_single * energy) + 1e-10 * energy
        # no sign pattern fits better than free signs: if even that misfit exceeds the limit, no
        # singleton can be accepted and decoding is skipped (exact pruning, it loses nothing)
        total_abs = 0.0
        for p in range(P1):
            total_abs += abs(u[p])
        if energy - total_abs * total_abs / P1 > limit:
            status[i] = MULTITON
            continue
        ref = 1.0 if u[0] >= 0 else -1.0
        for p in range(r):
            z[p] = u[p + 1] * ref
            hard[p] = 1 if z[p] < 0 else 0
        order = np.argsort(np.abs(z))
        depth = min(chase_depth, r)
        best_score = -1.0
        best_len = -1
        for pattern in range(1 << depth):
            for p in range(r):
                bits[p] = hard[p]
            for q in range(depth):
                if (pattern >> q) & 1:
                    bits[order[q]] ^= 1
            L = bch_decode_word(bits, exp, log, m, t, r, n, parts, flips)
            if L < 0:
                continue
            # the candidate must hash to this bin
            h = 0
            for q in range(t):
                if parts[q] >= 0:
                    h ^= cols[c, parts[q]]
            if h != j:
                continue
            # its sign pattern across delays, and the ML score |<u, signs>|
            for p in range(r):
                sig[p] = 0
            for q in range(t):
                if parts[q] >= 0:
                    for p in range(r):
                        sig[p] ^= parity[parts[q], p]
            score = u[0]
            for p in range(r):
                score += u[p + 1] if sig[p] == 0 else -u[p + 1]
            if abs(score) > best_score:
                best_score = abs(score)
                best_len = 0
                for q in range(t):
                    parts_out[i, q] = parts[q]
                    if parts[q] >= 0:
                        best_len += 1
                coef_out[i] = score / P1
            # hard decision (pattern 0) that already explains the bin: no need to search further
            if pattern == 0 and energy - best_score * best_score / P1 <= limit:
                break
        if best_len >= 0 and energy - best_score * best_score / P1 <= limit:
            status[i] = SINGLETON
        else:
            status[i] = MULTITON
            for q in range(t):
                parts_out[i, q] = -1
            coef_out[i] = 0.0
    return status, parts_out, coef_out


def _signatures(design: SpexDesign, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins ``(C, s)`` and delay signs ``(s, P+1)`` of supports given as ``(s, t)`` part indices (-1 padded)."""
    n = design.n
    idx = np.where(parts >= 0, parts, n)
    cols = np.concatenate([design.columns, np.zeros((design.groups, 1), np.int64)], axis=1)
    bins = np.bitwise_xor.reduce(cols[:, idx], axis=2) if parts.shape[1] else np.zeros((design.groups, len(parts)))
    par = np.concatenate([design.code.parity.T, np.zeros((1, design.code.r), bool)], axis=0)  # (n+1, r)
    bits = np.bitwise_xor.reduce(par[idx], axis=1)  # (s, r)
    signs = np.concatenate([np.ones((len(parts), 1)), 1.0 - 2.0 * bits], axis=1)
    return bins.astype(np.int64), signs


def design_matrix(design: SpexDesign, parts: np.ndarray) -> np.ndarray:
    """Fourier basis ``(-1)^{|K∩m|}`` of supports ``parts`` on every design mask, from the design's structure.

    Row order matches :meth:`SpexDesign.masks`; no mask is materialised:
    ``(-1)^{⟨H_c^T ℓ ⊕ d_p, K⟩} = (-1)^{⟨d_p, K⟩} · (-1)^{⟨ℓ, H_c K⟩}``.
    """
    bins, signs = _signatures(design, parts)
    ell = np.arange(1 << design.b, dtype=np.int64)
    out = np.empty((design.groups, design.n_delays, 1 << design.b, len(parts)))
    for c in range(design.groups):
        chi = 1.0 - 2.0 * (np.bitwise_count(ell[:, None] & bins[c][None, :]) & 1)  # (2^b, s)
        np.multiply(signs.T[:, None, :], chi[None, :, :], out=out[c])
    return out.reshape(-1, len(parts))


def subsampled_transforms(design: SpexDesign, y: np.ndarray) -> np.ndarray:
    """``U[c, j, p]``: normalised WHT over ℓ of each (group, delay) block of the values."""
    q = 1 << design.b
    blocks = np.asarray(y, float).reshape(design.groups * design.n_delays, q).T  # (2^b, C·(P+1))
    U = fwht(blocks) / q
    return U.T.reshape(design.groups, design.n_delays, q).transpose(0, 2, 1).copy()


def decode(
    design: SpexDesign, y: np.ndarray, settings: SpexSettings | None = None, *, refit: bool = True
) -> tuple[SparseTransform, dict]:
    """Recover a sparse Fourier transform from the values ``y`` of ``design.masks()``.

    Returns the transform (Fourier basis, empty set included) and diagnostics: peeling rounds,
    coefficients found, unresolved bins, the unexplained energy fraction, the estimated noise level
    and the refit's penalty and in-sample R². Warns when bins were left unresolved (the function is
    not sparse or low-order enough for this budget): the refit is then the best fit of what was found.
    """
    s = settings or SpexSettings()
    code, t, n = design.code, design.t, design.n
    y = np.asarray(y, float)
    if y.shape != (design.n_queries,):
        raise ValueError(f"expected {design.n_queries} values (one per design mask), got shape {y.shape}")
    U3 = subsampled_transforms(design, y)
    C, nb, P1 = U3.shape
    U = U3.reshape(C * nb, P1)
    U_orig = U.copy()  # peeling works in place; the refit reads the original transforms
    energy0 = (U**2).sum(axis=1)
    # Noise level per WHT coefficient: in zero-tons and singletons the magnitudes across delays are
    # constant up to noise, so a low quantile over bins of the spread of |U| around its mean estimates it
    # robustly (multitons, which spread more, sit in the upper quantiles).
    absu = np.abs(U)
    spread = energy0 - absu.sum(axis=1) ** 2 / P1
    sigma2 = max(float(np.quantile(spread, s.noise_quantile)), 0.0) / (s.noise_scale * max(P1 - 1, 1))
    floor = 1e-18 * float(energy0.max(initial=0.0)) + 1e-300
    thr_zero = s.zero_factor * P1 * sigma2 + floor
    thr_single = s.single_factor * max(P1 - 1, 1) * sigma2 + floor
    depth = s.chase_depth if s.chase_depth is not None else min(2 * t, 10)
    cols = design.columns
    parity = np.ascontiguousarray(code.parity.T, dtype=np.uint8)

    kernel_args = (cols, nb, parity, code.exp, code.log, code.m, t, code.r, n, depth, thr_zero, thr_single)

    def peel(U: np.ndarray) -> tuple[list, np.ndarray, int]:
        """Peel singletons from the bins ``U`` (in place) until none is left; returns what was found."""
        found = []
        active = np.ones(C * nb, dtype=bool)
        status = np.zeros(C * nb, dtype=np.int8)
        rounds = 0
        for rounds in range(1, s.max_rounds + 1):  # noqa: B007 (rounds is reported)
            st, parts, coefs = _classify_bins(U, active, *kernel_args, s.rel_single)
            status[active] = st[active]
            sing = np.flatnonzero(st == SINGLETON)
            if sing.size == 0:
                break
            # the same coefficient can be a singleton in several groups: peel it once, with the average
            uniq, inv = np.unique(np.sort(parts[sing], axis=1), axis=0, return_inverse=True)
            avg = np.bincount(inv.ravel(), weights=coefs[sing], minlength=len(uniq)) / np.bincount(inv.ravel())
            rows = _subtract(U, design, uniq, avg)
            found.append((uniq, avg))
            active = np.zeros(C * nb, dtype=bool)
            active[rows] = True  # only bins that changed can change class
            status[rows] = -1
        return found, status, rounds

    empty = np.full((1, t), -1, dtype=np.int64)
    U = U_orig.copy()
    found, status, rounds = peel(U)
    known = np.unique(np.concatenate([empty, *[f for f, _ in found]]), axis=0)
    beta = alpha = rss = None
    for _ in range(s.refine_rounds if refit else 0):
        # peeled coefficients are biased by whatever shared their bins; refit them on all queries, take
        # the refitted function out of the original bins and peel what is left, until nothing new appears
        beta, alpha, rss = _refit(design, known, U_orig, y)
        U = U_orig.copy()
        _subtract(U, design, known, beta)
        more, status, extra = peel(U)
        rounds += extra
        grown = np.unique(np.concatenate([known, *[f for f, _ in more]]), axis=0)
        if len(grown) == len(known):
            break
        known, beta = grown, None

    unresolved = int((status == MULTITON).sum())
    signal_energy = float(energy0.sum() - C * P1 * y.mean() ** 2)
    left = float(np.clip((U[status == MULTITON] ** 2).sum(axis=1) - P1 * sigma2, 0, None).sum())
    frac = left / signal_energy if signal_energy > floor else 0.0
    uniq = known
    supports = _pack_parts(uniq, n)

    info = {
        "b": design.b,
        "groups": C,
        "delays": P1,
        "bch_t": t,
        "peeling_rounds": rounds,
        "found": int(len(uniq) - 1),
        "unresolved_bins": unresolved,
        "unexplained_energy": frac,
        "noise_sd_per_bin": float(np.sqrt(max(sigma2, 0.0))),
    }
    if unresolved and frac > s.incomplete_tol:
        warnings.warn(
            f"SPEX recovery was incomplete: {unresolved} of {C * nb} bins stayed unresolved, holding about "
            f"{100 * frac:.0f}% of the signal's energy; the function is not sparse or low-order enough for "
            f"this budget. The result is the best fit of the {len(uniq) - 1} interactions found; raise the "
            "budget (or max_order), or use ProxySPEX",
            RuntimeWarning,
            stacklevel=3,
        )
    if not refit:
        # the peeled estimates, summed per support (a support found twice was corrected in between)
        parts_all = np.concatenate([empty, *[f for f, _ in found]])
        coefs_all = np.concatenate([[0.0], *[c for _, c in found]])
        return SparseTransform(n, _pack_parts(parts_all, n), coefs_all, "fourier"), info
    if beta is None:
        beta, alpha, rss = _refit(design, known, U_orig, y)
    sst = float(((y - y.mean()) ** 2).sum())
    info["refit_alpha"] = float(alpha)
    info["refit_r2"] = r2_from_sums(rss, sst)
    return SparseTransform(n, supports, beta, "fourier"), info


def _subtract(U: np.ndarray, design: SpexDesign, parts: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Take coefficients ``coefs`` of supports ``parts`` out of the bins ``U`` (in place); returns the rows touched."""
    nb = 1 << design.b
    bins, signs = _signatures(design, parts)
    rows = (np.arange(design.groups)[:, None] * nb + bins).ravel()  # (C·u,), group-major
    np.add.at(U, rows, -np.tile(coefs[:, None] * signs, (design.groups, 1)))
    return rows


def _refit(design: SpexDesign, parts: np.ndarray, U_orig: np.ndarray, y: np.ndarray):
    """Ridge refit (GCV over :data:`~.refit.ALPHAS`, least squares among them) of ``parts``."""
    G, Xty, col_sum = design_gram(design, parts, U_orig.reshape(design.groups, 1 << design.b, -1))
    empty_col = int(np.flatnonzero((parts < 0).all(axis=1))[0])
    return ridge_gcv_gram(G, Xty, col_sum, float(y.sum()), float(y @ y), len(y), intercept_col=empty_col)


def design_gram(design: SpexDesign, parts: np.ndarray, U0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``XᵀX``, ``Xᵀy`` and the column sums of :func:`design_matrix` without building it.

    Characters of ℓ are orthogonal over F2^b, so within group ``c`` two supports meet only when they
    share a bin: ``(XᵀX)[s, s'] = 2^b Σ_c [j_c(s) = j_c(s')] ⟨σ(s), σ(s')⟩``, and
    ``(Xᵀy)[s] = 2^b Σ_c ⟨σ(s), U0[c, j_c(s)]⟩`` from the subsampled WHTs ``U0`` (before peeling).
    Cost ``O(C s² P)`` instead of ``O(q s²)``.
    """
    bins, signs = _signatures(design, parts)
    nb = 1 << design.b
    with threadpool_limits(1):
        inner = signs @ signs.T  # (s, s)
    G = np.zeros_like(inner)
    Xty = np.zeros(len(parts))
    col_sum = np.zeros(len(parts))
    rowsum = signs.sum(axis=1)
    for c in range(design.groups):
        G += np.where(bins[c][:, None] == bins[c][None, :], inner, 0.0)
        Xty += np.einsum("sp,sp->s", signs, U0[c, bins[c]])
        col_sum += np.where(bins[c] == 0, rowsum, 0.0)
    return G * nb, Xty * nb, col_sum * nb


def ridge_gcv_gram(
    G: np.ndarray,
    Xty: np.ndarray,
    col_sum: np.ndarray,
    y_sum: float,
    yy: float,
    q: int,
    alphas: np.ndarray = ALPHAS,
    *,
    intercept_col: int = 0,
) -> tuple[np.ndarray, float, float]:
    """:func:`spectrex.decoders.refit.ridge_gram` on statistics whose column ``intercept_col`` is the
    all-ones column of the empty set (unpenalised). Returns ``(beta, alpha, rss)`` with the intercept in
    ``beta[intercept_col]``."""
    others = np.delete(np.arange(G.shape[0]), intercept_col)
    stats = GramStats(G[np.ix_(others, others)], Xty[others], col_sum[others], y_sum, yy, q)
    with threadpool_limits(1):  # an s × s problem: BLAS threads only add contention
        b0, coef, alpha, rss, _ = ridge_gram(stats, alphas)
    beta = np.zeros(G.shape[0])
    beta[others], beta[intercept_col] = coef, b0
    return beta, alpha, rss


def _pack_parts(parts: np.ndarray, n: int) -> np.ndarray:
    """``(s, t)`` part indices (-1 padded) → bit-packed support rows."""
    rows, pos = np.nonzero(parts >= 0)
    out = np.zeros((parts.shape[0], bitset.n_words(n)), dtype=np.uint64)
    return bitset.set_bits(out, rows, parts[rows, pos])


class SpexDecoder:
    """:func:`decode` as a :class:`~spectrex.decoders.base.Decoder` of :class:`~spectrex.design.SpexSubsampling`."""

    min_rows = 1

    def __init__(self, chase_depth: int | None = None, max_rounds: int = 30):
        self.chase_depth, self.max_rounds = chase_depth, max_rounds

    def __call__(self, plan, masks: np.ndarray, values: np.ndarray, max_order: int | None):
        settings = SpexSettings(chase_depth=self.chase_depth, max_rounds=self.max_rounds)
        return decode(plan.structure, values, settings)
