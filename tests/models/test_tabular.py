"""Tabular explanations against shapiq's exact computation on real scikit-learn models and datasets."""

from __future__ import annotations

import numpy as np
import pytest
import shapiq
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

import spectrex
from spectrex.models.tabular import TabularValue


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    model = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0).fit(X[:400], y[:400])
    return model, X


def test_baseline_sv_and_sii_equal_shapiq_baseline_imputer(diabetes):
    model, X = diabetes
    x, base = X[420], X[:400].mean(axis=0)
    f = TabularValue(model, x, base)
    res = spectrex.explain(f, f.n, method="exact")
    # shapiq builds its own value function (BaselineImputer) and its own exact indices
    game = shapiq.BaselineImputer(model.predict, base[None, :], x=x[None, :])
    ec = shapiq.ExactComputer(game, n_players=f.n)
    for index, order in (("SV", 1), ("SII", 2)):
        ref = ec(index, order)
        ours = res.to(index, order)
        for parts, v in ref.dict_values.items():
            if len(parts) == 0:
                continue
            assert ours[parts] == pytest.approx(v, abs=1e-8), (index, parts)
    sv = res.to("SV").first_order()
    # efficiency: the Shapley values add up to f(x) − f(baseline)
    assert sv.sum() == pytest.approx(model.predict(x[None])[0] - model.predict(base[None])[0], abs=1e-8)


def test_interventional_background_matches_brute_force_and_shapiq(diabetes):
    model, X = diabetes
    x, bg = X[410], X[:25]
    f = TabularValue(model, x, bg)
    masks = np.random.default_rng(0).random((40, f.n)) < 0.5
    # the definition, one row at a time
    direct = [np.mean([model.predict(np.where(m, x, b)[None])[0] for b in bg]) for m in masks]
    np.testing.assert_allclose(f(masks), direct, atol=1e-10)
    res = spectrex.explain(f, f.n, method="exact")
    ref = shapiq.ExactComputer(lambda c: f(np.asarray(c, bool)), n_players=f.n)("SV", 1)
    ours = res.to("SV").first_order()
    np.testing.assert_allclose(ours, [ref[(i,)] for i in range(f.n)], atol=1e-8)
    assert np.abs(ours).max() > 1.0  # a real, non-trivial explanation


def test_classifier_probability_groups_and_errors():
    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    x = X[120]
    f = TabularValue(clf, x, X[:50], output=2, groups=[[0, 1], [2, 3]], labels=["sepal", "petal"])
    full = f(np.ones((1, 2), bool))[0]
    assert full == pytest.approx(clf.predict_proba(x[None])[0, 2])
    sv = spectrex.explain(f, 2, method="exact", labels=f.labels).to("SV").first_order()
    assert sv[1] > sv[0]  # petals separate virginica from setosa background rows
    with pytest.raises(ValueError, match="same 4 columns"):
        TabularValue(clf, x, X[:5, :3])
    with pytest.raises(ValueError, match="output="):
        TabularValue(lambda Z: np.ones((len(Z), 3)), x, X[:5])(np.ones((1, 4), bool))


@pytest.mark.parametrize("method", ["proxyspex", "spex"])
def test_sampling_methods_agree_with_exact_on_a_real_model(diabetes, method):
    model, X = diabetes
    f = TabularValue(model, X[430], X[:20])
    exact = spectrex.explain(f, f.n, method="exact").to("SV").first_order()
    approx = spectrex.explain(f, f.n, method=method, budget=600, max_order=2, random_state=0)
    sv = approx.to("SV").first_order()
    assert approx.metadata["queries"] <= 600
    assert np.corrcoef(sv, exact)[0, 1] > 0.95
    assert np.argmax(np.abs(sv)) == np.argmax(np.abs(exact))
