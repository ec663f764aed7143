"""The size-stratified design: its kernel share grows into full enumeration from both ends."""

from math import comb

import numpy as np

from spectrex.design.stratified import (
    KERNEL_ALL_FROM,
    KERNEL_SHARE,
    SMALL_BUDGET_SHARE,
    THIN_BELOW_PER_PART,
    StratifiedDesign,
    kernel_allocation,
)


def _sizes(n: int, budget: int, seed: int = 0) -> np.ndarray:
    design = StratifiedDesign(lambda n, k: 64, lambda n, k: 1000, paired=False)
    masks, _ = design.draw(n, budget, None, np.random.default_rng(seed))
    assert masks.shape == (budget, n) and len(np.unique(np.packbits(masks, axis=1), axis=0)) == budget
    return np.bincount(masks.sum(axis=1), minlength=n + 1)


def test_from_a_quarter_of_all_masks_every_query_is_at_kernel_sizes_enumerated_from_both_ends():
    n = 12
    budget = int(KERNEL_ALL_FROM * 2**n)
    sizes = _sizes(n, budget)
    assert np.array_equal(sizes, kernel_allocation(n, budget))
    whole = [s for s in range(n + 1) if sizes[s] == comb(n, s)]
    assert whole == [0, 1, 2, 10, 11, 12]  # the ends first, every mask of those sizes


def test_a_small_fraction_of_all_masks_keeps_the_uniform_share():
    n, budget = 20, 2000  # 0.2 % of all masks
    sizes = _sizes(n, budget)
    kernel = kernel_allocation(n, round(KERNEL_SHARE * budget))
    uniform = budget - kernel.sum()
    # the middle size holds its kernel share plus about a sixth of the uniform masks (binomial mass 0.176)
    assert sizes[n // 2] > kernel[n // 2] + 0.12 * uniform


def test_below_sixteen_queries_per_part_the_strata_spread_evenly_over_the_sizes():
    n = 256
    budget = 4 * n  # far below THIN_BELOW_PER_PART per part: the indices are the surrogate's
    assert budget < THIN_BELOW_PER_PART * n
    sizes = _sizes(n, budget)
    strata = kernel_allocation(n, round(SMALL_BUDGET_SHARE * budget), even=True)
    inner = strata[1:n]
    assert inner.max() - inner.min() <= 1  # the same share for every size 1…n−1
    # the sizes far from n/2 hold only the strata (a uniform mask is almost never there): evenly spread,
    # where the Shapley kernel puts 24 times more masks at size 2 than at size 64
    assert np.array_equal(sizes[:64], strata[:64]) and np.array_equal(sizes[193:], strata[193:])
    kernel = kernel_allocation(n, round(SMALL_BUDGET_SHARE * budget))
    assert kernel[2] > 20 * kernel[64]
