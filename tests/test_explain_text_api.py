"""explain_text takes the calls people write first: model settings by keyword, progress=, a plain function."""

import numpy as np
import pytest

from spectrex import explain_text
from spectrex.models import SENTIMENT

WORDS = {"great": 2.0, "dull": -1.5, "not": -0.5}


def my_model(texts):  # one's own text model: list[str] -> floats
    out = []
    for t in texts:
        words = t.lower().replace(",", " ").split()
        score = sum(WORDS.get(w, 0.0) for w in words)
        out.append(score + (1.0 if "great" in words and "acting" in words else 0.0))
    return out


def test_a_plain_function_is_a_model():
    result = explain_text("great acting, dull plot", my_model, progress=False)
    sv = dict(zip((label.strip(" ,") for label in result.labels), result.to("SV").first_order()))
    # exact (4 words): the pair great×acting splits its +1 between the two
    assert sv["great"] == pytest.approx(2.5)
    assert sv["acting"] == pytest.approx(0.5)
    assert sv["dull"] == pytest.approx(-1.5)
    assert result.metadata["model"].endswith("my_model")
    assert result.metadata["full_value"] == pytest.approx(1.5)


def test_a_function_sees_the_filled_template():
    seen = []

    def f(texts):
        seen.extend(texts)
        return [float(len(t)) for t in texts]

    explain_text("a b c", f, template="Review: {text}\nSentiment:", progress=False)
    assert seen and all(t.startswith("Review: ") and t.endswith("\nSentiment:") for t in seen)


def test_a_function_that_returns_no_numbers_is_told_what_to_return():
    with pytest.raises(ValueError, match="returned str .*return one float per text"):
        explain_text("a b c", lambda texts: "x", progress=False)


def test_target_and_contrast_are_refused_for_a_function():
    with pytest.raises(ValueError, match="your function decides"):
        explain_text("a b c", my_model, target=" positive")


def test_model_settings_by_keyword_reach_the_model():
    result = explain_text("good movie , bad end", "tiny-causal-lm", progress=False, holdout=0, **SENTIMENT)
    meta = result.metadata
    assert (meta["target"], meta["contrast"], meta["template"]) == (
        SENTIMENT["target"],
        SENTIMENT["contrast"],
        SENTIMENT["template"],
    )
    assert "positive" in result.summary().quantity and "negative" in result.summary().quantity


def test_a_built_scorer_takes_what_it_scores_on_a_copy_and_refuses_the_rest():
    from spectrex.models import load_model

    lm = load_model("tiny-causal-lm", target=" ab")
    result = explain_text("good movie , bad end", lm, progress=False, holdout=0, **SENTIMENT)
    by_name = explain_text("good movie , bad end", "tiny-causal-lm", progress=False, holdout=0, **SENTIMENT)
    np.testing.assert_allclose(result.values, by_name.values)  # the same model, scoring the same thing
    assert result.metadata["target"] == SENTIMENT["target"] and lm.target == " ab"  # the scorer given is unchanged
    with pytest.raises(ValueError, match="device is a setting of how a model is loaded"):
        explain_text("good movie", lm, device="cpu")
    tox = load_model("toxicity")
    with pytest.raises(ValueError, match="takes no 'contrast'"):
        explain_text("you idiot", tox, contrast=" no")


def test_progress_false_without_an_engine(capsys):
    calls = []
    result = explain_text("you are a wonderful idiot", "toxicity", progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]
    result = explain_text("you are a wonderful idiot", "toxicity", progress=False)
    assert np.isfinite(result.metadata["full_value"])
    assert "queries" not in capsys.readouterr().err


def batch_dependent(texts):
    """A model whose float sums depend on the batch, as real ones do (the BiLSTM's last bits change with it)."""
    return [len(t) / 7 + 1e-13 * len(texts) for t in texts]


def test_the_full_inputs_value_is_the_same_number_on_a_rerun_from_the_cache(tmp_path):
    from spectrex import QueryEngine

    path, text = tmp_path / "answers.sqlite", "one two three four five"
    runs = []
    for _ in range(2):
        engine = QueryEngine(cache=path, batch_size=8, progress=False)
        runs.append(explain_text(text, batch_dependent, method="exact", holdout=0, engine=engine))
    first, again = runs
    assert again.metadata["queries"] == 0  # every mask's answer from the cache
    # the full input scored alone each time: not the all-parts mask's answer from inside a cached batch
    assert again.metadata["full_value"] == first.metadata["full_value"] == len(text) / 7 + 1e-13
