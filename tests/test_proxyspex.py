import numpy as np
import pytest

import spectrex
from spectrex import BudgetError, ProxySPEX
from spectrex.decoders.proxy import residual_candidates, sparsify
from spectrex.synthetic import NoisyFunction, planted
from spectrex.transforms import bitset
from spectrex.transforms.sparse import SparseTransform


def _r2(f, g, n, seed=7):
    masks = np.random.default_rng(seed).random((2000, n)) < 0.5
    y = f(masks)
    return 1 - ((y - g(masks)) ** 2).sum() / ((y - y.mean()) ** 2).sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_planted_low_order_function(seed):
    n = 32
    f = planted(n, 12, 3, seed)
    res = ProxySPEX(max_order=3, random_state=seed).explain(f, n, budget=2000)
    assert res.metadata["queries"] == 2000
    assert _r2(f, res.predict, n) > 0.99
    # the planted Möbius support is found: its strongest terms carry the right coefficients
    got = res.transform.to_mobius()
    big = np.argsort(-np.abs(f.coefs))[:5]
    for s, c in zip(f.supports[big], f.coefs[big]):
        pos = bitset.lookup(got.supports, s[None])[0]
        assert pos >= 0 and got.coefs[pos] == pytest.approx(c, abs=0.05 * abs(c) + 0.05)


def test_noisy_function_still_faithful():
    n = 24
    f = planted(n, 8, 2, 3)
    res = ProxySPEX(max_order=2, random_state=0).explain(NoisyFunction(f, snr_db=10, random_state=0), n, budget=1500)
    assert _r2(f, res.predict, n) > 0.9


def test_deterministic_for_a_fixed_seed():
    n = 20
    f = planted(n, 8, 3, 4)
    a = ProxySPEX(max_order=3, random_state=11).explain(f, n, budget=600)
    b = ProxySPEX(max_order=3, random_state=11).explain(f, n, budget=600)
    assert np.array_equal(a.transform.supports, b.transform.supports)
    assert np.array_equal(a.transform.coefs, b.transform.coefs)


def test_budget_errors_and_default_budget():
    f = planted(16, 4, 2, 0)
    with pytest.raises(BudgetError, match="at least 64"):
        ProxySPEX(random_state=0).explain(f, 16, budget=10)
    res = spectrex.explain(f, 16, method="proxyspex", max_order=2, random_state=0)
    assert res.metadata["queries_requested"] == 1024 and res.metadata["method"] == "proxyspex"  # 64 per part
    with pytest.raises(ValueError, match="energy"):
        ProxySPEX(energy=1.5)


def test_adaptive_budget_stops_early_and_reuses_queries():
    n = 24
    f = planted(n, 6, 2, 5)
    calls = []

    def counted(masks):
        calls.append(len(masks))
        return f(masks)

    res = ProxySPEX(max_order=2, random_state=0, adaptive=True).explain(counted, n, budget=8000)
    rounds = res.metadata["adaptive_rounds"]
    assert len(rounds) >= 2 and rounds[-1]["queries"] < 8000  # stopped before spending the budget
    assert sum(calls) == res.metadata["queries"] == rounds[-1]["queries"]  # each mask sent once
    assert res.metadata["queries_cached"] > 0
    assert _r2(f, res.predict, n) > 0.99


def test_paired_masks_and_top_k():
    n = 16
    f = planted(n, 5, 2, 6)
    res = ProxySPEX(max_order=2, random_state=0, paired=True, top_k=10, residual=False).explain(f, n, budget=800)
    assert len(res.transform) <= 11
    assert _r2(f, res.predict, n) > 0.95


def test_sparsify_energy_and_top_k():
    t = SparseTransform.from_dict({(): 5.0, (0,): 3.0, (1,): 2.0, (2,): 1.0, (0, 1): 0.5}, 4)
    # non-constant energy 9 + 4 + 1 + 0.25 = 14.25; the constant is always kept
    assert set(sparsify(t, 0.6).to_dict()) == {(), (0,)}  # 9/14.25 ≥ 0.6
    assert set(sparsify(t, 0.7).to_dict()) == {(), (0,), (1,)}  # 9/14.25 < 0.7 ≤ 13/14.25
    assert set(sparsify(t, 0.95).to_dict()) == {(), (0,), (1,), (2,)}
    assert set(sparsify(t, top_k=3).to_dict()) == {(), (0,), (1,), (2,)}


def test_residual_candidates_find_missing_terms():
    n = 30
    rng = np.random.default_rng(0)
    masks = rng.random((3000, n)) < 0.5
    missing = SparseTransform.from_dict({(4,): 1.0, (2, 9): -0.8}, n)
    found = set(bitset.to_indices(residual_candidates(masks, missing(masks) + 0.1 * rng.normal(size=3000), n), n))
    assert found == {(4,), (2, 9)}
    assert residual_candidates(masks, 0.1 * rng.normal(size=3000), n).shape[0] == 0
