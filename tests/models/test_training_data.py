"""Training-data attribution by retraining, on datasets bundled with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import spectrex
from spectrex.models.training_data import RetrainValue


def test_all_data_reproduces_the_full_model_and_none_is_the_prior():
    X, y = load_breast_cancer(return_X_y=True)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    Xtr, ytr, Xte, yte = X[:300], y[:300], X[300:305], y[300:305]
    full = est.fit(Xtr, ytr)
    groups = np.arange(300) % 12
    f = RetrainValue(est, Xtr, ytr, Xte, yte, output="log_loss", groups=groups, n_jobs=2)
    assert f.n == 12
    masks = np.array([np.ones(12, bool), np.zeros(12, bool), np.arange(12) < 6])
    vals = f(masks)
    expected = np.mean(np.log(full.predict_proba(Xte)[np.arange(5), yte]))
    assert vals[0] == pytest.approx(expected, abs=1e-12)
    assert vals[1] == pytest.approx(0.0)  # no data: the documented fallback for log-loss
    # half the data is a different model, and the batch gives the same answers as one-at-a-time fits
    assert vals[2] != pytest.approx(vals[0], abs=1e-6)
    assert f(masks[2:]) == pytest.approx(vals[2:], abs=1e-12)


def test_nearest_neighbour_group_is_the_most_valuable():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test, train = order[0], order[1:]
    groups = np.arange(train.size) % 10
    f = RetrainValue(KNeighborsClassifier(n_neighbors=1), X[train], y[train], X[test], [y[test]], groups=groups)
    res = spectrex.explain(f, f.n, method="exact", labels=f.labels)
    sv = res.to("SV").first_order()
    # with 1-NN the test point is right exactly when its nearest kept neighbour has its class: the group
    # that holds its overall nearest neighbour (of the right class) carries the most value
    d = np.linalg.norm(X[train] - X[test], axis=1)
    nn = np.argmin(d)
    assert y[train][nn] == y[test]
    assert np.argmax(sv) == groups[nn]
    # the values add up to f(all) − f(none) = 1 − 1/3
    assert sv.sum() == pytest.approx(1 - 1 / 3, abs=1e-9)
    # groups are substitutes: the strongest pair interaction is negative
    pairs = res.to("SII", 2).top(1, order=2)
    assert pairs[0].value < 0


def test_bad_settings_raise():
    X, y = load_wine(return_X_y=True)
    with pytest.raises(ValueError, match="target"):
        RetrainValue(LogisticRegression(), X, y, X[:2], y[[0, 100]])
    with pytest.raises(ValueError, match="y_test"):
        RetrainValue(LogisticRegression(), X, y, X[:2], output="accuracy")
    with pytest.raises(ValueError, match="groups"):
        RetrainValue(LogisticRegression(), X, y, X[:2], target=0, groups=[0, 1])


def test_retraining_through_the_query_engine_threads():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    f = RetrainValue(KNeighborsClassifier(n_neighbors=3), X[1:], y[1:], X[0], [y[0]], groups=np.arange(177) % 6)
    engine = spectrex.QueryEngine(batch_size=8, backend="threads", workers=2)
    threaded = spectrex.explain(f, f.n, method="exact", engine=engine)
    direct = spectrex.explain(f, f.n, method="exact")
    np.testing.assert_allclose(threaded.to("SV").first_order(), direct.to("SV").first_order(), atol=1e-12)
    assert threaded.metadata["queries"] == 2**6
