"""scikit-learn's estimator conventions hold for every registered method."""

import numpy as np
import pytest

import spectrex
from spectrex.api import METHODS, get_method, register_method
from spectrex.synthetic import planted

sklearn_base = pytest.importorskip("sklearn.base")

CLASSES = sorted({get_method(name) for name in METHODS}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_get_set_params_and_clone_round_trip(cls):
    est = cls(random_state=7)
    params = est.get_params()
    assert params == est.get_params(deep=False) and params["random_state"] == 7 and "engine" in params
    twin = sklearn_base.clone(est)
    assert twin is not est and twin.get_params() == params
    assert est.set_params(random_state=8) is est and est.get_params()["random_state"] == 8
    assert twin.get_params()["random_state"] == 7  # the clone is independent
    with pytest.raises(ValueError, match="has no setting 'no_such'"):
        est.set_params(no_such=1)


def test_set_params_values_are_checked_when_explaining():
    est = spectrex.LIME().set_params(width=-1.0)
    with pytest.raises(ValueError, match="width must be positive"):
        est.explain(planted(6, 3, 2, 0), 6, 100)


def test_a_registered_method_is_found_under_its_name():
    register_method("My_Lasso", "spectrex.estimators.baselines:LASSO")
    try:
        assert get_method("my_lasso") is spectrex.LASSO and get_method("MY-LASSO") is spectrex.LASSO
        r = spectrex.explain(planted(6, 3, 1, 0), 6, method="my_lasso", budget=200, random_state=0)
        assert np.isfinite(r.values).all()
    finally:
        METHODS.pop("mylasso")
