"""A text longer than the model reads is said, with how much is dropped."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spectrex import explain_text  # noqa: E402
from spectrex.models.hf import CausalLMScorer  # noqa: E402
from spectrex.models.tiny import tiny_causal_lm  # noqa: E402


def test_a_text_longer_than_the_context_warns_with_what_is_dropped():
    model, tok = tiny_causal_lm(seed=4)
    scorer = CausalLMScorer(model, tok, target=" ab")
    n_tokens = len(tok("a b c d e f", add_special_tokens=False)["input_ids"])
    tok.model_max_length = n_tokens - 2
    assert "last 2 tokens are cut off" in scorer.context_note("a b c d e f")
    with pytest.warns(UserWarning, match=r"reads at most .*explain a shorter text"):
        explain_text("a b c d e f", scorer, method="exact", holdout=0)
    tok.model_max_length = 10**30  # "no limit" in transformers
    assert scorer.context_note("a b c d e f") is None
