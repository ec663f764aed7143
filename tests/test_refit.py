import numpy as np
import pytest

from spectrex.decoders import refit
from spectrex.synthetic import planted


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
