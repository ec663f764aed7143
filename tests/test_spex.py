import warnings

import numpy as np
import pytest

import spectrex
from spectrex import SPEX, BudgetError, Exact
from spectrex.decoders.spex import decode, design_matrix
from spectrex.design.spex import minimum_budget, spex_design
from spectrex.synthetic import NoisyFunction, planted
from spectrex.transforms import bitset
from spectrex.transforms.sparse import SparseTransform, basis_matrix


def _quiet_explain(est, fn, n, budget):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sparse noiseless function must not warn
        return est.explain(fn, n, budget)


@pytest.mark.parametrize(("n", "k", "budget"), [(16, 6, 3072), (64, 20, 4224), (256, 40, 10752)])
def test_exact_recovery_of_planted_functions(n, k, budget):
    f = planted(n, k, 3, n, scale=2.0)
    res = _quiet_explain(SPEX(max_order=3, random_state=0), f, n, budget)
    got = res.transform
    truth = f.to_fourier()
    assert res.metadata["queries"] <= budget
    assert np.abs((got - truth).coefs).max() < 1e-6
    found = got.supports[np.abs(got.coefs) > 1e-6]
    assert np.array_equal(bitset.canonical(found, np.zeros(len(found)))[0], truth.supports)
    # the Möbius view is the planted function itself
    assert got.to_mobius().allclose(f, atol=1e-6)


@pytest.mark.parametrize("n", [8, 12])
def test_agrees_with_exact(n):
    f = planted(n, 6, 3, 7, include_empty=True)
    exact = Exact().explain(f, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SPEX(max_order=3, random_state=1).explain(f, n, 1536)
    # the plan said before querying is what was queried: its distinct masks, each sent once
    plan = SPEX(max_order=3, random_state=1).plan(n, 1536)
    assert res.metadata["queries"] == len(np.unique(plan.masks, axis=0))
    assert n < 11 or res.metadata["queries"] < 2**n  # at n = 12 fewer masks than Exact's 4,096
    assert res.transform.allclose(exact.transform, atol=1e-6)
    for index in ("SII", "FBII", "STII"):
        assert res.to(index).transform.allclose(exact.to(index).transform, atol=1e-6)


def test_design_is_a_pure_function_of_its_inputs():
    a = spex_design(40, 5000, 3, 11)
    b = spex_design(40, 5000, 3, 11)
    c = spex_design(40, 5000, 3, 12)
    assert np.array_equal(a.masks(), b.masks())
    assert not np.array_equal(a.masks(), c.masks())
    masks = a.masks()
    assert masks.shape == (a.n_queries, 40) and a.n_queries <= 5000
    # largest b that fits: doubling would exceed the budget
    assert 2 * a.n_queries > 5000
    # structure: row (c, p, ℓ) = H_c^T ℓ ⊕ d_p
    rows = masks.reshape(a.groups, a.n_delays, 1 << a.b, 40)
    ell = 5
    bits = (ell >> np.arange(a.b)) & 1
    expect = ((bits @ a.H[2].astype(int)) % 2 == 1) ^ a.delays[3]
    assert np.array_equal(rows[2, 3, ell], expect)


def test_explain_queries_exactly_the_planned_masks():
    seen = []

    def fn(masks):
        seen.append(masks.copy())
        return masks.sum(axis=1).astype(float)

    est = SPEX(max_order=2, random_state=3)
    plan = est.plan(30, 4000)
    res = est.explain(fn, 30, 4000)
    sent = np.unique(bitset.pack(np.concatenate(seen)), axis=0)
    assert np.array_equal(sent, np.unique(bitset.pack(plan.masks), axis=0))
    assert res.metadata["queries_planned"] == plan.n_queries
    assert res.metadata["queries"] == len(sent)


def test_budget_below_minimum_names_it():
    minimum = minimum_budget(64, 3)
    assert minimum == 3 * 22 * 8
    with pytest.raises(BudgetError, match=f"{minimum:,}") as err:
        SPEX(max_order=3).explain(lambda m: m.sum(1).astype(float), 64, minimum - 1)
    assert err.value.minimum == minimum
    assert SPEX(max_order=3).plan(64, minimum).n_queries == minimum


def test_deterministic_for_a_fixed_seed():
    f = NoisyFunction(planted(48, 15, 3, 2), snr_db=10, random_state=0)
    g = NoisyFunction(planted(48, 15, 3, 2), snr_db=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = SPEX(max_order=3, random_state=5).explain(f, 48, 6000).transform
        b = SPEX(max_order=3, random_state=5).explain(g, 48, 6000).transform
    assert np.array_equal(a.supports, b.supports) and np.array_equal(a.coefs, b.coefs)


def test_noisy_recovery_is_close():
    f = planted(64, 15, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SPEX(max_order=3, random_state=0).explain(NoisyFunction(f, 10, 1), 64, 8448)
    masks = np.random.default_rng(9).random((3000, 64)) < 0.5
    y = f(masks)
    r2 = 1 - ((res.predict(masks) - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 > 0.9


def test_not_sparse_warns_and_returns_the_best_sparse_fit():
    n = 10
    rng = np.random.default_rng(0)
    table = rng.normal(size=2**n)  # white noise: every Fourier coefficient is non-zero

    def fn(masks):
        return table[masks.astype(np.int64) @ (1 << np.arange(n))]

    design = spex_design(n, 1000, 2, 0)
    y = fn(design.masks())
    with pytest.warns(RuntimeWarning, match="incomplete"):
        got, info = decode(design, y)
    assert info["unresolved_bins"] > 0 and np.isfinite(got.coefs).all()
    # the refit is the least-squares fit of the support found (GCV may shrink a little)
    X = basis_matrix(design.masks(), got.supports, n, "fourier")
    ls = np.linalg.lstsq(X, y, rcond=None)[0]
    sse_ls = float(((X @ ls - y) ** 2).sum())
    sse = float(((X @ got.coefs - y) ** 2).sum())
    assert sse <= sse_ls * 1.05 + 1e-9
    with pytest.warns(RuntimeWarning, match="incomplete"):
        res = SPEX(max_order=2, random_state=0).explain(fn, n, 1000)
    assert res.metadata["diagnostics"]["unresolved_bins"] > 0


def test_max_order_caps_the_support():
    f = planted(40, 12, 4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SPEX(max_order=2, random_state=0).explain(f, 40, 6000)
    assert res.transform.max_order <= 2


def test_structural_design_matrix_matches_the_masks():
    design = spex_design(70, 3000, 3, 4)
    sup = SparseTransform.from_dict({(): 1.0, (3,): 1.0, (5, 66): 1.0, (1, 2, 69): 1.0}, 70).supports
    parts = np.full((len(sup), 3), -1)
    for row, idx in enumerate(bitset.to_indices(sup, 70)):
        parts[row, : len(idx)] = idx
    assert np.array_equal(design_matrix(design, parts), basis_matrix(design.masks(), sup, 70, "fourier"))


def test_registered_with_explain():
    f = planted(20, 5, 2, 0)
    res = spectrex.explain(f, 20, method="spex", budget=3000, max_order=2, random_state=0)
    assert res.metadata["method"] == "spex"
    assert res.transform.to_mobius().allclose(f, atol=1e-6)
    with pytest.raises(ValueError):
        SPEX(max_order=0)
