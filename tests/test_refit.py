import numpy as np
import pytest

from spectrex.decoders import refit
from spectrex.synthetic import planted
from spectrex.transforms import bitset


def test_refit_recovers_exact_coefficients_on_true_support():
    f = planted(40, 15, 3, 0, include_empty=True).to_fourier()
    masks = np.random.default_rng(1).random((600, 40)) < 0.5
    got, info = refit(masks, f(masks), f.supports, 40)
    assert got.allclose(f, atol=1e-6)
    assert info["refit_r2"] == pytest.approx(1.0)


def test_refit_with_noise_is_close():
    f = planted(30, 10, 2, 2).to_fourier()
    rng = np.random.default_rng(3)
    masks = rng.random((2000, 30)) < 0.5
    got, _ = refit(masks, f(masks) + rng.normal(0, 0.1, 2000), f.supports, 30)
    assert np.max(np.abs((got - f).coefs)) < 0.05


def test_gram_refit_equals_the_svd_refit():
    from spectrex.decoders.refit import gram_stats, ridge_gcv, ridge_gram
    from spectrex.transforms.sparse import basis_matrix

    rng = np.random.default_rng(4)
    n = 24
    f = planted(n, 10, 3, 2, basis="fourier")
    masks = rng.random((1200, n)) < 0.5
    y = f(masks) + rng.normal(0, 0.5, 1200)
    sup = f.supports[np.any(f.supports != 0, axis=1)]
    b0, beta, alpha, rss, _ = ridge_gram(gram_stats(masks, sup, n, y, chunk=101))
    X = basis_matrix(masks, np.concatenate([np.zeros((1, sup.shape[1]), np.uint64), sup]), n, "fourier")
    ref, ref_alpha = ridge_gcv(X, y, intercept_col=0)
    assert alpha == pytest.approx(ref_alpha)
    np.testing.assert_allclose(np.concatenate([[b0], beta]), ref, rtol=1e-8, atol=1e-10)
    assert rss == pytest.approx(float(((y - X @ ref) ** 2).sum()), rel=1e-8)


def test_gram_statistics_do_not_depend_on_the_chunk_size():
    from spectrex.decoders.refit import gram_stats

    rng = np.random.default_rng(5)
    n = 70  # two words per support
    masks = rng.random((500, n)) < 0.5
    sup = bitset.pack(rng.random((30, n)) < 0.05)
    y = rng.normal(size=500)
    a, b = gram_stats(masks, sup, n, y, chunk=64), gram_stats(masks, sup, n, y, chunk=10_000)
    np.testing.assert_array_equal(a.G, b.G)
    np.testing.assert_allclose(a.Xty, b.Xty)
    np.testing.assert_array_equal(a.col_sum, b.col_sum)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_refit_takes_values_of_any_finite_scale(scale):
    rng = np.random.default_rng(0)
    f = planted(20, 8, 2, 1, basis="fourier")
    masks = rng.random((600, 20)) < 0.5
    got, info = refit(masks, f(masks) * scale, f.supports, 20)
    np.testing.assert_allclose(got.coefs / scale, refit(masks, f(masks), f.supports, 20)[0].coefs, atol=1e-9)
    assert info["refit_r2"] == pytest.approx(1.0)


def test_standardise_refuses_empty_and_non_finite():
    from spectrex.decoders.refit import standardise

    with pytest.raises(ValueError, match="dropped"):
        standardise(np.zeros(0))
    with pytest.raises(ValueError, match="NaN"):
        standardise(np.array([1.0, np.nan]))
    z, loc, scale = standardise(np.array([2.0, 2.0]))
    assert scale == 0 and loc == pytest.approx(2.0)


def test_least_squares_is_a_candidate_so_an_exactly_sparse_function_is_fitted_to_rounding():
    # the smallest ridge penalty alone left ~1e-7 errors; GCV picks 0 when the fit is exact
    from spectrex.decoders.refit import ALPHAS, refit

    assert ALPHAS[0] == 0.0
    rng = np.random.default_rng(0)
    n = 20
    f = planted(n, 12, 3, 1, basis="fourier")
    masks = rng.random((600, n)) < 0.5
    fitted, info = refit(masks, f(masks), f.supports[np.any(f.supports != 0, axis=1)], n)
    assert info["refit_alpha"] == 0.0
    assert np.max(np.abs(fitted(masks[:50]) - f(masks[:50]))) < 1e-10
