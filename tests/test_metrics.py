import math

import numpy as np

from spectrex.metrics import r2_from_sums, r2_score


def test_r2_is_one_minus_sse_over_sst():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(50)
    pred = y + 0.3 * rng.standard_normal(50)
    expected = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert math.isclose(r2_score(y, pred), expected, rel_tol=1e-12)
    assert r2_score(y, y) == 1.0 and r2_score(y, np.full(50, y.mean())) == 0.0


def test_constant_values_one_convention():
    assert r2_score(np.ones(5), np.ones(5)) == 1.0  # an exact fit of a constant is perfect
    assert math.isnan(r2_score(np.ones(5), np.zeros(5)))  # any other fit of it is undefined
    assert r2_from_sums(0.0, 0.0) == 1.0 and math.isnan(r2_from_sums(1.0, 0.0))
