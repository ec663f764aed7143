"""Per-token explanations of a causal LM and every label of a classifier, from one set of forward passes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import spectrex  # noqa: E402
from spectrex import Explanations, QueryEngine, explain_text  # noqa: E402
from spectrex.models import load_model, make_parts  # noqa: E402
from spectrex.models.base import TextValueFunction  # noqa: E402
from spectrex.models.hf import CausalLMScorer  # noqa: E402
from spectrex.models.tiny import tiny_causal_lm  # noqa: E402

TEXT = "the movie was great and the acting was wonderful but the plot"
TARGET = " was dull and the ending"


class Passes:
    """Counts the model's forward passes."""

    def __init__(self, model):
        self.count = 0
        self.handle = model.register_forward_hook(self._hook)

    def _hook(self, *args):
        self.count += 1


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm(seed=3)


def _scorer(lm, **kw):
    model, tok = lm
    return CausalLMScorer(model, tok, target=TARGET, template="Review: {text}\nNext:", model_id="tiny", **kw)


def test_each_token_equals_its_own_single_output_run(lm):
    tp = make_parts(TEXT)
    per = TextValueFunction(_scorer(lm, per_token=True), tp)
    ids = lm[1](TARGET, add_special_tokens=False)["input_ids"]
    assert per.outputs == [lm[1].decode([i]) for i in ids] and len(ids) >= 4 and per.total == "sequence"
    # a fixed batch size: the same masks share each forward pass in every run, so the same padding
    # and the same float32 round-off ("auto" sizes batches by how long they take)
    run = dict(method="proxyspex", budget=300, random_state=0, engine=QueryEngine(batch_size=64))
    result = spectrex.explain(per, **run)
    assert isinstance(result, Explanations) and len(result) == len(ids)
    for j in range(len(ids)):
        single = spectrex.explain(lambda m, j=j: per(m)[:, j], n=tp.n, **run)
        assert np.array_equal(result[j].transform.supports, single.transform.supports)
        np.testing.assert_allclose(result[j].transform.coefs, single.transform.coefs, rtol=0, atol=1e-9)
    # the whole sequence: today's one-output scorer, explained alone, gives the same explanation
    today = spectrex.explain(TextValueFunction(_scorer(lm), tp), **run)
    assert np.array_equal(result.total.transform.supports, today.transform.supports)
    np.testing.assert_allclose(result.total.transform.coefs, today.transform.coefs, rtol=0, atol=1e-9)


def test_each_token_matches_an_independent_oracle_exactly(lm):
    """Exact Möbius coefficients of token j's log-probability against log P(first j+1) − log P(first j),
    each computed by the one-output path (other sequence lengths, so float32 round-off differs a little)."""
    tp = make_parts("the movie was great but the plot was")
    per = TextValueFunction(_scorer(lm, per_token=True), tp)
    seq = TextValueFunction(_scorer(lm), tp)
    ids = lm[1](TARGET, add_special_tokens=False)["input_ids"]
    result = spectrex.explain(per, method="exact")
    plain = _scorer(lm)
    for j in range(len(ids)):

        def token_j(masks, j=j):
            texts = seq.texts(masks)
            upto = plain._score_batches(texts, ids[: j + 1], None)
            return upto - (plain._score_batches(texts, ids[:j], None) if j else 0.0)

        single = spectrex.explain(token_j, n=tp.n, method="exact")
        np.testing.assert_allclose(
            result[j].predict(np.eye(tp.n, dtype=bool)), single.predict(np.eye(tp.n, dtype=bool)), atol=1e-4
        )
        np.testing.assert_allclose(result[j].to("SV").first_order(), single.to("SV").first_order(), atol=1e-5)


def test_per_token_costs_the_forward_passes_of_one_output(lm):
    tp = make_parts(TEXT)
    counts = []
    for per_token in (True, False):
        vf = TextValueFunction(_scorer(lm, per_token=per_token), tp)
        passes = Passes(lm[0])
        try:
            # a fixed batch size: "auto" sizes batches by how long they take, so passes would vary with the load
            spectrex.explain(vf, method="proxyspex", budget=200, random_state=1, engine=QueryEngine(batch_size=32))
        finally:
            passes.handle.remove()
        counts.append(passes.count)
    assert counts[0] == counts[1] > 0


def test_explain_text_per_token_adds_each_outputs_holdout(lm):
    result = explain_text(TEXT, _scorer(lm, per_token=True), budget=200, holdout=16)
    assert isinstance(result, Explanations)
    for each in result.all():
        assert np.isfinite(each.metadata["faithfulness"]) and each.metadata["holdout_queries"] == 16
        assert each.metadata["target"] == TARGET
    full = sum(each.metadata["full_value"] for each in result)
    assert full == pytest.approx(result.total.metadata["full_value"], abs=1e-5)


def test_per_token_with_a_contrast_is_refused(lm):
    with pytest.raises(ValueError, match="per_token"):
        _scorer(lm, per_token=True, contrast=" no")


def test_toxicity_six_labels_each_equal_their_single_label_run():
    pytest.importorskip("h5py")
    text = "you are a wonderful idiot and I hate your stupid face"
    # a fixed batch size: the LSTM's float round-off depends on which texts share a batch ("auto" sizes
    # batches by how long they take)
    run = dict(method="proxyspex", budget=400, holdout=0)
    multi = explain_text(text, load_model("toxicity", all_labels=True), engine=QueryEngine(batch_size=128), **run)
    from spectrex.models.toxicity import LABELS

    assert isinstance(multi, Explanations) and multi.names == list(LABELS) and multi.total is None
    for label in LABELS:
        single = explain_text(text, load_model("toxicity", target=label), engine=QueryEngine(batch_size=128), **run)
        assert np.array_equal(multi[label].transform.supports, single.transform.supports)
        np.testing.assert_allclose(multi[label].transform.coefs, single.transform.coefs, rtol=0, atol=1e-9)


def test_shared_prefix_cache_gives_the_plain_paths_log_probabilities(lm):
    """A long fixed prefix (few-shot examples) is run once; every score equals the whole-prompt pass's."""
    model, tok = lm
    few = "the quick brown fox jumps over the lazy dog. " * 6 + "Review: {text}\nNext:"
    texts = make_parts(TEXT).render_many(np.eye(12, dtype=bool) | np.eye(12, k=3, dtype=bool), "remove")
    scores = {}
    for flag in (True, False):
        scorer = CausalLMScorer(model, tok, target=TARGET, template=few, per_token=True, prefix_cache=flag)
        calls = []
        hook = model.register_forward_pre_hook(
            lambda mod, args, kw, calls=calls: calls.append(kw["input_ids"].shape), with_kwargs=True
        )
        try:
            scores[flag] = scorer.score(texts)
        finally:
            hook.remove()
        if flag:  # the prefix once (one row), then the batch without it
            assert calls[0][0] == 1 and calls[1][1] < len(scorer.prompt_ids("")) < calls[0][1] + 8
    np.testing.assert_allclose(scores[True], scores[False], rtol=0, atol=2e-5)
