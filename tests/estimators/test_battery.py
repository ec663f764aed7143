"""The estimator battery: every registered method honours the driver's contract.

Run over every name in :data:`spectrex.api.METHODS` (aliases included): the plan said before querying
is what is queried; a fixed seed fixes the masks and the result; dropped rows follow the plan's rule;
the engine's counts are never overwritten and the decoder's diagnostics sit under
``metadata["diagnostics"]``; settings round-trip through get/set/clone; a budget below the minimum
is refused naming it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import spectrex
from spectrex.api import METHODS, get_method
from spectrex.engine import QueryEngine
from spectrex.errors import BudgetError, ValueFunctionError
from spectrex.synthetic import planted
from spectrex.transforms import bitset

sklearn_base = pytest.importorskip("sklearn.base")

NAMES = sorted(METHODS)
N = 10
ENGINE_KEYS = ("queries", "queries_cached", "queries_requested", "queries_dropped", "queries_planned")


def _est(name, **kw):
    return get_method(name)(random_state=5, **kw)


def _budget(est) -> int | None:
    return None if isinstance(est, spectrex.Exact) else max(est.minimum_budget(N), 300)


class Counting:
    """A planted function that records every mask it is asked for; NaN where ``drop`` says so."""

    def __init__(self, drop: bool = False):
        self.f, self.drop, self.seen = planted(N, 6, 2, 3), drop, []

    def __call__(self, masks):
        self.seen.append(np.array(masks, copy=True))
        y = self.f(masks)
        if self.drop:  # about one row in 16
            y = np.where(masks[:, :3].all(axis=1) & ~masks[:, 3], np.nan, y)
        return y

    def distinct(self) -> np.ndarray:
        return np.unique(bitset.pack(np.concatenate(self.seen)), axis=0)


def _explain(est, fn, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SPEX: incomplete recovery at small budgets
        return est.explain(fn, N, _budget(est), **kw)


@pytest.mark.parametrize("name", NAMES)
def test_plan_is_what_is_queried(name):
    est = _est(name)
    plan = est.plan(N, _budget(est))
    fn = Counting()
    res = _explain(est, fn)
    assert np.array_equal(fn.distinct(), np.unique(bitset.pack(plan.masks), axis=0))
    assert res.metadata["queries"] == len(fn.distinct()) and res.metadata["queries_planned"] == plan.n_queries
    assert res.metadata["queries_requested"] == plan.n_queries


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_fixed_seed(name):
    a, b = _explain(_est(name), Counting()), _explain(_est(name), Counting())
    assert np.array_equal(a.transform.supports, b.transform.supports)
    assert np.array_equal(a.transform.coefs, b.transform.coefs)
    assert np.array_equal(_est(name).plan(N, _budget(_est(name))).masks, _est(name).plan(N, _budget(_est(name))).masks)


@pytest.mark.parametrize("name", NAMES)
def test_dropped_rows_follow_the_plans_rule(name):
    est = _est(name, engine=QueryEngine(on_error="drop"))
    plan = est.plan(N, _budget(est))
    fn = Counting(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the engine warns about the dropped rows
        if plan.every_row:  # structured design: every row is needed
            with pytest.raises(ValueFunctionError, match="needs the value of every mask"):
                est.explain(fn, N, _budget(est))
            return
        res = est.explain(fn, N, _budget(est))
    assert res.metadata["queries_dropped"] > 0 and np.isfinite(res.transform.coefs).all()


@pytest.mark.parametrize("name", NAMES)
def test_metadata_keys(name):
    fn = Counting()
    res = _explain(_est(name), fn)
    meta = res.metadata
    assert all(isinstance(meta[k], int) for k in ENGINE_KEYS) and meta["queries"] == len(fn.distinct())
    assert isinstance(meta["diagnostics"], dict) and meta["method"] == get_method(name).name
    assert {"engine", "seed", "settings", "timings", "budget", "version"} <= set(meta)
    assert not set(meta["diagnostics"]) & set(meta) - {"diagnostics"}  # nothing merged over the top level
    assert spectrex.explain(fn, N, method=name, budget=_budget(_est(name)), random_state=5).metadata["method"] == name


def test_a_decoder_cannot_overwrite_the_engine_counts():
    class Loud(spectrex.Exact):
        def decoder(self):
            inner = super().decoder()
            return lambda plan, masks, y, order: (inner(plan, masks, y, order)[0], {"queries": -1})

    res = Loud().explain(planted(6, 3, 2, 0), 6)
    assert res.metadata["queries"] == 64 and res.metadata["diagnostics"] == {"queries": -1}


@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip(name):
    est = _est(name)
    params = est.get_params(deep=True)
    twin = sklearn_base.clone(est)
    assert twin.get_params() == params and twin is not est
    assert est.set_params(random_state=9).get_params()["random_state"] == 9 and twin.random_state == 5


@pytest.mark.parametrize("name", NAMES)
def test_budget_below_the_minimum_names_it(name):
    est = _est(name)
    minimum = est.minimum_budget(N)
    with pytest.raises(BudgetError, match=f"{minimum:,}") as err:
        est.explain(Counting(), N, minimum - 1)
    assert err.value.minimum == minimum
    assert est.plan(N, minimum).n_queries == minimum  # the minimum itself is accepted, and spent
