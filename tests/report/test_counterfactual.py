"""Counterfactual search: the MILP optimum equals brute force over every mask with ≤ k removals."""

from itertools import combinations

import numpy as np
import pytest

from spectrex import explain
from spectrex.report.counterfactual import counterfactual, removal_curve
from spectrex.synthetic import planted


def _all_removals(n, k):
    masks = [np.ones(n, bool)]
    for r in range(1, k + 1):
        for c in combinations(range(n), r):
            m = np.ones(n, bool)
            m[list(c)] = False
            masks.append(m)
    return np.array(masks)


@pytest.mark.parametrize(
    "n,k,order,seed,basis",
    [(8, 2, 3, 0, "mobius"), (10, 3, 3, 1, "fourier"), (12, 4, 4, 2, "mobius"), (14, 3, 3, 3, "fourier")],
)
def test_milp_matches_brute_force(n, k, order, seed, basis):
    f = planted(n, 3 * n, order, seed, basis=basis, include_empty=True)
    masks = _all_removals(n, k)
    vals = f(masks)
    base = vals[0]
    for objective, best in [
        ("decrease", vals.min()),
        ("increase", vals.max()),
        ("abs", base + (vals - base)[np.argmax(np.abs(vals - base))]),
    ]:
        cf = counterfactual(f, k, objective, solver="milp")
        assert cf.optimal and cf.extra["solver"] == "milp"
        auto = counterfactual(f, k, objective)  # small: enumerates
        assert auto.extra["solver"] == "enumerate" and auto.predicted == pytest.approx(best, abs=1e-8)
        assert len(cf.removed) <= k
        assert cf.predicted == pytest.approx(best, abs=1e-8), objective
        assert f(cf.mask[None])[0] == pytest.approx(cf.predicted)
        if objective == "abs":
            assert abs(cf.predicted_change) == pytest.approx(np.abs(vals - base).max(), abs=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_flip_uses_fewest_removals(seed):
    n, k = 12, 5
    f = planted(n, 30, 3, seed, include_empty=True)
    masks = _all_removals(n, k)
    vals = f(masks)
    sizes = (~masks).sum(axis=1)
    flipped = np.sign(vals) != np.sign(vals[0])
    for solver in ("milp", "enumerate"):
        cf = counterfactual(f, k, "flip", solver=solver)
        assert cf.extra["flipped"] == bool(flipped.any())
        if flipped.any():
            assert cf.optimal
            assert len(cf.removed) == sizes[flipped].min()
            assert np.sign(cf.predicted) == -np.sign(cf.original)
        else:
            assert not cf.optimal
            sign = np.sign(vals[0])  # no flip possible: the largest move towards zero instead
            assert sign * cf.predicted == pytest.approx((sign * vals).min(), abs=1e-8)


def test_candidates_restrict_removals():
    n, k = 10, 3
    f = planted(n, 25, 3, 7, include_empty=True)
    cand = [1, 3, 4, 8, 9]
    masks = _all_removals(n, k)
    ok = np.all(masks[:, [i for i in range(n) if i not in cand]], axis=1)
    vals = f(masks[ok])
    for solver in ("milp", "enumerate"):
        cf = counterfactual(f, k, "decrease", candidates=cand, solver=solver)
        assert set(cf.removed) <= set(cand)
        assert cf.predicted == pytest.approx(vals.min(), abs=1e-8)


def test_checked_on_the_model_and_removal_curve():
    n = 9
    f = planted(n, 12, 3, 4, include_empty=True)
    result = explain(f, n, method="exact", labels=[f"w{i}" for i in range(n)])
    cf = counterfactual(result, 3, "abs", value_fn=f)
    assert cf.actual_change == pytest.approx(cf.predicted_change, abs=1e-8)  # exact recovery
    assert cf.labels == tuple(f"w{i}" for i in cf.removed)
    curve = removal_curve(result, f, 5)
    assert list(curve["r"]) == list(range(6))
    sv = result.to("SV").first_order()
    assert list(curve["order"]) == list(np.argsort(-sv, kind="stable")[:5])
    np.testing.assert_allclose(curve["actual"], curve["predicted"], atol=1e-8)
    assert curve["actual_change"][0] == 0


def test_bad_arguments():
    f = planted(6, 4, 2, 0)
    with pytest.raises(ValueError, match="objective"):
        counterfactual(f, 2, "sideways")
    with pytest.raises(ValueError, match="k must"):
        counterfactual(f, -1)
    with pytest.raises(ValueError, match="solver"):
        counterfactual(f, 2, solver="gurobi")
