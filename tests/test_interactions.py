import json
import tracemalloc

import numpy as np
import pytest
import shapiq

import oracles
import spectrex
from spectrex import Interactions, SparseTransform
from spectrex.bounds import ResourceError
from spectrex.synthetic import planted
from spectrex.transforms import all_masks


@pytest.fixture
def result():
    f = SparseTransform.from_dict({(): 0.5, (0,): 1.0, (1, 2): -2.0, (0, 3, 4): 0.75, (5,): 0.1}, 6, "mobius")
    return Interactions(f, "Moebius", labels=["not", "good", "movie", "at", "all", "!"], metadata={"method": "exact"})


def test_top_getitem_and_first_order(result):
    top = result.top(2)
    assert [t.parts for t in top] == [(1, 2), (0,)]
    assert top[0].labels == ("good", "movie") and top[0].value == -2.0
    assert [t.parts for t in result.top(5, order=3)] == [(0, 3, 4)]
    assert result[(2, 1)] == -2.0 and result[3] == 0.0 and result.baseline == 0.5
    # Shapley values against the brute-force definition over all 2^6 subsets
    dense = result.transform(all_masks(6))
    np.testing.assert_allclose(result.to("SV").first_order(), oracles.shapley(dense, 6), atol=1e-12)
    assert result.to("SV").first_order()[0] == pytest.approx(1.0 + 0.75 / 3)


def test_json_round_trip_is_lossless(result, tmp_path):
    f = planted(130, 40, 4, 7).to_fourier()
    res = Interactions(f, "FSII", 3, metadata={"method": "spex", "budget": 9000, "timings": {"total_s": 1 / 3}})
    path = tmp_path / "r.json"
    res.to_json(path)
    back = Interactions.from_json(path)
    assert back.transform.basis == "fourier"
    np.testing.assert_array_equal(back.transform.supports, res.transform.supports)
    assert back.transform.coefs.tolist() == res.transform.coefs.tolist()  # bit-exact floats
    np.testing.assert_array_equal(back.values, res.values)
    assert (back.index, back.max_order, back.labels, back.metadata) == (
        res.index,
        res.max_order,
        res.labels,
        res.metadata,
    )
    assert Interactions.from_json(result.to_json()).as_dict() == result.as_dict()


def test_json_schema_errors(result):
    doc = json.loads(result.to_json())
    with pytest.raises(ValueError, match="not a spectrex result"):
        Interactions.from_json(json.dumps({"n": 3}))
    doc["schema"] = "spectrex.interactions/99"
    with pytest.raises(ValueError, match="upgrade spectrex"):
        Interactions.from_json(json.dumps(doc))


def _doc(n, supports, coefs, labels=None, index="Moebius", basis="mobius"):
    return json.dumps(
        {
            "schema": "spectrex.interactions/1",
            "n": n,
            "index": index,
            "max_order": None,
            "labels": [""] * n if labels is None else labels,
            "metadata": {},
            "transform": {"basis": basis, "supports": supports, "coefs": coefs},
        }
    )


def _peak(fn):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:  # noqa: PT011 - the class and message are asserted by callers
            fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return info.value, peak


