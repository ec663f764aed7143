"""Served models, trust round two: stale identities, a dead server, credentials in the URL, broken numbers.

Each test fails on 0.2's code: a server with no model id served a different model the previous
model's cached answers; a server dying mid-run took over 20 minutes to stop the run; URL credentials
reached the result, the report and messages; ``Retry-After`` was cut to 10 s; a NaN log-probability
was blamed on an empty prompt and a positive one accepted.
"""

import json
import time

import numpy as np
import pytest

pytest.importorskip("httpx")

from openai_mimic import MimicServer, free_port, token_logprob, tokenize  # noqa: E402

from spectrex import explain_text  # noqa: E402
from spectrex.engine import QueryEngine  # noqa: E402
from spectrex.errors import ServerDownError, SpectrexError  # noqa: E402
from spectrex.models._http import JSONClient, RequestPolicy, ServerError  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer  # noqa: E402
from spectrex.parts import split_text  # noqa: E402
from spectrex.redact import redact_text, redact_url, secret_tag  # noqa: E402

TEXT = "a good and great film today not bad"
TEMPLATE = "Review: {text}\nSentiment:"


def _scorer(url, **kw):
    return OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, **kw)


def test_a_server_naming_no_model_never_serves_another_models_cached_answers(tmp_path):
    """Item 1: no /v1/models, no `model` field; a different model behind the same URL is asked again."""
    port, cache = free_port(), tmp_path / "cache.sqlite"
    full = TEMPLATE.format(text=TEXT)
    values, coefs = {}, {}
    for lift in (1.0, 0.5):  # two "models": the word effects differ
        with MimicServer("llama", anonymous=True, lift=lift, port=port) as url:
            scorer = _scorer(url)
            try:
                result = explain_text(TEXT, scorer, engine=QueryEngine(cache=cache))
            finally:
                scorer.close()
            assert scorer.served_model is None and scorer.probe_print is not None
            values[lift] = result.metadata["full_value"]
            # every mask asked of this model: none of the other model's cached answers reused
            assert result.metadata["queries"] == 2**8 and result.metadata["queries_cached"] == 0
            coefs[lift] = result.transform.coefs
    assert not np.allclose(coefs[1.0], coefs[0.5])
    full_value_2 = sum(token_logprob(full[:o], t, 0.5) for o, t in tokenize(full + " positive") if o >= len(full))
    assert values[0.5] == pytest.approx(full_value_2)
    # the same anonymous model again: every answer comes from the cache
    with MimicServer("llama", anonymous=True, lift=0.5, port=port) as url:
        scorer = _scorer(url)
        try:
            vf = scorer.value_function(split_text(TEXT, "words"))
            with QueryEngine(cache=cache) as engine:
                q = engine.bind(vf, vf.n)
                q(np.ones((1, vf.n), dtype=bool))
                assert q.stats.sent == 0 and q.stats.cached_disk == 1
        finally:
            scorer.close()


def test_a_server_dying_after_its_50th_answer_stops_the_run_within_90_s_with_the_stored_count(tmp_path):
    """Item 3: default settings; the error names the server, the answers stored, and the rerun resumes."""
    cache, port = tmp_path / "cache.sqlite", free_port()
    srv = MimicServer("llama", die_after=50, port=port)
    with srv as url:
        scorer = _scorer(url)
        t0 = time.monotonic()
        with pytest.raises(ServerDownError) as info:
            explain_text(TEXT, scorer, engine=QueryEngine(cache=cache))
        took = time.monotonic() - t0
        scorer.close()
    message = str(info.value)
    assert took <= 90, f"{took:.1f} s to stop"
    assert "stopped answering" in message and url in message and "rerun to resume" in message
    stored = int(message.split(" answers are stored")[0].rsplit(" ", 1)[-1].replace(",", ""))
    assert 40 <= stored <= 50  # the probe took one answer; every mask answered before the death is kept
    # the rerun against the server, back at the same URL, asks only for the masks not stored
    with MimicServer("llama", port=port) as url:
        scorer = _scorer(url)
        result = explain_text(TEXT, scorer, engine=QueryEngine(cache=cache))
        scorer.close()
    assert result.metadata["queries_cached"] >= stored
    assert result.metadata["queries"] == 2**8 - stored  # exact at n = 8: every mask once


def test_the_breaker_counts_failures_across_requests_and_opens_after_its_window():
    """Item 3: a dead port: requests fail fast with ServerDownError once the streak spans breaker_seconds."""
    policy = RequestPolicy(timeout=2, max_retries=50, base_delay=0.01, max_delay=0.05, deadline=60,
                           breaker_failures=3, breaker_seconds=0.5)  # fmt: skip
    client = JSONClient(f"http://127.0.0.1:{free_port()}", policy)
    t0 = time.monotonic()
    with pytest.raises(ServerDownError, match="stopped answering"):
        client.request("POST", "/v1/completions", {"prompt": "x"})
    assert 0.5 <= time.monotonic() - t0 < 10
    attempts = client.attempts
    with pytest.raises(ServerDownError):  # open: the next request does not even try
        client.request("POST", "/v1/completions", {"prompt": "x"})
    assert client.attempts == attempts


