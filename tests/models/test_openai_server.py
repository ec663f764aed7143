"""The OpenAI-compatible scorer computes exactly log P(target | prompt) on servers with llama.cpp and vLLM semantics."""

import time

import numpy as np
import pytest

pytest.importorskip("httpx")

from openai_mimic import MimicServer, direct_logprob, free_port, token_logprob  # noqa: E402

from spectrex import explain_text  # noqa: E402
from spectrex.engine import QueryEngine  # noqa: E402
from spectrex.errors import SpectrexError  # noqa: E402
from spectrex.models import load_model  # noqa: E402
from spectrex.models.openai import (  # noqa: E402
    OpenAICompletionsScorer,
    RetryableError,
    ServerError,
    TargetNotRankedError,
)
from spectrex.parts import split_text  # noqa: E402

TEXT = "a good and great film"
TEMPLATE = "Review: {text}\nSentiment:"
MASKS = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 1, 1], [1, 1, 1, 0, 1], [0, 0, 0, 0, 0], [0, 1, 0, 1, 0]], bool)


def _oracle(vf, target, contrast=None):
    prompts = [TEMPLATE.format(text=t) for t in vf.texts(MASKS)]
    v = np.array([direct_logprob(p, target) for p in prompts])
    return v - np.array([direct_logprob(p, contrast) for p in prompts]) if contrast else v


@pytest.mark.parametrize("flavor", ["llama", "vllm"])
@pytest.mark.parametrize(
    ("target", "contrast"), [(" positive", None), (" Paris London the", None), (" positive", " negative")]
)
def test_value_is_the_exact_log_probability(flavor, target, contrast):
    with MimicServer(flavor) as url:
        s = load_model(f"openai:{url}", target=target, contrast=contrast, template=TEMPLATE, timeout=5)
        vf = s.value_function(split_text(TEXT, "words"))
        assert s.mode == "echo" and s.served_model == "toy-7b"
        np.testing.assert_allclose(vf(MASKS), _oracle(vf, target, contrast), rtol=0, atol=1e-12)
    s.close()


def test_requests_never_ask_for_unlimited_tokens_and_send_integer_logprobs():
    srv = MimicServer("llama")
    with srv as url:
        s = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=5)
        s.value_function(split_text(TEXT, "words"))(MASKS)
    sent = [r for r in srv.requests if "prompt" in r]
    assert sent and all(r["max_tokens"] >= 1 for r in sent)
    assert all(isinstance(r.get("logprobs"), int) and not isinstance(r["logprobs"], bool) for r in sent)


def test_without_echo_the_value_is_the_exact_alternative_never_a_prefix():
    with MimicServer("noecho") as url:
        s = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=5)
        vf = s.value_function(split_text(TEXT, "words"))
        assert s.mode == "next"
        prompts = [TEMPLATE.format(text=t) for t in vf.texts(MASKS)]
        want = [token_logprob(p, " positive") for p in prompts]
        np.testing.assert_allclose(vf(MASKS), want, atol=1e-12)  # not log P(" ") = -0.2, a prefix of the target
        multi = OpenAICompletionsScorer(url, target=" positive review", template=TEMPLATE, timeout=5)
        with pytest.raises(TargetNotRankedError, match="not one of the server's top .* floor would not be an answer"):
            multi.score(["good"])
        few = OpenAICompletionsScorer(url, target=" London", template=TEMPLATE, top_logprobs=2, timeout=5)
        with pytest.raises(TargetNotRankedError, match="top 2"):
            few.score(["good great"])


def test_echo_required_but_unsupported_is_refused_with_the_reason():
    with MimicServer("noecho") as url:
        s = OpenAICompletionsScorer(url, target=" positive", echo=True, timeout=5)
        with pytest.raises(ServerError, match="cannot score a given target exactly.*does not echo.*--no-echo"):
            s.probe()


def test_a_target_merging_with_the_prompt_is_refused():
    with MimicServer("llama") as url:
        s = OpenAICompletionsScorer(url, target="y", template="{text} x", timeout=5)  # "x" + "y" is one token "xy"
        with pytest.raises(ServerError, match="into one token"):
            s.score(["good"])


