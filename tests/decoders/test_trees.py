import lightgbm as lgb
import numpy as np
import pytest

from spectrex.decoders.trees import _leaf_paths, parse_lightgbm, tree_fourier
from spectrex.transforms.sparse import SparseTransform
from spectrex.transforms.wht import all_masks, exact_fourier

PARAMS = {"objective": "regression", "verbose": -1, "deterministic": True, "num_threads": 1, "seed": 0}


def _booster(n, depth, rounds, seed, **extra):
    rng = np.random.default_rng(seed)
    X = rng.random((1500, n)) < 0.5
    y = 3 * X[:, 0] * X[:, 1] + X[:, 2] - 2 * X[:, 3] * X[:, 4] * X[:, 5] + rng.normal(size=1500)
    params = {**PARAMS, "max_depth": depth, "num_leaves": 2**depth, "min_data_in_leaf": 2, **extra}
    return lgb.train(params, lgb.Dataset(X.astype(float), y), num_boost_round=rounds)


def _brute(booster, n):
    return exact_fourier(booster.predict(all_masks(n).astype(float)), n)


@pytest.mark.parametrize("n,depth,seed", [(6, 2, 0), (9, 4, 1), (12, 6, 2)])
def test_tree_spectrum_equals_brute_force_wht(n, depth, seed):
    booster = _booster(n, depth, 30, seed)
    got = tree_fourier(booster, n)
    assert np.abs((got - _brute(booster, n)).coefs).max() < 1e-9
    assert got.max_order <= depth


def test_repeated_features_on_a_path_are_handled():
    # LightGBM never re-splits a binary feature on one path, so rewrite a fitted model's split
    # features to few values: paths then test a feature twice, consistently or contradictorily
    n = 6
    text = _booster(n, 6, 5, 3).model_to_string()
    rng = np.random.default_rng(0)
    lines = [
        "split_feature=" + " ".join(str(v) for v in rng.integers(0, 3, len(line.split("=")[1].split())))
        if line.startswith("split_feature=")
        else line
        for line in text.splitlines()
    ]
    booster = lgb.Booster(model_str="\n".join(lines) + "\n")
    F, _ = _leaf_paths(parse_lightgbm(booster))
    srt = np.sort(F, axis=1)
    assert np.any((srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0))  # the case is really exercised
    got = tree_fourier(booster, n)
    assert np.abs((got - _brute(booster, n)).coefs).max() < 1e-9


@pytest.mark.parametrize("cap", [0, 1, 2, 3])
def test_order_cap_equals_truncation(cap):
    n = 10
    booster = _booster(n, 5, 25, 4)
    full = _brute(booster, n)
    got = tree_fourier(booster, n, max_order=cap)
    assert got.max_order <= cap
    assert np.abs((got - full.truncate(cap)).coefs).max() < 1e-9


def test_sklearn_wrapper_and_best_iteration():
    n = 8
    rng = np.random.default_rng(5)
    X = (rng.random((800, n)) < 0.5).astype(float)
    y = X[:, 0] - X[:, 1] * X[:, 2]
    model = lgb.LGBMRegressor(n_estimators=15, max_depth=3, num_leaves=8, verbose=-1, deterministic=True, n_jobs=1)
    model.fit(X, y)
    got = tree_fourier(model, n)
    want = exact_fourier(model.predict(all_masks(n).astype(float)), n)
    assert np.abs((got - want).coefs).max() < 1e-9
    first5 = tree_fourier(model.booster_, n, num_iteration=5)
    want5 = exact_fourier(model.booster_.predict(all_masks(n).astype(float), num_iteration=5), n)
    assert np.abs((first5 - want5).coefs).max() < 1e-9
    assert not np.allclose(first5(all_masks(n)), got(all_masks(n)))


def test_constant_model_and_bad_feature_count():
    n = 4
    X = np.zeros((50, n))
    booster = lgb.train({**PARAMS, "min_data_in_leaf": 1}, lgb.Dataset(X, np.full(50, 2.5)), num_boost_round=3)
    got = tree_fourier(booster, n)
    assert isinstance(got, SparseTransform)
    assert got.to_dict() == pytest.approx({(): 2.5})
    with pytest.raises(ValueError, match="splits on feature"):
        tree_fourier(_booster(8, 3, 5, 0), 3)


def test_numba_booster_spectrum_equals_its_predictions():
    from spectrex.decoders.boost import boost
    from spectrex.decoders.trees import paths_fourier
    from spectrex.synthetic import planted

    n = 12
    rng = np.random.default_rng(0)
    f = planted(n, 8, 3, 1)
    X = rng.random((800, n)) < 0.5
    Xh = rng.random((200, n)) < 0.5
    ens = boost(X, f(X), Xh, f(Xh), 3, learning_rate=0.5, max_rounds=60, patience=60, min_delta=0.0)
    assert ens.best_iteration > 10
    spectrum = paths_fourier(*ens.paths(), n)
    every = np.array(np.meshgrid(*[[0, 1]] * n)).reshape(n, -1).T.astype(bool)  # all 2^n masks
    np.testing.assert_allclose(spectrum(every), ens.predict(every), atol=1e-9)
    # the holdout error it reports is the error of the kept rounds
    assert ens.holdout_sse == pytest.approx(float(((f(Xh) - ens.predict(Xh)) ** 2).sum()), rel=1e-9)
    # capping the order truncates the spectrum exactly
    capped = paths_fourier(*ens.paths(), n, 2)
    full = spectrum.to_dict()
    assert capped.to_dict() == pytest.approx({k: v for k, v in full.items() if len(k) <= 2})


def test_numba_booster_stops_early_and_is_deterministic():
    from spectrex.decoders.boost import boost

    rng = np.random.default_rng(1)
    X = rng.random((500, 8)) < 0.5
    y = X[:, 0] * 2.0 + X[:, 1] * X[:, 2]
    a = boost(X, y, X[:100], y[:100], 3, max_rounds=500, patience=5, min_delta=1e-6)
    b = boost(X, y, X[:100], y[:100], 3, max_rounds=500, patience=5, min_delta=1e-6)
    assert a.feature.shape[0] < 500
    np.testing.assert_array_equal(a.feature, b.feature)
    np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("n, t", [(15, 1), (15, 3), (15, 5), (64, 3), (200, 2)])
def test_summing_terms_in_a_dense_table_equals_sorting_them(monkeypatch, n, t):
    # small key spaces are summed by counting into a table instead of sorting: the same terms, in the same
    # order, with bit-identical sums (both add each term's values in the order they come)
    from spectrex.decoders import trees

    rng = np.random.default_rng(n + t)
    pool = np.sort(np.stack([rng.choice(n, t, replace=False) for _ in range(300)]), axis=1)
    idx = pool[rng.integers(0, len(pool), 20_000)]
    vals = rng.normal(size=len(idx))
    dense = trees._unique_sum(idx, vals, n)
    monkeypatch.setattr(trees, "DENSE_KEYS", 0)
    if n**t <= 2 * len(idx):  # still dense without the floor: sort by hand
        keys, inverse = np.unique(idx, axis=0, return_inverse=True)
        sorted_ = keys, np.bincount(inverse.reshape(-1), weights=vals, minlength=len(keys))
    else:
        sorted_ = trees._unique_sum(idx, vals, n)
    assert np.array_equal(dense[0], sorted_[0]) and np.array_equal(dense[1], sorted_[1])
    assert len(dense[0]) == len(np.unique(idx, axis=0))
