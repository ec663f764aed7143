"""A size-stratified design: uniform masks plus size strata, every mask distinct.

Uniform masks fit a surrogate well where most masks are (sizes near n/2); the Shapley value and the
Shapley interactions weigh every size equally, so their residual correction needs the sizes near 0
and n. This design spends a fraction of the budget on sizes drawn ∝ ``1 / (s (n − s))`` (the Shapley
kernel's size distribution, as in KernelSHAP and MSR samplers), enumerates a size completely once its
share reaches the number of masks of that size (the "border trick" of Fumagalli et al.), and fills the
rest with uniform masks. The fraction grows with the budget's share of all ``2^n`` masks, to the whole
budget from a quarter of them (:data:`KERNEL_ALL_FROM`). Below :data:`THIN_BELOW_PER_PART` queries per
part the first-order corrections are too thin to apply and the indices are the surrogate's: there the
strata are spread evenly over the sizes instead (OddSHAP's sampler), which lets the proxy find more of
the support. Masks are distinct and, given their size, uniformly spread: the union of
the draws within one size is a uniform random subset of that size's masks, which is what the
post-stratified residual estimator of :mod:`spectrex.transforms.residual` needs. With ``budget ≥ 2^n``
every mask is queried once.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ..transforms.residual import PER_PART
from ..transforms.wht import all_masks
from .base import MaskDesign
from .uniform import uniform_masks

#: fraction of a budget spent on the Shapley-kernel strata
KERNEL_SHARE = 0.4
#: below this many queries per part the proxy is too rough for its fit to matter more than the
#: correction, and the kernel strata get :data:`SMALL_BUDGET_SHARE` (Gemma 3 270M sentiment, 12 words,
#: 250 queries: Shapley-value error 0.0150 at 60 % against 0.0175 at 40 %)
SMALL_BUDGET_PER_PART = 25
SMALL_BUDGET_SHARE = 0.6
#: from this fraction of all ``2^n`` masks on, the whole budget goes to the kernel strata (below it the share
#: rises in proportion, from :data:`KERNEL_SHARE` up): sizes are then enumerated whole from both ends inwards,
#: each making its part of every correction exact, and the design runs continuously into every mask at
#: ``2^n``, while more middle-size masks add little to a fit that already sees a quarter of all masks
#: (Gemma 3 270M sentiment, 12 words, 30 runs: Shapley-value error 0.0037 / 0.0013 → 0.0033 / 0.0012 at
#: 1,000 / 2,000 queries, SII-2 0.011 / 0.0041 → 0.0084 / 0.0029)
KERNEL_ALL_FROM = 0.25
#: below this many queries per part the first-order corrections are too thin to apply
#: (:func:`spectrex.transforms.residual.thin_orders`) and every index is read from the surrogate, so the
#: design serves the surrogate: the strata are spread evenly over the sizes 1…n−1 (OddSHAP's sampler)
#: instead of the Shapley kernel's ends, which lets the tree proxy see every part's effect at every size
#: and find more of the support (planted n = 256, 40 terms of order ≤ 3, 3 seeds, Shapley-value error at
#: 250 / 500 / 1,000 / 2,000 queries 0.19 / 0.088 / 0.075 / 0.025 → 0.14 / 0.079 / 0.039 / 0.013,
#: held-out R² at 2,000 0.97 → 0.99; n = 1,000 at 4,000 queries R² 0.74–0.78 → 0.88–0.93; the toxicity
#: BiLSTM on a 54-word text at 250 / 500 / 800 queries R² 0.82 / 0.88 / 0.90 → 0.89 / 0.95 / 0.96,
#: EfficientNet-Lite0 on 36 image patches at 250 / 500 0.34 / 0.50 → 0.46 / 0.57; 3 seeds each).
#: With ``paired="auto"``, on problems of at most :data:`PAIRED_UP_TO` queries × parts, these budgets are
#: also drawn in complement pairs: the Shapley values of the odd part fitted from pairs are the better
#: estimate (planted n = 64 at 250 queries: 0.15 paired, 0.22 unpaired; a dense order-≤ 2 game at n = 32:
#: exact, against 1.5 / 0.72 at 250 / 500); above it unpaired masks say more about the interactions
#: (Gemma 3 270M at 2,000: SII-2 5–10 % better).
THIN_BELOW_PER_PART = PER_PART
#: on larger problems the proxy needs the distinct masks (sizes spread evenly, Shapley-value error paired / not:
#: planted n = 256 at 1,000 queries 0.039 / 0.055, at 2,000 0.021 / 0.013; n = 1,000 at 4,000 0.07 / 0.04)
PAIRED_UP_TO = 262_144
#: sizes with at most this many masks are drawn from their full list (exactly without replacement)
ENUMERATE_BELOW = 5_000


def kernel_allocation(n: int, count: int, *, even: bool = False) -> np.ndarray:
    """Masks per size ``0…n`` for ``count`` draws: both ends, then ∝ ``1/(s(n−s))`` with complete sizes.

    ``even``: the same share for every size ``1…n−1`` instead (:data:`THIN_BELOW_PER_PART`). A size whose
    share reaches its number of masks ``C(n, s)`` is taken whole and the rest of the share goes to the
    other sizes (repeated until none overflows).
    """
    alloc = np.zeros(n + 1, np.int64)
    left = int(count)
    for s in (0, n):  # the empty and the full mask: the efficient indices' ends
        if left > 0 and alloc[s] == 0:
            alloc[s], left = 1, left - 1
    sizes = np.arange(1, n)
    weight = np.ones(n - 1) if even else 1.0 / (sizes * (n - sizes))
    # capped: C(n, s) is only compared with shares of the count, and as a float it overflows from n ≈ 1,030
    masks_of_size = np.array([min(comb(n, int(s)), 2**62) for s in sizes], float)
    free = np.ones(n - 1, bool)
    while left > 0 and free.any():
        w = np.where(free, weight, 0.0)
        share = left * w / w.sum()
        full = free & (share >= masks_of_size)
        if full.any():
            for s in sizes[full]:
                alloc[s] = comb(n, int(s))
                left -= alloc[s]
            free &= ~full
            continue
        base = np.floor(share).astype(np.int64)
        rest = left - int(base.sum())
        order = np.argsort(-(share - base), kind="stable")[:rest]  # largest remainders round up
        base[order] += 1
        alloc[1:n] += base
        left = 0
    return alloc


def _keys(rows: np.ndarray) -> list[bytes]:
    """One hashable key per mask row."""
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel().tolist()


def _fresh(rows: np.ndarray, taken: set, limit: int | None = None) -> np.ndarray:
    """Up to ``limit`` rows not in ``taken`` and not repeated (first kept); adds them to ``taken``."""
    keep = np.zeros(len(rows), bool)
    left = len(rows) if limit is None else int(limit)
    for i, key in enumerate(_keys(rows)):
        if left == 0:
            break
        if key not in taken:
            taken.add(key)
            keep[i] = True
            left -= 1
    return rows[keep]


def _subsets_of_size(n: int, s: int, count: int, rng: np.random.Generator, taken: set) -> np.ndarray:
    """``count`` distinct masks of size ``s`` not in ``taken`` (uniform among the rest); adds them to ``taken``."""
    total = comb(n, s)
    if total <= ENUMERATE_BELOW:  # small sizes: a uniform choice from the full list
        from itertools import combinations

        idx = np.fromiter((i for c in combinations(range(n), s) for i in c), np.int64, total * s).reshape(total, s)
        rows = np.zeros((total, n), bool)
        np.put_along_axis(rows, idx, True, axis=1)
        return _fresh(rows[rng.permutation(total)], taken, count)
    out, need = [], count
    while need > 0:
        rows = _fresh(np.argsort(rng.random((need, n)), axis=1) < s, taken)
        out.append(rows)
        need -= len(rows)
    return np.concatenate(out)


def stratified_masks(
    n: int,
    budget: int,
    rng: np.random.Generator,
    share: float = KERNEL_SHARE,
    *,
    paired: bool = False,
    even: bool = False,
) -> np.ndarray:
    """``budget`` distinct masks: the size strata (``share`` of the budget) then uniform masks.

    The strata follow :func:`kernel_allocation` (``even``: the same share for every size). Every mask when
    ``budget ≥ 2^n`` (then repeated up to the budget). ``paired``: every mask comes with
    its complement (sizes below ``n/2`` are drawn and complemented, size ``n/2`` and the uniform masks
    are drawn as pairs), so the set is closed under complement while each size is still a uniform
    random subset of its masks (an odd budget leaves one mask unpaired).
    """
    if paired:
        return _paired(n, budget, rng, share, even)
    if n <= 20 and budget >= 2**n:
        # every mask, then repeats up to the budget: a tiny problem (n = 3 has 8 masks) still gives the
        # proxy as many rows as it asked for; the engine queries each distinct mask once
        every = all_masks(n)
        reps, rest = divmod(budget, 2**n)
        return np.concatenate([every] * reps + [every[rng.permutation(2**n)[:rest]]])
    alloc = kernel_allocation(n, int(round(share * budget)), even=even)
    taken: set = set()
    blocks = [_subsets_of_size(n, s, int(c), rng, taken) for s, c in enumerate(alloc) if c > 0]
    need = budget - sum(len(b) for b in blocks)
    while need > 0:
        rows = _fresh(uniform_masks(n, need, rng), taken)
        blocks.append(rows)
        need -= len(rows)
    return np.concatenate(blocks)[:budget] if blocks else np.zeros((0, n), bool)


def _paired(n: int, budget: int, rng: np.random.Generator, share: float, even: bool) -> np.ndarray:
    if n <= 20 and budget >= 2**n:
        return stratified_masks(n, budget, rng, share)
    alloc = kernel_allocation(n, int(round(share * budget)), even=even)
    alloc = np.minimum(alloc, alloc[::-1])  # the allocation is symmetric up to rounding; pairs make it so
    taken: set = set()
    blocks = []
    for s in range(0, (n + 1) // 2):  # sizes below n/2 and their complements
        if alloc[s]:
            rows = _subsets_of_size(n, s, int(alloc[s]), rng, taken)
            taken.update(_keys(~rows))
            blocks += [rows, ~rows]

    def pairs_of(rows: np.ndarray, limit: int) -> np.ndarray:
        """Up to ``limit`` pairs (row, complement), neither already taken."""
        keep = []
        for row, key, twin in zip(rows, _keys(rows), _keys(~rows)):
            if len(keep) == limit:
                break
            if key not in taken and twin not in taken:
                taken.update((key, twin))
                keep.append(row)
        kept = np.array(keep, bool).reshape(-1, n)
        return np.stack([kept, ~kept], axis=1).reshape(-1, n)

    if n % 2 == 0 and alloc[n // 2] >= 2:
        half = n // 2
        want = int(alloc[half]) // 2
        rows = _subsets_of_size(n, half, min(comb(n, half), 2 * want), rng, set())
        blocks.append(pairs_of(rows, want))
    need = budget - sum(len(b) for b in blocks)
    stall = 0
    while need > 1 and stall < 8:
        got = pairs_of(uniform_masks(n, need, rng), need // 2)
        stall = stall + 1 if len(got) == 0 else 0
        blocks.append(got)
        need -= len(got)
    if need > 0:  # an odd budget (or too few pairs left): single masks
        blocks.append(_fresh(uniform_masks(n, 4 * need + 16, rng), taken, need))
    return np.concatenate(blocks)[:budget]


class StratifiedDesign(MaskDesign):
    """:func:`stratified_masks` as a sampling design (dropped rows are left out): below
    :data:`THIN_BELOW_PER_PART` queries per part the strata spread evenly over the sizes; ``paired``: True,
    False or ``"auto"`` (pairs below :data:`THIN_BELOW_PER_PART` queries per part, up to
    :data:`PAIRED_UP_TO` queries × parts)."""

    def __init__(
        self,
        minimum,
        default,
        *,
        share: float = KERNEL_SHARE,
        paired: bool | str = False,
        method: str = "this method",
    ):
        self._minimum, self._default, self.share, self.method = minimum, default, float(share), method
        self.paired = paired

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return int(self._minimum(n, max_order))

    def default_budget(self, n: int, max_order: int | None) -> int:
        return int(self._default(n, max_order))

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        share = self.share if budget >= SMALL_BUDGET_PER_PART * n else max(self.share, SMALL_BUDGET_SHARE)
        # int / int: exact for any n (2.0**n, or a float times 2**n, overflows from n = 1,024)
        share = max(share, min(1.0, budget / 2**n / KERNEL_ALL_FROM))
        thin = budget < THIN_BELOW_PER_PART * n
        paired = (thin and budget * n <= PAIRED_UP_TO) if self.paired == "auto" else bool(self.paired)
        return stratified_masks(n, budget, rng, share, paired=paired, even=thin), None
