"""The benchmark helpers: method discovery, the top-r removal curve, the size guard."""

from __future__ import annotations

import numpy as np

import spectrex as sx
from benchmarks._methods import registered_methods, removal_curve, run_method
from spectrex.transforms.sparse import SparseTransform


def test_registered_methods_one_name_per_class():
    names = registered_methods()
    assert "exact" not in names
    targets = [sx.api.METHODS[m] for m in names]
    assert len(targets) == len(set(targets))
    assert {"lasso1", "lasso2", "kernelshap", "banzhaf", "lime"} <= set(names)


def test_removal_curve_follows_the_surrogate():
    n = 6
    # v = 3·m0·m1 + m2: removing 0 (or 1) drops 3, then 2 drops 1 more
    f = SparseTransform.from_dict({(0, 1): 3.0, (2,): 1.0}, n, "mobius")
    res = sx.explain(f, n, method="exact")
    np.testing.assert_allclose(removal_curve(res, f, n, 3), [3.0, 4.0, 4.0])


def test_run_method_reports_failures_instead_of_raising():
    f = SparseTransform.from_dict({(0,): 1.0}, 300, "mobius")
    run = run_method("lasso2", f, 300, 5000, seed=0)
    assert run.result is None and "left out" in run.error
    run = run_method("kernelshap", f, 300, 2, seed=0)
    assert run.result is None and "BudgetError" in run.error
