"""Cache identity: any changed setting of any scorer (or model behind it) reuses 0 answers; the same reuse all."""

import copy

import numpy as np
import pytest

pytest.importorskip("httpx")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from openai_mimic import MimicServer  # noqa: E402

from spectrex.engine import QueryEngine  # noqa: E402
from spectrex.models import load_model  # noqa: E402
from spectrex.models.hf import CausalLMScorer, ClassifierScorer  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer  # noqa: E402
from spectrex.models.tiny import tiny_causal_lm, tiny_classifier  # noqa: E402
from spectrex.parts import split_text  # noqa: E402

TEXT = "a good and great film"
MASKS = np.random.default_rng(0).random((12, 5)) < 0.6


def _run(scorer, cache):
    """(answers sent to the model, answers served from the cache) for MASKS through a fresh engine."""
    vf = scorer.value_function(split_text(TEXT, "words"))
    with QueryEngine(cache=cache) as engine:
        q = engine.bind(vf, 5)
        q(MASKS)
        return q.stats.sent, q.stats.cached_disk


def _check(make, variants, tmp_path):
    """``make(**kw)`` builds a scorer: the base run stores everything; each variant reuses nothing."""
    unique = len({r.tobytes() for r in MASKS})
    cache = tmp_path / "identity.sqlite"
    assert _run(make(), cache) == (unique, 0)
    assert _run(make(), cache) == (0, unique)  # the same settings: every answer reused
    for name, kw in variants.items():
        assert _run(make(**kw), cache)[1] == 0, f"changing {name} reused cached answers"


def test_openai_every_setting_and_the_served_model(tmp_path):
    srv = MimicServer("llama")
    with srv as url, MimicServer("llama") as other_url:
        base = {"target": " positive", "template": "Review: {text}\nSentiment:", "timeout": 5}

        def make(**kw):
            return OpenAICompletionsScorer(kw.pop("url", url), **{**base, **kw})

        variants = {
            "target": {"target": " negative"},
            "contrast": {"contrast": " negative"},
            "template": {"template": "Text: {text}\nSentiment:"},
            "echo (mode)": {"echo": False},
            "max_new_tokens": {"max_new_tokens": 5},
            "model name in the request": {"model": "toy-7b"},
            "url": {"url": other_url},
        }
        _check(make, variants, tmp_path)
        # the next-token mode's alternatives count changes its answers too
        (tmp_path / "next").mkdir()
        _check(lambda **kw: make(echo=False, **kw), {"top_logprobs": {"top_logprobs": 9}}, tmp_path / "next")
        # another model behind the same URL
        srv.model_name = "toy-13b"
        assert _run(make(), tmp_path / "identity.sqlite")[1] == 0


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm(seed=1)


def test_causal_lm_every_setting_dtype_and_weights(lm, tmp_path):
    model, tok = lm

    def make(model=model, **kw):
        return CausalLMScorer(model, tok, **{"target": " ab", "model_id": "tiny", **kw})

    other_weights = copy.deepcopy(model)
    with torch.no_grad():
        next(other_weights.parameters()).add_(0.01)
    variants = {
        "target": {"target": " ba"},
        "contrast": {"contrast": " ba"},
        "template": {"template": "Q: {text}"},
        "max_new_tokens": {"max_new_tokens": 3},
        "model id": {"model_id": "tiny-2"},
        "weights id": {"weights_id": "sha-other"},
        "dtype": {"model": copy.deepcopy(model).to(torch.float64)},
    }
    _check(make, variants, tmp_path)
    identity = make().identity()["model"]
    assert identity["device"] == "cpu" and identity["dtype"] == "torch.float32"


def test_classifier_every_setting(tmp_path):
    model, tok = tiny_classifier(seed=2, num_labels=3)

    def make(**kw):
        return ClassifierScorer(model, tok, **{"target": 0, "model_id": "tiny-cls", **kw})

    variants = {"target": {"target": 1}, "output": {"output": "probability"}, "max_length": {"max_length": 3}}
    _check(make, variants, tmp_path)


def test_a_re_saved_hf_folder_is_another_model(lm, tmp_path):
    model, tok = lm
    folder = tmp_path / "my-model"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    cache = tmp_path / "hf.sqlite"
    unique = len({r.tobytes() for r in MASKS})
    assert _run(load_model(f"hf:{folder}", target=" ab", device="cpu"), cache) == (unique, 0)
    assert _run(load_model(f"hf:{folder}", target=" ab", device="cpu"), cache) == (0, unique)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for p in changed.parameters():
            p.mul_(1.5)
    changed.save_pretrained(folder)  # same path, new weights
    assert _run(load_model(f"hf:{folder}", target=" ab", device="cpu"), cache)[1] == 0
