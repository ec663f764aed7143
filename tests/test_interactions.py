import json

import numpy as np
import pytest
import shapiq

import oracles
import spectrex
from spectrex import Interactions, SparseTransform
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