def test_from_json_refuses_a_declared_n_the_file_does_not_hold(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(_doc(10**6, [[0]], [1.0], labels=["a", "b"]))
    assert path.stat().st_size < 250
    err, peak = _peak(lambda: Interactions.from_json(path))
    assert type(err) is ResourceError
    assert "declares n = 1,000,000 parts but lists 2 labels" in str(err) and "check it" in str(err)
    assert peak < 2**20  # refused before anything n-sized exists


def test_from_json_refuses_terms_that_would_not_fit_before_allocating(tmp_path):
    # 3 MB of text: a million one-character labels and 200,000 empty supports would be 25 GB of bit sets
    path = tmp_path / "many.json"
    path.write_text(_doc(10**6, [[]] * 200_000, [0] * 200_000))
    err, peak = _peak(lambda: Interactions.from_json(path))
    assert type(err) is ResourceError and "200,000 terms over n = 1,000,000 parts" in str(err), err
    assert "GiB" in str(err) and "check the file" in str(err)
    assert peak < 200 * 2**20  # the parsed lists, not the bit sets
    # a Fourier term of order 40 shown as Moebius would expand into 2^40 subsets
    text = _doc(64, [list(range(40))], [1.0], basis="fourier")
    err, _ = _peak(lambda: Interactions.from_json(text))
    assert type(err) is ResourceError and f"expanded into {2**40:,} subsets" in str(err)


def test_from_json_caps_the_file_size_and_checks_the_arrays(result, tmp_path):
    path = tmp_path / "r.json"
    result.to_json(path)
    with pytest.raises(ResourceError, match=r"MiB, over the 0.0 MiB a result may be.*max_bytes"):
        Interactions.from_json(path, max_bytes=100)
    assert Interactions.from_json(path, max_bytes=10**6).as_dict() == result.as_dict()
    with pytest.raises(ValueError, match="lists 2 supports but 5 coefficients"):
        Interactions.from_json(_doc(3, [[0], [1]], [1.0] * 5))
    with pytest.raises(ValueError, match="declares n = 0 parts"):
        Interactions.from_json(_doc(0, [], []))
    with pytest.raises(ValueError, match="not JSON"):
        Interactions.from_json("{not json")
    with pytest.raises(ValueError, match="not a spectrex result"):
        Interactions.from_json("[1, 2]")


def test_predict_and_faithfulness(result):
    masks = all_masks(6)
    np.testing.assert_allclose(result.predict(masks), result.transform(masks))
    assert result.faithfulness(result.transform) == pytest.approx(1.0)
    noisy = lambda m: result.transform(m) + np.random.default_rng(0).normal(0, 1.0, len(m))  # noqa: E731
    assert result.faithfulness(noisy) < 0.9
    assert result.faithfulness((masks, result.transform(masks))) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="columns"):
        result.predict(np.ones((2, 5), bool))


def test_to_shapiq_matches_shapiq_exact(result):
    f = result.transform
    for index, k in [("SII", 2), ("k-SII", 2), ("FSII", 3)]:
        iv = result.to(index, k).to_shapiq()
        assert isinstance(iv, shapiq.InteractionValues)
        ref = shapiq.ExactComputer(n_players=6, game=lambda c: f(np.asarray(c, bool)))(index, k)
        for key, v in ref.dict_values.items():
            assert iv[key] == pytest.approx(v, abs=1e-8)
    with pytest.raises(ValueError, match="no Fourier"):
        result.to("Fourier").to_shapiq()


def test_to_shapiq_carries_the_queries_the_estimate_rests_on():
    import spectrex

    f = lambda m: m[:, :3].sum(1) + 2.0 * m[:, 3] * m[:, 4]  # noqa: E731
    sampled = spectrex.explain(f, 12, budget=300, random_state=0, progress=False).to("SV").to_shapiq()
    assert sampled.estimated and sampled.estimation_budget == 300
    exact = spectrex.explain(f, 6, progress=False).to("SV").to_shapiq()
    assert not exact.estimated and exact.estimation_budget == 2**6


def test_every_value_of_an_exact_result_has_error_zero_and_a_sampled_surrogate_value_has_none_known():
    import spectrex

    f = lambda m: m[:, :3].sum(1) + 2.0 * m[:, 3] * m[:, 4]  # noqa: E731
    exact = spectrex.explain(f, 6, progress=False)
    for index in ("Moebius", "SV", "SII", "FBII"):
        view = exact.to(index)
        assert np.all(view.std_errors == 0) and view.std_error((0, 5)) == 0.0  # (0, 5): a value of 0, not stored
    assert set(exact.to("SII").to_shapiq().std_errors.values()) == {0.0}
    again = Interactions.from_json(exact.to_json())
    assert np.all(again.to("SV").std_errors == 0)
    sampled = spectrex.explain(f, 12, budget=300, random_state=0, progress=False)
    assert np.isnan(sampled.to("Moebius").std_error((0, 5)))  # order 2 of a Möbius view: the surrogate's alone


def test_repr_names_parts(result):
    text = repr(result)
    assert "good × movie" in text and "-2" in text and "method=exact" in text


def test_labels_and_index_errors(result):
    with pytest.raises(ValueError, match="2 labels for 6 parts"):
        Interactions(result.transform, labels=["a", "b"])
    with pytest.raises(ValueError, match="unknown index"):
        result.to("LIME")


