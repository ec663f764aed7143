"""Every model adapter is a ValueFunction: n, labels, quantity and a fingerprint, so the cache needs no key."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import spectrex
from spectrex.contract import ValueFunction

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression  # noqa: E402

from spectrex.models.tabular import TabularValue  # noqa: E402
from spectrex.models.training_data import RetrainValue  # noqa: E402

ADAPTERS = [
    ("spectrex.models.base", "TextValueFunction"),
    ("spectrex.models.tabular", "TabularValue"),
    ("spectrex.models.vision", "ImageClassifierValue"),
    ("spectrex.models.components", "ComponentAblationValue"),
    ("spectrex.models.training_data", "RetrainValue"),
    ("spectrex.models.vlm", "VisionLanguageValue"),
    ("spectrex.models.openai_chat", "ChatVisionValue"),
    ("spectrex.models.pipeline", "CaptionThenAnswer"),
]


@pytest.mark.parametrize(("module", "name"), ADAPTERS, ids=[n for _, n in ADAPTERS])
def test_every_adapter_is_a_value_function(module, name):
    assert issubclass(getattr(importlib.import_module(module), name), ValueFunction)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return X, y


def test_tabular_fingerprint_covers_model_output_and_data_and_caches_without_a_key(tmp_path):
    X, y = _data()
    clf = LogisticRegression().fit(X, y)
    f = TabularValue(clf, X[0], X[:20], output=1)
    same = TabularValue(LogisticRegression().fit(X, y), X[0], X[:20], output=1)
    assert f.fingerprint == same.fingerprint and "background" in f.quantity
    others = [
        TabularValue(LogisticRegression(C=0.01).fit(X, y), X[0], X[:20], output=1),
        TabularValue(clf, X[0], X[:20], output=0),
        TabularValue(clf, X[1], X[:20], output=1),
        TabularValue(clf, X[0], X[:21], output=1),
        TabularValue(clf, X[0], X[:20], output=1, groups=[[0, 1], [2], [3, 4]]),
    ]
    assert len({f.fingerprint, *(g.fingerprint for g in others)}) == 1 + len(others)
    path = tmp_path / "c.db"
    first = spectrex.explain(f, method="exact", cache=path)
    again = spectrex.explain(same, method="exact", cache=path)
    assert first.metadata["queries"] == 32 and again.metadata["queries"] == 0
    assert again.metadata["quantity"] == f.quantity and again.labels == f.labels


def test_a_function_model_is_identified_by_its_code():
    X, _ = _data()
    a = TabularValue(lambda Z: Z[:, 0] * 2.0, X[0], X[:5])
    b = TabularValue(lambda Z: Z[:, 0] * 3.0, X[0], X[:5])
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == TabularValue(lambda Z: Z[:, 0] * 2.0, X[0], X[:5]).fingerprint


def test_retrain_value_caches_without_a_key(tmp_path):
    X, y = _data()
    kw = dict(X_train=X[:40], y_train=y[:40], X_test=X[40:43], y_test=y[40:43], output="log_loss")
    f = RetrainValue(LogisticRegression(), groups=np.arange(40) % 6, **kw)
    g = RetrainValue(LogisticRegression(), groups=np.arange(40) % 6, **kw)
    assert f.fingerprint == g.fingerprint
    assert f.fingerprint != RetrainValue(LogisticRegression(C=0.1), groups=np.arange(40) % 6, **kw).fingerprint
    path = tmp_path / "c.db"
    spectrex.explain(f, method="exact", cache=path)
    assert spectrex.explain(g, method="exact", cache=path).metadata["queries"] == 0
