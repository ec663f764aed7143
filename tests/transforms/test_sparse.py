from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectrex.synthetic import planted
from spectrex.transforms import SparseTransform, all_masks, exact_fourier, exact_mobius


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 90),
    k=st.integers(1, 15),
    order=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    basis=st.sampled_from(["fourier", "mobius"]),
)
def test_fourier_mobius_round_trip_is_exact(n, k, order, seed, basis):
    order = min(order, n)
    f = planted(n, min(k, sum(comb(n, t) for t in range(1, order + 1))), order, seed, basis=basis)
    other = f.to_mobius() if basis == "fourier" else f.to_fourier()
    back = other.to_basis(basis)
    assert back.allclose(f, atol=1e-12)
    masks = np.random.default_rng(seed).random((64, n)) < 0.5
    np.testing.assert_allclose(other(masks), f(masks), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_sparse_conversion_matches_dense_transforms(n, seed):
    y = np.random.default_rng(seed).normal(size=2**n)
    fourier, mobius = exact_fourier(y, n), exact_mobius(y, n)
    assert fourier.to_mobius().allclose(mobius, atol=1e-9)
    assert mobius.to_fourier().allclose(fourier, atol=1e-9)
    masks = all_masks(n)
    np.testing.assert_allclose(fourier(masks), y, atol=1e-9)
    np.testing.assert_allclose(mobius(masks), y, atol=1e-9)


def test_known_conversion_by_hand():
    # m0·m1 = (1 - χ0 - χ1 + χ01) / 4 with χ_i = (-1)^{m_i}
    f = SparseTransform.from_dict({(0, 1): 1.0}, 2, "mobius").to_fourier()
    assert f.to_dict() == {(): 0.25, (0,): -0.25, (1,): -0.25, (0, 1): 0.25}


def test_top_truncate_and_errors():
    f = SparseTransform.from_dict({(): 1.0, (0,): 0.1, (1, 2): -3.0, (0, 1, 2): 2.0}, 3)
    assert set(f.top(1).to_dict()) == {(), (1, 2)}
    assert set(f.truncate(2).to_dict()) == {(), (0,), (1, 2)}
    assert f.coef((2, 1)) == -3.0 and f.coef((2,)) == 0.0
    with pytest.raises(ValueError, match="columns"):
        f(np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="basis"):
        SparseTransform(3, f.supports, f.coefs, "walsh")
