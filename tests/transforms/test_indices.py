"""Every index against two independent oracles: brute-force definitions and shapiq."""

import numpy as np
import pytest
import shapiq

import oracles
from spectrex import Exact, Interactions, SparseTransform
from spectrex.transforms import all_masks, bitset, exact_mobius
from spectrex.transforms.indices import INDICES, canonical_index, convert

CASES = [
    ("SII", 2),
    ("SII", 3),
    ("BII", 2),
    ("STII", 2),
    ("STII", 3),
    ("FSII", 2),
    ("FSII", 3),
    ("FBII", 2),
    ("FBII", 3),
    ("k-SII", 2),
    ("k-SII", 3),
]
BRUTE = {
    "SII": oracles.sii,
    "BII": oracles.bii,
    "STII": oracles.stii,
    "FSII": oracles.fsii,
    "FBII": oracles.fbii,
    "k-SII": oracles.ksii,
}


def as_int_dict(sup, vals, n):
    return {sum(1 << i for i in p): v for p, v in zip(bitset.to_indices(sup, n), vals)}


@pytest.fixture(params=[0, 1, 2])
def game(request):
    n = 6 + request.param
    y = np.random.default_rng(request.param).normal(size=2**n)
    return n, y, exact_mobius(y, n)


@pytest.mark.parametrize("index,k", CASES)
def test_index_equals_brute_force_definition(game, index, k):
    n, y, f = game
    expected = BRUTE[index](y, n, k)
    got = as_int_dict(*convert(f, index, k)[:2], n)
    for T, v in expected.items():
        if T == 0 and index in ("SII", "BII", "STII"):
            continue  # the empty set's entry is a convention, checked against shapiq below
        assert got.get(T, 0.0) == pytest.approx(v, abs=1e-8), (index, k, T)
    assert set(got) <= set(expected)


@pytest.mark.parametrize("index,k", CASES + [("SV", 1), ("BV", 1)])
def test_index_equals_shapiq_exact_computer(game, index, k):
    n, y, f = game
    ec = shapiq.ExactComputer(n_players=n, game=lambda c: y[(np.asarray(c, np.int64) << np.arange(n)).sum(1)])
    ref = ec(index, k).dict_values
    sup, vals, _ = convert(f, index, k)
    got = dict(zip(bitset.to_indices(sup, n), vals))
    for key, v in ref.items():
        assert got.get(key, 0.0) == pytest.approx(v, abs=1e-8), (index, key)


def test_values_equal_brute_force(game):
    n, y, f = game
    result = Interactions(f, "SV")
    np.testing.assert_allclose(result.first_order(), oracles.shapley(y, n), atol=1e-10)
    np.testing.assert_allclose(result.to("BV").first_order(), oracles.banzhaf(y, n), atol=1e-10)


def test_efficiency_of_shapley_and_ksii(game):
    n, y, f = game
    for index in ("SV", "k-SII", "STII"):
        _, vals, _ = convert(f, index, 1 if index == "SV" else 3)
        assert vals.sum() == pytest.approx(y[-1], abs=1e-9), index  # baseline + all = f(N)


def test_fbii_is_fourier_truncation(game):
    n, y, f = game
    fb = SparseTransform(n, *convert(f, "FBII", 2)[:2], "mobius")
    assert fb.allclose(f.to_fourier().truncate(2), atol=1e-10)


def test_unknown_index_and_bad_orders():
    f = SparseTransform.from_dict({(0,): 1.0}, 2)
    with pytest.raises(ValueError, match="unknown index 'shap-iq'.*FSII"):
        canonical_index("shap-iq")
    with pytest.raises(ValueError, match="first-order"):
        convert(f, "SV", 2)
    with pytest.raises(ValueError, match="max_order"):
        convert(f, "SII", -1)
    assert {canonical_index(x) for x in ("möbius", "Shapley", "faith-shap", "k_sii")} == {
        "Moebius",
        "SV",
        "FSII",
        "k-SII",
    }
    assert len(INDICES) == 10


def test_exact_estimator_matches_dense_oracle():
    n = 7
    y = np.random.default_rng(3).normal(size=2**n)
    res = Exact(random_state=0).explain(lambda m: y[(m.astype(np.int64) << np.arange(n)).sum(1)], n)
    assert res.transform.allclose(exact_mobius(y, n), atol=1e-9)
    np.testing.assert_allclose(res.predict(all_masks(n)), y, atol=1e-9)
    assert res.metadata["queries"] == 2**n
