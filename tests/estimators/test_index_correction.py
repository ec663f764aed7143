"""The corrected index views of ProxySPEX: consistent (exact at 2^n queries), honest standard errors, lossless JSON."""

from math import comb

import numpy as np
import pytest

from spectrex import Interactions, ProxySPEX
from spectrex.synthetic import NoisyFunction, planted
from spectrex.transforms import bitset
from spectrex.transforms.indices import convert
from spectrex.transforms.residual import ResidualSample, corrections, thin_orders
from spectrex.transforms.wht import all_masks, exact_mobius

N = 10
#: (index, view order): every index the views correct
VIEWS = [("SV", 1), ("BV", 1), ("SII", 2), ("BII", 2), ("STII", 2), ("k-SII", 2), ("FSII", 2), ("FBII", 2)]


@pytest.fixture(scope="module")
def game():
    """A planted function with terms up to order 6 (beyond ProxySPEX's order cap of 5) plus fixed noise."""
    f = planted(N, 40, 6, 3, scale=2.0)
    noisy = NoisyFunction(f, 10.0, random_state=1)
    values = noisy(all_masks(N))
    return noisy, exact_mobius(values, N)


def _errors(result: Interactions, exact, index: str, k: int) -> np.ndarray:
    """|view − exact| over the parts and pairs (orders 1…k) of ``index``."""
    view = result.to(index, k)
    sup, val, _ = convert(exact, index, k)
    truth = dict(zip(bitset.to_indices(sup, N), val))
    keys = [key for key in truth if 1 <= len(key) <= k] + [
        key for key in view.as_dict() if 1 <= len(key) <= k and key not in truth
    ]
    return np.array([abs(view[key] - truth.get(key, 0.0)) for key in keys])


def test_pattern_weights_give_every_index_exactly_from_all_masks():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2**8)
    exact = exact_mobius(y, 8)
    sample = ResidualSample(8, all_masks(8), y)  # residuals of the zero surrogate: the function itself
    for index, k in [*VIEWS, ("SII", 3), ("STII", 3), ("FBII", 1), ("STII", 1), ("FSII", 1)]:
        sup, val, err = corrections(sample, index, k)
        ref = dict(zip(bitset.to_indices(*convert(exact, index, k)[:1], 8), convert(exact, index, k)[1]))
        got = dict(zip(bitset.to_indices(sup, 8), val))
        assert max(abs(ref.get(key, 0.0) - v) for key, v in got.items()) < 1e-12, index
        assert np.nanmax(err) == 0.0  # every size queried whole: no sampling error


