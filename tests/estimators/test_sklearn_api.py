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
    with pytest.raises(ValueError, match="width must be a finite number > 0"):
        est.explain(planted(6, 3, 2, 0), 6, 100)


def test_a_registered_method_is_found_under_its_name():
    register_method("My_Lasso", "spectrex.estimators.baselines:LASSO")
    try:
        assert get_method("my_lasso") is spectrex.LASSO and get_method("MY-LASSO") is spectrex.LASSO
        r = spectrex.explain(planted(6, 3, 1, 0), 6, method="my_lasso", budget=200, random_state=0)
        assert np.isfinite(r.values).all()
    finally:
        METHODS.pop("mylasso")


@pytest.mark.parametrize(
    ("name", "target", "problem"),
    [  # each was registered: "auto" and "proxyspex" replaced what explain() runs, X failed at explain time
        ("auto", spectrex.ProxySPEX, "is spectrex's own"),
        ("Proxy-SPEX", spectrex.LASSO, "is spectrex's own"),
        ("", spectrex.LASSO, "is not a name"),
        (5, spectrex.LASSO, "is not a name"),
        ("mine", dict, "a subclass of spectrex.Explainer"),
        ("mine", "no colon here", "'package.module:Class'"),
    ],
)
def test_registering_a_method_refuses_what_explain_could_not_run(name, target, problem):
    with pytest.raises((ValueError, TypeError), match=problem):
        register_method(name, target)
    assert "mine" not in METHODS and get_method("proxyspex") is spectrex.ProxySPEX


@pytest.mark.parametrize(
    "cls, setting, value",
    [
        (spectrex.SPEX, "groups", np.int64(3)),
        (spectrex.SPEX, "max_rounds", 10.0),
        (spectrex.LASSO, "n_folds", np.int64(3)),
        (spectrex.LIME, "width", 1),
        (spectrex.ProxySPEX, "top_k", np.int64(50)),
    ],
)
def test_settings_are_stored_as_given_so_clone_accepts_numpy_and_whole_float_values(cls, setting, value):
    est = cls(**{setting: value})
    assert getattr(est, setting) is value  # scikit-learn's clone refuses a constructor that converts
    assert sklearn_base.clone(est).get_params()[setting] == value


@pytest.mark.parametrize(
    "cls, setting, value, message",
    [
        (spectrex.ProxySPEX, "top_k", "50", "top_k must be a positive integer or None"),
        (spectrex.ProxySPEX, "num_threads", 0, "num_threads must be a positive integer"),
        (spectrex.ProxySPEX, "residual", "no", "residual must be True or False"),
        (spectrex.ProxySPEX, "tol", float("nan"), "tol must be a finite number"),
        (spectrex.ProxySPEX, "energy", ("0.9",), "energy must be"),
        (spectrex.SPEX, "groups", "3", "groups must be a positive integer"),
        (spectrex.LASSO, "alpha", "x", "alpha must be 'cv' or a finite number"),
        (spectrex.LIME, "ridge", -1.0, "ridge must be a finite number ≥ 0"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name_in_the_constructor_and_after_set_params(cls, setting, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{setting: value})
    est = cls().set_params(**{setting: value})
    with pytest.raises(ValueError, match=message):
        est.explain(planted(6, 3, 2, 0), 6, 200)