def test_a_hung_server_stops_the_run_by_the_breaker():
    """Item 3: a server that stops answering (no error, no answer) after 5 answers, with short timeouts."""
    with MimicServer("llama", hang_after=5) as url:
        scorer = _scorer(url, timeout=0.5)
        scorer.client.policy = scorer.policy = RequestPolicy(timeout=0.5, breaker_seconds=2)
        t0 = time.monotonic()
        with pytest.raises(ServerDownError, match="stopped answering"):
            explain_text(TEXT, scorer)
        assert time.monotonic() - t0 < 30
        scorer.close()


def test_retry_after_is_honoured_whole_and_one_past_the_deadline_fails_at_once():
    """Item 10: Retry-After 25 s waits 25 s (not 10); one past the deadline fails now, saying so."""
    assert RequestPolicy().delay(0, 25.0) >= 25.0
    assert RequestPolicy().delay(3, 120.0) >= 120.0
    srv = MimicServer("llama", fault_rate=1.0, kinds=("429",))
    with srv as url:
        client = JSONClient(url, RequestPolicy(deadline=0.5))
        t0 = time.monotonic()
        with pytest.raises(SpectrexError, match="asked to wait 1 s, past the deadline"):
            client.request("POST", "/v1/completions", {"prompt": "x"})
        assert time.monotonic() - t0 < 0.5


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 5.0])
@pytest.mark.parametrize("echo", [True, False])
def test_a_nan_or_positive_log_probability_is_refused_as_broken_numbers(bad, echo):
    """Item 10: NaN, inf or +5 as a log-probability: the server's numbers are broken (not "an empty prompt")."""
    with MimicServer("llama", logprob_override=lambda prefix: bad) as url:
        scorer = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, echo=echo)
        with pytest.raises(ServerError, match="finite number ≤ 0.*broken") as info:
            scorer.logprob("Review: good\nSentiment:", " positive")
        assert "empty prompt" not in str(info.value)
        scorer.close()


def test_url_credentials_are_sent_but_never_shown_or_stored(tmp_path):
    """Item 5: user:pass@ and ?key= reach the server, never the result, the report, the cache or a message."""
    from spectrex.report import render_report

    srv = MimicServer("llama")
    with srv as url:
        secret_url = url.replace("http://", "http://alice:s3cretpw@") + "/v1?api_key=k3ytoken&mode=fast"
        scorer = _scorer(secret_url)
        cache = tmp_path / "cache.sqlite"
        result = explain_text("a good film", scorer, engine=QueryEngine(cache=cache))
        scorer.close()
    path, auth = srv.seen[-1]
    assert "api_key=k3ytoken" in path and "mode=fast" in path and auth and auth.startswith("Basic ")
    shown = [result.to_json(), render_report(result), scorer.model_id, json.dumps(scorer.model_identity())]
    shown.append(cache.read_bytes().decode("latin-1"))
    for text in shown:
        assert "s3cretpw" not in text and "k3ytoken" not in text and "alice" not in text
    assert "***" in scorer.model_id and "mode=fast" in scorer.model_id
    # a keyed hash tells credentials apart without holding them
    other = secret_url.replace("s3cretpw", "other")
    assert secret_tag(secret_url) != secret_tag(other) and "s3cretpw" not in secret_tag(secret_url)
    # messages: the server refusing, and nothing listening
    dead = f"http://bob:hunter22@127.0.0.1:{free_port()}/?token=tok999"
    with pytest.raises(SpectrexError) as info:
        _scorer(dead, deadline=1).probe()
    assert "hunter22" not in str(info.value) and "tok999" not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://u:p@h:1/x?key=SECRET&a=1",
        "https://user@host/v1?access_token=SECRET",
        "http://h/?apiKey=SECRET&sig=SECRET",
        "see http://u:p@h:1/x and https://h2/?token=SECRET.",
    ],
)
def test_redaction_hides_every_credential_form(url):
    shown = redact_text(url)
    assert "SECRET" not in shown and ":p@" not in shown and "u:" not in shown and "user@" not in shown
    assert redact_url("http://h:1/v1?a=1") == "http://h:1/v1?a=1"


def test_the_cli_never_prints_url_credentials(tmp_path, capsys):
    """Item 5: the CLI's header, error line and --json file hold no credential."""
    from spectrex.cli import main

    with MimicServer("llama") as url:
        secret = url.replace("http://", "http://carol:pa55word@") + "?key=zz9key"
        out = tmp_path / "r.json"
        argv = ["explain", "a good film", "--model", f"openai:{secret}", "--target", " positive", "--json", str(out)]
        argv += ["--template", "Review: {text}"]
        rc = main(argv + ["--cache", str(tmp_path / "c.sqlite")])
    text = "".join(capsys.readouterr()) + out.read_text()
    assert rc == 0, text
    assert "pa55word" not in text and "zz9key" not in text and "carol" not in text
    dead = f"openai:http://carol:pa55word@127.0.0.1:{free_port()}?key=zz9key"
    rc = main(["explain", "a good film", "--model", dead, "--target", " positive", "--timeout", "1"])
    text = "".join(capsys.readouterr())
    assert rc != 0 and "error:" in text
    assert "pa55word" not in text and "zz9key" not in text
