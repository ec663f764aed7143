"""Complement pairs: found in any row order, refused when the sample is not closed under complement."""

import numpy as np

from spectrex.design.stratified import stratified_masks
from spectrex.transforms.pairs import complement_pairs


def test_pairs_are_found_whatever_the_row_order():
    rng = np.random.default_rng(0)
    half = rng.random((40, 13)) < 0.5
    masks = np.concatenate([half, ~half])[rng.permutation(80)]
    a, b = complement_pairs(masks)
    assert len(a) == 40 and masks[a, 0].all()
    assert np.array_equal(masks[b], ~masks[a])


def test_a_sample_that_is_not_closed_under_complement_has_no_pairs():
    rng = np.random.default_rng(1)
    assert complement_pairs(rng.random((60, 13)) < 0.5) is None
    half = rng.random((30, 13)) < 0.5
    assert complement_pairs(np.concatenate([half, ~half, rng.random((2, 13)) < 0.5])) is None  # two strays


def test_the_paired_stratified_design_is_closed_under_complement_with_distinct_masks():
    for n, budget in [(12, 250), (12, 2000), (32, 500), (64, 300)]:
        masks = stratified_masks(n, budget, np.random.default_rng(n), paired=True)
        assert masks.shape == (budget, n)
        assert len(np.unique(np.packbits(masks, axis=1), axis=0)) == budget
        a, b = complement_pairs(masks)
        assert 2 * len(a) == budget
        sizes = np.bincount(masks.sum(axis=1), minlength=n + 1)
        assert np.array_equal(sizes, sizes[::-1])  # complements mirror the sizes


def test_the_default_design_pairs_below_sixteen_queries_per_part_only():
    from spectrex.design.stratified import THIN_BELOW_PER_PART, StratifiedDesign

    design = StratifiedDesign(lambda n, k: 64, lambda n, k: 1000, paired="auto")
    n = 20
    low, _ = design.draw(n, THIN_BELOW_PER_PART * n - 2, None, np.random.default_rng(0))
    high, _ = design.draw(n, THIN_BELOW_PER_PART * n, None, np.random.default_rng(0))
    assert complement_pairs(low) is not None
    assert complement_pairs(high) is None
    big = 1000  # a large problem keeps its masks distinct
    wide, _ = design.draw(big, 4 * big, None, np.random.default_rng(0))
    assert complement_pairs(wide) is None
