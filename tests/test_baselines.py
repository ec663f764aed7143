"""Baselines: exact with every mask, convergent when sampling, deterministic, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapiq

import spectrex as sx
from spectrex.decoders import baselines as dec
from spectrex.design import lime_masks
from spectrex.synthetic import planted
from spectrex.transforms.wht import all_masks

BASELINES = ["lasso1", "lasso2", "faithbanzhaf", "kernelshap", "banzhaf", "lime"]


@pytest.fixture(scope="module")
def game():
    """A dense-ish order-3 function on 7 parts (with a constant) and shapiq's exact values of it."""
    n = 7
    f = planted(n, 12, 3, 3, include_empty=True)
    ec = shapiq.ExactComputer(n_players=n, game=lambda c: f(np.asarray(c, bool)))
    return n, f, ec


def _close(result, ref, tol):
    for key, v in ref.dict_values.items():
        if len(key) > 0:
            assert result[key] == pytest.approx(v, abs=tol), key


def test_kernelshap_exact_with_every_coalition(game):
    n, f, ec = game
    res = sx.KernelSHAP(random_state=0).explain(f, n, budget=2**n)
    assert res.metadata["diagnostics"]["enumerated"] is True
    _close(res.to("SV"), ec("SV", 1), 1e-9)
    # the additive surrogate is exact at the empty and full masks (efficiency)
    ends = np.array([[False] * n, [True] * n])
    np.testing.assert_allclose(res.predict(ends), f(ends), atol=1e-9)


def test_banzhaf_msr_exact_with_every_mask(game):
    n, f, ec = game
    res = sx.BanzhafMSR().explain(f, n, budget=2**n)
    _close(res.to("BV"), ec("BV", 1), 1e-9)


def test_least_squares_lasso_is_faith_banzhaf(game):
    n, f, ec = game
    res = sx.FaithBanzhaf(alpha=0).explain(f, n, budget=2**n)
    _close(res.to("FBII", max_order=2), ec("FBII", 2), 1e-9)
    res1 = sx.LASSO(alpha=0).explain(f, n, budget=2**n)
    _close(res1.to("FBII", max_order=1), ec("FBII", 1), 1e-9)


def test_sampled_estimates_converge(game):
    n, f, ec = game
    n_big = 12
    g = planted(n_big, 20, 3, 5)
    exact = sx.Exact().explain(g, n_big)
    sv, bv = exact.to("SV").first_order(), exact.to("BV").first_order()
    scale = np.abs(sv).max()
    err = {}
    for budget in (200, 3000):
        ks = sx.KernelSHAP(random_state=1).explain(g, n_big, budget=budget).to("SV").first_order()
        bz = sx.BanzhafMSR(random_state=1).explain(g, n_big, budget=budget).to("BV").first_order()
        err[budget] = (np.abs(ks - sv).max(), np.abs(bz - bv).max())
    assert err[3000][0] < 0.05 * scale and err[3000][1] < 0.15 * scale
    assert err[3000][0] < err[200][0] and err[3000][1] < err[200][1]


def test_lasso_cv_recovers_sparse_fourier_function():
    n = 24
    f = planted(n, 15, 2, 7, basis="fourier")
    res = sx.FaithBanzhaf(random_state=0).explain(f, n, budget=800)
    assert res.metadata["diagnostics"]["lasso"]["alpha"] > 0
    assert res.faithfulness(f, n_masks=500) > 0.99
    assert len(res.transform) < 200  # sparse: far fewer than the 300 candidate coefficients
    lin = sx.LASSO(random_state=0).explain(f, n, budget=800)
    assert lin.faithfulness(f, n_masks=500) < res.faithfulness(f, n_masks=500)


def test_lime_recovers_an_additive_function_and_matches_weighted_least_squares():
    n = 9
    w = np.random.default_rng(0).normal(size=n)
    additive = lambda m: 0.5 + np.asarray(m, float) @ w  # noqa: E731
    res = sx.LIME(ridge=0.0, random_state=0).explain(additive, n, budget=300)
    np.testing.assert_allclose(res.first_order(), w, atol=1e-9)
    assert res.baseline == pytest.approx(0.5)
    # on a non-additive function: the brute-force weighted least squares on the same masks
    f = planted(n, 10, 3, 2)
    rng = np.random.default_rng(4)
    masks = lime_masks(n, 400, rng)
    wts = dec.lime_kernel(masks)
    A = np.hstack([np.ones((len(masks), 1)), masks])
    ref = np.linalg.lstsq(A * np.sqrt(wts)[:, None], f(masks) * np.sqrt(wts), rcond=None)[0]
    b, beta = dec.weighted_linear(masks, f(masks), wts, ridge=0.0)
    np.testing.assert_allclose(np.r_[b, beta], ref, atol=1e-8)


@pytest.mark.parametrize("method", BASELINES)
def test_registered_deterministic_and_first_order_views(method):
    n = 16
    # order 3: paired KernelSHAP is exact (seed-independent) on games of order ≤ 2
    f = sx.synthetic.NoisyFunction(planted(n, 8, 3, 1), snr_db=20, random_state=0)
    a = sx.explain(f, n, method=method, budget=400, random_state=11)
    b = sx.explain(f.f, n, method=method, budget=400, random_state=11)
    c = sx.explain(f.f, n, method=method, budget=400, random_state=12)
    assert a.metadata["method"] == method  # the name the user passed
    assert a.metadata["queries"] <= 400
    assert b.transform.allclose(sx.explain(f.f, n, method=method, budget=400, random_state=11).transform, atol=0)
    assert not b.transform.allclose(c.transform, atol=1e-12)
    assert a.transform.max_order <= (2 if method in ("lasso2", "faithbanzhaf") else 1)
    # Shapley values of the recovered function are efficient: they sum to its full − empty value
    full, empty = a.predict(np.ones((1, n), bool))[0], a.predict(np.zeros((1, n), bool))[0]
    assert a.to("SV").first_order().sum() == pytest.approx(full - empty, abs=1e-9)


def test_errors():
    f = planted(6, 4, 2, 0)
    with pytest.raises(ValueError, match="first-order"):
        sx.KernelSHAP(max_order=2).explain(f, 6, budget=50)
    with pytest.raises(sx.BudgetError, match="at least"):
        sx.KernelSHAP().explain(f, 6, budget=2)
    with pytest.raises(sx.BudgetError, match="at least"):
        sx.LASSO().explain(f, 6, budget=5)
    with pytest.raises(ValueError, match="max_order 1 or 2"):
        sx.LASSO(max_order=3).explain(f, 6, budget=50)
    with pytest.raises(ValueError, match="alpha"):
        sx.LASSO(alpha=-1.0)
    with pytest.raises(ValueError, match="width"):
        sx.LIME(width=0)
    with pytest.raises(sx.errors.ResourceError, match="max_order=1"):
        dec.fourier_features(np.zeros((200_000, 100), bool), 2)


def test_constant_function_and_all_masks_path():
    n = 5
    res = sx.FaithBanzhaf().explain(lambda m: np.full(len(m), 3.0), n, budget=2**n)
    assert res.metadata["queries"] == 2**n
    np.testing.assert_allclose(res.predict(all_masks(n)), 3.0)
    assert len(res.transform) == 1
