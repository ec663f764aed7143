import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spectrex.transforms import bitset


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 200).flatmap(lambda n: arrays(bool, st.tuples(st.integers(0, 20), st.just(n)))))
def test_pack_unpack_round_trip(masks):
    bits = bitset.pack(masks)
    assert bits.shape == (masks.shape[0], bitset.n_words(masks.shape[1]))
    assert np.array_equal(bitset.unpack(bits, masks.shape[1]), masks)
    assert np.array_equal(bitset.popcount(bits), masks.sum(1))


def test_indices_round_trip_and_lookup():
    sets = [(0, 65, 130), (), (3,), (64,)]
    bits = bitset.from_indices(sets, 131)
    assert bitset.to_indices(bits, 131) == sets
    pos = bitset.lookup(bits, bitset.from_indices([(64,), (1,), (0, 65, 130)], 131))
    assert pos.tolist() == [3, -1, 0]


def test_canonical_merges_duplicates_and_sorts_by_order():
    bits = bitset.from_indices([(1, 2), (0,), (1, 2), ()], 5)
    out, vals = bitset.canonical(bits, np.array([1.0, 2.0, 3.0, 4.0]))
    assert bitset.to_indices(out, 5) == [(), (0,), (1, 2)]
    assert vals.tolist() == [4.0, 2.0, 4.0]


def test_from_indices_rejects_out_of_range():
    import pytest

    with pytest.raises(ValueError, match="part indices"):
        bitset.from_indices([(0, 7)], 5)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 150), st.integers(0, 40), st.integers(0, 30), st.integers(0, 2**31 - 1))
def test_overlap_counts_equal_the_dense_product(n, s, q, seed):
    rng = np.random.default_rng(seed)
    subsets = rng.random((s, n)) < rng.uniform(0, 0.2)  # empty subsets included
    masks = rng.random((q, n)) < 0.5
    bits = bitset.pack(subsets)
    inc = bitset.incidence(bits, n)
    assert np.array_equal(inc.indptr[1:] - inc.indptr[:-1], subsets.sum(1))
    want = masks.astype(np.int64) @ subsets.T.astype(np.int64)
    np.testing.assert_array_equal(bitset.overlap_counts(masks, bits, n), want)
    np.testing.assert_array_equal(bitset.overlap_counts(masks, bits, n, inc), want)