def test_every_corrected_index_is_consistent(game):
    noisy, exact = game
    errors = {}
    for budget in (2**N // 8, 2**N // 2, 2**N):
        runs = [ProxySPEX(random_state=seed).explain(noisy, N, budget) for seed in range(3)]
        for index, k in VIEWS:
            errors[index, k, budget] = float(np.mean([_errors(r, exact, index, k).mean() for r in runs]))
    for index, k in VIEWS:
        assert errors[index, k, 2**N] <= 1e-9, (index, errors[index, k, 2**N])
        assert errors[index, k, 2**N // 2] < errors[index, k, 2**N // 8], (index, k)


@pytest.mark.parametrize("paired", [False, True])
def test_intervals_cover_the_exact_values_of_a_noisy_function(game, paired):
    noisy, exact = game
    inside = []
    for seed in range(4):
        result = ProxySPEX(random_state=seed, paired=paired).explain(noisy, N, 300)
        for index, k in [("SV", 1), ("SII", 2)]:
            view = result.to(index, k)
            sup, val, _ = convert(exact, index, k)
            for key, v in zip(bitset.to_indices(sup, N), val):
                if len(key) == k:
                    inside.append(abs(view[key] - v) <= 1.645 * view.std_error(key))
    assert np.mean(inside) >= 0.8


def test_views_say_where_they_come_from_and_json_keeps_the_correction(game, tmp_path):
    noisy, _ = game
    result = ProxySPEX(random_state=0).explain(noisy, N, 300)
    sv = result.to("SV")
    assert sv.sources[1] == "surrogate + residual"
    assert np.isfinite(sv.std_errors[sv.orders == 1]).all()
    moebius = result.to("Moebius")  # the transform itself: no correction, no standard error
    assert set(moebius.sources.values()) == {"surrogate"} and np.isnan(moebius.std_errors).all()
    sii3 = result.to("SII", 3)  # orders above 2 stay the surrogate's
    assert sii3.sources[3] == "surrogate" and sii3.sources[2] == "surrogate + residual"
    # predict stays the recovered transform: the correction changes views, not the function
    masks = all_masks(N)[:50]
    assert np.array_equal(sv.predict(masks), result.transform(masks))
    back = Interactions.from_json(result.to("SII", 2).to_json())
    view = result.to("SII", 2)
    assert np.array_equal(back.supports, view.supports)
    assert np.array_equal(back.values, view.values)
    assert np.array_equal(back.std_errors, view.std_errors, equal_nan=True)
    assert np.array_equal(back.to("SV").values, sv.values)


def test_paired_masks_are_corrected_from_the_odd_part_and_exact_on_an_order_two_game():
    # a dense order-≤ 2 game (every pair interacts): its odd part is linear, and a sample closed under
    # complement observes it alone; the Shapley values come out exact from 8 queries per part, where
    # the unpaired design (whose even part is left to the correction) is far off
    n = 16
    f = planted(n, n * (n - 1) // 2, 2, 4, scale=2.0)
    exact = dict(zip(*(lambda t: (bitset.to_indices(t[0], n), t[1]))(convert(f, "SV", 1))))
    errors = {}
    for paired in (True, False):
        result = ProxySPEX(random_state=0, paired=paired).explain(f, n, 8 * n)
        sv = result.to("SV")
        errors[paired] = max(abs(sv[key] - v) for key, v in exact.items() if len(key) == 1)
        assert sv.sources[1] == "surrogate ± residual"  # 8 masks per part: too thin to correct (thin_orders)
        assert np.isfinite(sv.std_errors[sv.orders == 1]).all()
    assert errors[True] < 1e-9 < 0.01 < errors[False]
    # the default pairs below 16 queries per part: the same exact values
    default = ProxySPEX(random_state=0).explain(f, n, 8 * n).to("SV")
    assert max(abs(default[key] - v) for key, v in exact.items() if len(key) == 1) < 1e-9


def test_a_sample_too_thin_for_an_order_keeps_the_surrogates_values_with_standard_errors():
    # n = 64 at 250 queries: 4 masks per part, 0.12 per pair; both orders stay the surrogate's, the pairs
    # shrunk by their standard errors
    f = planted(64, 20, 3, 0, scale=2.0)
    result = ProxySPEX(random_state=0).explain(f, 64, 250)
    assert thin_orders(result.residual) == (1, 2)
    view, plain = result.to("SII", 2), Interactions(result.transform, "SII", 2)
    assert view.sources[1] == "surrogate ± residual" and view.sources[2] == "shrunk surrogate ± residual"
    for key in [(3,), (5,)]:
        assert view[key] == plain[key]
        assert np.isfinite(view.std_error(key)) and view.std_error(key) > 0
    pairs = bitset.to_indices(view.supports[view.orders == 2], 64)
    assert pairs
    for key in pairs:  # residual.shrink: p · p² / (p² + se²), so |value| ≤ |surrogate's|, same sign
        p, se = plain[key], view.std_error(key)
        assert np.isfinite(se) and se > 0
        assert view[key] == pytest.approx(p**3 / (p**2 + se**2), abs=1e-12)
    # the strong pairs keep most of their value and the noise among the rest goes to ~0: closer to the truth
    sup, val, _ = convert(f, "SII", 2)
    exact = dict(zip(bitset.to_indices(sup, 64), val))

    def error(values) -> float:
        return float(np.mean([abs(values[k] - exact.get(k, 0.0)) for k in pairs]))

    assert error(view) < error(plain)
    # enough masks per part (16) and per pair (2) for n = 10: both orders corrected
    noisy = NoisyFunction(planted(N, 40, 6, 3, scale=2.0), 10.0, random_state=1)
    assert thin_orders(ProxySPEX(random_state=0).explain(noisy, N, 300).residual) == ()


def test_a_surrogate_exact_to_rounding_leaves_no_residual_to_spread_over_the_pairs():
    # a sparse function fitted exactly: its residuals are rounding noise (~1e-16), which the correction
    # used to turn into a value of ~1e-16 for every pair; the sample holds exact zeros instead
    f = planted(16, 4, 3, 2)
    masks = np.random.default_rng(0).random((400, 16)) < 0.5
    noise = np.random.default_rng(1).standard_normal(400)
    sample = ResidualSample.of(f, masks, f(masks) + 1e-17 * noise)
    assert not sample.residuals.any()
    real = ResidualSample.of(f, masks, f(masks) + 1e-3 * noise)  # a residual above rounding is kept
    assert np.abs(real.residuals).max() > 1e-4
    sup, val, err = corrections(sample, "SII", 2)
    assert not val.any() and not err.any()


@pytest.mark.parametrize(("index", "k"), VIEWS)
def test_a_zero_residual_corrects_every_part_and_pair_by_zero_with_zero_error(index, k):
    # an exact surrogate's sample (all residuals 0) still covers every term of orders ≤ k, each with a
    # correction of 0 and a standard error of 0, not "no estimate" (NaN); FBII's conversion drops zeros
    masks = np.random.default_rng(0).random((400, N)) < 0.5
    sup, val, err = corrections(ResidualSample(N, masks, np.zeros(400)), index, k)
    orders = bitset.popcount(sup)
    assert all((orders == t).sum() == comb(N, t) for t in range(1, k + 1))
    assert not val.any() and not err.any()


def test_more_parts_than_a_float_counts_masks_of_a_size_every_view_is_finite():
    """From n ≈ 1,030 on, C(n, n/2) overflows a float: the design's strata, the residual's finite-population
    factor and the first-order weights of k-SII-2 / FBII-2 work in logs or capped counts (they raised
    OverflowError)."""
    n = 1040
    f = lambda m: m[:, :3].sum(1) + 2.0 * m[:, 5] * m[:, 7] + 0.3 * np.sin(m[:, 10:40].sum(1))  # noqa: E731
    result = ProxySPEX(random_state=0).explain(f, n, 16 * n)
    assert result.residual is not None and np.any(result.residual.residuals)  # the corrections do run
    for index in ("SV", "BV", "SII", "BII", "STII", "k-SII", "FSII", "FBII"):
        orders = [None] if index in ("SV", "BV") else [None, 2]  # k-SII-2 / FBII-2: the first-order weights
        for view in (result.to(index, max_order=k) for k in orders):
            assert np.isfinite(view.values).all(), index
    sv = result.to("SV")
    assert np.isfinite(sv.std_errors[sv.orders == 1]).all()
    np.testing.assert_allclose(sv.first_order()[:3], 1.0, atol=0.05)