def test_explain_auto_uses_exact_and_records_metadata():
    f = planted(8, 6, 3, 1)
    res = spectrex.explain(f, 8, labels=list("abcdefgh"), random_state=3)
    assert res.metadata["method"] == "exact" and res.metadata["queries"] == 256 and res.metadata["seed"] == 3
    assert res.metadata["version"] == spectrex.__version__
    assert res.transform.allclose(f, atol=1e-9)
    assert set(res.metadata["timings"]) == {"total_s", "model_s", "algorithm_s"}


def test_every_view_names_its_index_and_reads_shapley_on_request():
    """print leads with Shapley values; top() and first_order() name the view they read or take index=."""
    f = planted(6, 6, 3, 2)
    res = spectrex.explain(f, 6, method="exact")
    text = repr(res)
    assert "read this view: Moebius" in text.splitlines()[1] and "Shapley" in text.splitlines()[1]
    assert {t.index for t in res.top(5)} == {"Moebius"}
    assert [t.value for t in res.top(3, index="SV")] == [t.value for t in res.to("SV").top(3)]
    assert {t.index for t in res.top(3, index="SV")} == {"SV"}
    np.testing.assert_allclose(res.first_order("SV"), res.to("SV").first_order())
    sv_printed = dict(res.summary(k=6).first)
    for i, label in enumerate(res.labels):
        assert res.first_order("SV")[i] == pytest.approx(sv_printed[label], abs=1e-12)


def test_lookups_and_views_refuse_what_they_cannot_read():
    f = lambda m: 2.0 * m[:, 0] + 3.0 * m[:, 1] * m[:, 2]  # noqa: E731
    r = spectrex.explain(f, 4, budget=16, labels=["not", "so", "good", "x"])
    assert r[(1, 2)] == r[[1, 2]] == pytest.approx(3.0) and r[np.int64(0)] == pytest.approx(2.0)
    # a label read as part numbers was int()'s "invalid literal"; a label's number is said
    with pytest.raises(ValueError, match=r"given by part numbers.*the part 'so' is result\[1\]"):
        r["so"]
    with pytest.raises(ValueError, match=r"the parts 'so', 'good' are result\[\(1, 2\)\]"):
        r.std_error(("so", "good"))
    for bad in (1.5, (True, 2)):  # 1.5 was "float object is not iterable"; True read as part 1
        with pytest.raises(ValueError, match="given by part numbers"):
            r[bad]
    # top(-1) gave [], top("3") and to("SII", "2") read strings as numbers, to("SV", True) passed as 1
    for call, name in ((lambda: r.top(-1), "k"), (lambda: r.top("3"), "k"), (lambda: r.top(3, order="2"), "order"),
                       (lambda: r.to("SII", "2"), "max_order"), (lambda: r.to("SV", True), "max_order")):  # fmt: skip
        with pytest.raises(ValueError, match=f"^{name} must be an integer"):
            call()


def test_membership_and_iteration(result):
    """``list(result)`` went through __getitem__(0), (1), … and ended on "part indices must lie in [0, 6)"."""
    assert (1, 2) in result and (2, 1) in result and 0 in result and (0, 1) not in result and () in result
    with pytest.raises(TypeError, match=r"not iterable: use result\.top\(k\)"):
        list(result)
    assert dict(result.as_dict()) == {(): 0.5, (0,): 1.0, (1, 2): -2.0, (0, 3, 4): 0.75, (5,): 0.1}


def test_faithfulness_refuses_what_has_no_r2():
    f = lambda m: 2.0 * m[:, 0] + 3.0 * m[:, 1] * m[:, 2]  # noqa: E731
    r = spectrex.explain(f, 4, budget=16)
    assert r.faithfulness(f, n_masks=50) == pytest.approx(1.0)
    for n_masks in (0, 1, "10", 2.5):  # 0 masks read R² = 1.0 (with numpy's warnings); "10" was range()'s TypeError
        with pytest.raises(ValueError, match="n_masks must be an integer ≥ 2"):
            r.faithfulness(f, n_masks=n_masks)
    one = np.ones((1, 4), bool)
    with pytest.raises(ValueError, match="at least 2 held-out masks, got 1"):
        r.faithfulness((one, f(one)))
    with pytest.raises(ValueError, match=r"a value function or a pair \(masks, values\)"):
        r.faithfulness((one,))  # "not enough values to unpack"
