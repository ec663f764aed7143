import numpy as np
import pytest

import spectrex
from spectrex import BudgetError, ValueFunctionError
from spectrex.contract import check_budget, check_masks, check_n, evaluate
from spectrex.engine import QueryEngine


def test_masks_of_wrong_shape_or_values():
    with pytest.raises(ValueError, match="2-D"):
        check_masks(np.ones(4, bool))
    with pytest.raises(ValueError, match="3 columns but there are n = 4"):
        check_masks(np.ones((2, 3), bool), 4)
    with pytest.raises(ValueError, match="boolean"):
        check_masks(np.full((2, 3), 2))
    assert check_masks(np.eye(3, dtype=int)).dtype == bool


def test_nan_rows_are_named():
    def fn(m):
        out = m.sum(1).astype(float)
        out[[1, 4]] = np.nan
        return out

    with pytest.raises(ValueFunctionError, match=r"rows 1, 4") as err:
        evaluate(fn, np.ones((6, 3), bool))
    assert err.value.rows == [1, 4]


def test_wrong_length_is_never_broadcast():
    with pytest.raises(ValueFunctionError, match=r"shape \(1,\) for 5 masks"):
        evaluate(lambda m: np.array([1.0]), np.ones((5, 3), bool))
    with pytest.raises(ValueFunctionError, match="not an array of floats"):
        evaluate(lambda m: ["a"] * len(m), np.ones((2, 3), bool))
    with pytest.raises(TypeError, match="callable"):
        evaluate(42, np.ones((2, 3), bool))
    for extra in [(0,), (2, 2)]:  # 2 parts: 4 masks, answered (4, 0) or (4, 2, 2): both allowed forms are named
        with pytest.raises(ValueFunctionError, match=r"shape \(4,\), or one per output: shape \(4, m\)"):
            spectrex.explain(lambda m, e=extra: np.zeros((len(m), *e)), 2, progress=False)


def test_n_and_budget():
    with pytest.raises(ValueError, match="at least 1"):
        check_n(0)
    with pytest.raises(TypeError, match="integer"):
        check_n(2.5)
    with pytest.raises(BudgetError, match="positive"):
        check_budget(-5)
    with pytest.raises(BudgetError, match="1,024") as err:
        spectrex.Exact().explain(lambda m: m.sum(1).astype(float), 10, 100)
    assert err.value.minimum == 1024 == spectrex.Exact().minimum_budget(10)
    with pytest.raises(ValueError, match="at least 1"):
        spectrex.explain(lambda m: m.sum(1), 0)
    with pytest.raises(BudgetError):
        spectrex.explain(lambda m: m.sum(1), 3, method="exact", budget=-1)


@pytest.mark.parametrize("n", [5, 6, 12])
def test_a_budget_too_small_for_auto_names_the_least_that_runs_and_the_cli_says_the_same(n):
    from spectrex.cli.plan import plan_parts
    from spectrex.settings import RunSettings

    fn = lambda m: m.sum(1).astype(float)  # noqa: E731
    with pytest.raises(BudgetError) as err:
        spectrex.explain(fn, n, budget=3)
    least = err.value.minimum
    assert least == min(2**n, spectrex.ProxySPEX().minimum_budget(n))
    assert f"raise the budget to {least:,} or more" in str(err.value)
    assert "or more" not in str(err.value).split(f"{least:,} or more", 1)[1]  # no second, larger advice
    spectrex.explain(fn, n, budget=least, progress=False)  # the budget named runs …
    with pytest.raises(BudgetError):
        spectrex.explain(fn, n, budget=least - 1)  # … and is the least that does
    with pytest.raises(BudgetError) as cli:
        plan_parts(n, RunSettings(budget=3))
    assert cli.value.minimum == least and str(cli.value).startswith("--budget 3 is too small: ")
    assert str(err.value) in str(cli.value)


def test_explain_errors_for_unknown_method_and_exact_limits():
    with pytest.raises(ValueError, match="unknown method 'lime2'"):
        spectrex.explain(lambda m: m.sum(1), 4, method="lime2")
    with pytest.raises(ValueError, match="n ≤ 20.*spex"):
        spectrex.explain(lambda m: m.sum(1), 21, method="exact")
    with pytest.raises(BudgetError, match="2\\^5 = 32"):
        spectrex.explain(lambda m: m.sum(1), 5, method="exact", budget=10)


def test_engine_batches_and_deduplicates():
    calls = []

    def fn(m):
        calls.append(len(m))
        return m.sum(1).astype(float)

    q = QueryEngine(batch_size=3).bind(fn, 4)
    masks = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0]], bool)
    np.testing.assert_array_equal(q(masks), [2, 2, 0, 4, 1])
    np.testing.assert_array_equal(q(masks[:2]), [2, 2])
    assert calls == [3, 1]
    assert (q.stats.sent, q.stats.requested, q.stats.cached) == (4, 7, 1)
    with pytest.raises(ValueFunctionError, match="NaN"):
        QueryEngine().bind(lambda m: np.full(len(m), np.nan), 2)(np.ones((2, 2), bool))


def _fails_on_a_few(m):
    # a model that fails on ~1/8 of the masks: those rows are dropped under on_error="drop"
    out = m[:, :4].sum(1).astype(float) + 2.0 * m[:, 0] * m[:, 1]
    out[m[:, 5] & m[:, 6] & m[:, 7]] = np.nan
    return out


@pytest.mark.parametrize("method", ["exact", "spex", "kernelshap"])
def test_structured_designs_refuse_dropped_rows(method):
    with pytest.raises(ValueFunctionError, match="needs the value of every mask"):
        spectrex.explain(_fails_on_a_few, 8, method=method, engine=QueryEngine(on_error="drop"), random_state=0)


@pytest.mark.parametrize("method", ["proxyspex", "lasso1", "banzhaf", "lime"])
def test_sampling_designs_leave_dropped_rows_out(method):
    res = spectrex.explain(
        _fails_on_a_few, 12, method=method, budget=600, engine=QueryEngine(on_error="drop"), random_state=0
    )
    assert np.all(np.isfinite(res.values)) and res.metadata["queries_dropped"] > 0