def test_explanation_finds_the_pair():
    with MimicServer("vllm") as url:
        s = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=5)
        r = explain_text(TEXT, s, method="exact", holdout=16)
    assert r[(1, 3)] == pytest.approx(3.0, abs=1e-9) and r[(1,)] == pytest.approx(1.0 - 0.01, abs=1e-9)
    assert "faithfulness" not in r.metadata  # exact: every mask queried, nothing held out


def test_target_generated_from_the_full_prompt():
    with MimicServer("llama") as url:
        s = OpenAICompletionsScorer(url, template=TEMPLATE, max_new_tokens=3, timeout=5)
        s.value_function(split_text(TEXT, "words"))
    assert s.target == " the the the"


def test_api_key_is_sent_but_never_kept(monkeypatch):
    monkeypatch.setenv("SPECTREX_TEST_KEY", "sk-secret")
    srv = MimicServer("llama")
    seen = []
    with srv as url:
        s = OpenAICompletionsScorer(url, target=" positive", api_key_env="SPECTREX_TEST_KEY", timeout=5)
        orig = s.client._headers
        s.client._headers = lambda: (seen.append(orig()), orig())[1]
        vf = s.value_function(split_text(TEXT, "words"))
    assert seen and all(h == {"Authorization": "Bearer sk-secret"} for h in seen)
    assert (
        "sk-secret" not in repr(vars(s))
        and "sk-secret" not in repr(vars(s.client))
        and "sk-secret" not in vf.fingerprint
    )


def test_model_name_is_checked_against_the_server():
    with MimicServer("llama", model_name="toy-7b") as url:
        with pytest.raises(ServerError, match=r"serves toy-7b, not 'other'.*#toy-7b"):
            load_model(f"openai:{url}#other", target=" x", timeout=5).probe()
        s = load_model(f"openai:{url}#toy-7b", target=" x", timeout=5)
        s.probe()
        assert s.served_model == "toy-7b"


def test_dead_server_ends_with_a_clear_error_within_the_deadline():
    s = OpenAICompletionsScorer(f"http://127.0.0.1:{free_port()}", target=" x", timeout=1, deadline=2)
    t0 = time.monotonic()
    with pytest.raises(
        RetryableError, match=r"cannot reach it, connection failed .* attempt\(s\) over .*deadline 2 s.*running"
    ):
        s.probe()
    assert time.monotonic() - t0 < 2 + 1.5  # the deadline (plus one attempt's timeout at most)


def test_nothing_already_queried_is_lost_when_the_server_fails(tmp_path):
    srv = MimicServer("llama")
    cache = tmp_path / "answers.sqlite"
    with srv as url:
        s = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=2, deadline=1.5)

        def fail_later(masks, _orig=s.score):
            if srv.completion_requests() > 20:
                srv.down = True
            return _orig(masks)

        s.score = fail_later
        with pytest.raises(SpectrexError, match="stored in the cache"):
            explain_text(TEXT, s, method="exact", holdout=0, engine=QueryEngine(batch_size=4, cache=cache))
        srv.down = False
        s.score = OpenAICompletionsScorer.score.__get__(s)
        before = srv.completion_requests()
        engine = QueryEngine(batch_size=4, cache=cache)
        r = explain_text(TEXT, s, method="exact", holdout=0, engine=engine)
        resent = srv.completion_requests() - before
    stored = r.metadata["queries_cached"]
    assert stored >= 16 and resent == 1 + 32 - stored  # the full-text check + only what was not stored
    assert r[(1, 3)] == pytest.approx(3.0, abs=1e-9)


def test_an_empty_prompt_is_refused_with_the_remedy():
    with MimicServer("llama") as url:
        s = OpenAICompletionsScorer(url, target=" positive", timeout=5)  # template "{text}": nothing left
        with pytest.raises(ServerError, match="prompt is empty.*--template"):
            s.score([""])


def test_trailing_space_of_a_cut_text_does_not_merge_with_the_target():
    with MimicServer("llama") as url:
        s = OpenAICompletionsScorer(url, target=" positive", timeout=5)
        assert s.score(["a good "])[0] == pytest.approx(direct_logprob("a good", " positive"), abs=1e-12)
