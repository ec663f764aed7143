"""Per-token explanations of a served model: every target token from the same echo requests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("httpx")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from openai_mimic import MimicServer, token_logprob, tokenize  # noqa: E402

import spectrex  # noqa: E402
from spectrex import Explanations, explain_text  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer  # noqa: E402
from spectrex.parts import split_text  # noqa: E402

TEXT = "a good and great film"
TEMPLATE = "Review: {text}\nSentiment:"
TARGET = " Paris London the"


def _token_oracle(prompt: str, j: int) -> float:
    """log P(target token j | prompt, earlier target tokens) of the toy LM, computed directly."""
    full = prompt + TARGET
    toks = [(o, t) for o, t in tokenize(full) if o >= len(prompt)]
    o, t = toks[j]
    return token_logprob(full[:o], t)


@pytest.mark.parametrize("flavor", ["llama", "vllm"])
def test_each_token_equals_its_single_output_run_and_costs_no_extra_request(flavor):
    with MimicServer(flavor) as url:
        per = OpenAICompletionsScorer(url, target=TARGET, template=TEMPLATE, timeout=5, per_token=True)
        vf = per.value_function(split_text(TEXT, "words"))
        assert vf.outputs == [" Paris", " London", " the"] and vf.total == "sequence"
        result = spectrex.explain(vf, method="exact")
        assert isinstance(result, Explanations) and len(result) == 3
        masks = np.array(np.meshgrid(*[[0, 1]] * 5)).reshape(5, -1).T.astype(bool)
        for j in range(3):
            oracle = spectrex.explain(
                lambda m, j=j: np.array([_token_oracle(TEMPLATE.format(text=t).rstrip(), j) for t in vf.texts(m)]),
                n=5,
                method="exact",
            )
            np.testing.assert_allclose(result[j].predict(masks), oracle.predict(masks), atol=1e-9)
            np.testing.assert_allclose(result[j].transform.coefs, oracle.transform.coefs, atol=1e-9)
        seq = OpenAICompletionsScorer(url, target=TARGET, template=TEMPLATE, timeout=5)
        today = spectrex.explain(seq.value_function(split_text(TEXT, "words")), method="exact")
        np.testing.assert_allclose(result.total.predict(masks), today.predict(masks), atol=1e-9)
    per.close()
    seq.close()


def test_per_token_sends_one_request_per_mask_like_one_output():
    counts = []
    for per_token in (True, False):
        server = MimicServer("vllm")
        with server as url:
            s = OpenAICompletionsScorer(url, target=TARGET, template=TEMPLATE, timeout=5, per_token=per_token)
            explain_text(TEXT, s, method="exact", holdout=0)
            s.close()
        counts.append(sum(1 for r in server.requests if r.get("echo")))
    # the 32 masks and the probes, whatever the outputs (per-token keeps the full text's answer from its probe)
    assert counts[0] <= counts[1] and counts[0] >= 32


def test_per_token_without_echo_is_refused_with_the_reason():
    with MimicServer("noecho") as url:
        s = OpenAICompletionsScorer(url, target=TARGET, template=TEMPLATE, timeout=5, per_token=True)
        with pytest.raises(spectrex.SpectrexError, match="echo"):
            s.value_function(split_text(TEXT, "words"))
        s.close()
