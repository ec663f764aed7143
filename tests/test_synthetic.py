import numpy as np

from spectrex.synthetic import NoisyFunction, planted


def test_noise_is_a_fixed_function_of_the_mask():
    f = NoisyFunction(planted(70, 10, 2, 0), snr_db=10, random_state=3)
    m = np.random.default_rng(0).random((4000, 70)) < 0.5
    y = f(m)
    np.testing.assert_array_equal(f(m[::-1])[::-1], y)  # order and batching do not matter
    np.testing.assert_array_equal(np.concatenate([f(m[:7]), f(m[7:])]), y)
    e = f.noise(m)
    assert abs(e.mean()) < 0.06 and abs(e.std() - 1) < 0.05  # standard normal
    assert not np.array_equal(NoisyFunction(f.f, 10, 4).noise(m), e)  # another seed, other noise
    snr = 10 * np.log10(f.f(m).var() / (y - f.f(m)).var())
    assert 9 < snr < 11
