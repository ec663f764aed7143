"""The OpenAI-compatible scorer against a tiny /v1/completions server started on 127.0.0.1 by the test."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("httpx")

from spectrex.models import load_model  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer, RetryableError, ServerError  # noqa: E402
from spectrex.parts import split_text  # noqa: E402


def toy_logprob(prompt: str) -> float:
    """The fake model's log P(target | prompt): the words 'good' and 'great' together help a lot."""
    words = set(prompt.split())
    return -5.0 + 1.0 * ("good" in words) + 3.0 * ("good" in words and "great" in words)


class Handler(BaseHTTPRequestHandler):
    mode = "ok"
    seen: list = []
    fail_after: int | None = None  # answer 503 once this many prompts were scored

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.seen.append({"auth": self.headers.get("Authorization"), **body})
        if self.path != "/v1/completions":
            return self._send(404, {"error": "not found"})
        if Handler.mode == "busy":
            return self._send(503, {"error": "overloaded"})
        if Handler.fail_after is not None and sum(1 for r in Handler.seen if r.get("echo")) > Handler.fail_after:
            return self._send(503, {"error": "went down"})
        prompt = body["prompt"]
        if Handler.mode == "nologprobs" or not body.get("logprobs") and body.get("logprobs") != 0:
            return self._send(200, {"choices": [{"text": " ok", "logprobs": None}]})
        if body.get("echo"):
            # prompt = text + " TARGET": two tokens for the target (" TAR", "GET") after the text
            cut = prompt.rindex(" TARGET")
            text = prompt[:cut]
            v = toy_logprob(text)
            lp = {
                "tokens": [text, " TAR", "GET"],
                "text_offset": [0, cut, cut + 4],
                "token_logprobs": [None, v - 0.5, 0.5],
            }
        else:
            lp = {"tokens": [" T"], "top_logprobs": [{" T": toy_logprob(prompt), " X": -0.1}]}
        self._send(200, {"choices": [{"text": " TARGET", "logprobs": lp}]})

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    Handler.mode, Handler.seen, Handler.fail_after = "ok", [], None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEXT = "a good and great film"


@pytest.mark.parametrize("echo", [True, False])
def test_scores_follow_the_server(server, echo, monkeypatch):
    monkeypatch.setenv("SPECTREX_TEST_KEY", "sk-secret")
    s = load_model(f"openai:{server}", target=" TARGET", echo=echo, api_key_env="SPECTREX_TEST_KEY", timeout=5)
    parts = split_text(TEXT, "words")
    vf = s.value_function(parts)
    masks = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 1, 1], [1, 1, 1, 0, 1], [0, 0, 0, 0, 0]], bool)
    np.testing.assert_allclose(vf(masks), [-1.0, -5.0, -4.0, -5.0])
    assert all(r["auth"] == "Bearer sk-secret" for r in Handler.seen)
    assert "sk-secret" not in repr(vars(s)) and "sk-secret" not in vf.fingerprint


def test_explanation_finds_the_pair(server):
    from spectrex.models import explain_text

    s = OpenAICompletionsScorer(server, target=" TARGET", timeout=5)
    r = explain_text(TEXT, s, method="exact", holdout=16)
    assert r[(1,)] == pytest.approx(1.0) and r[(1, 3)] == pytest.approx(3.0)
    assert "faithfulness" not in r.metadata  # exact: every mask queried, nothing held out


def test_target_generated_from_full_prompt(server):
    s = OpenAICompletionsScorer(server, timeout=5)
    s.value_function(split_text(TEXT, "words"))
    assert s.target == " ok"  # the fake server generates " ok" when no logprobs are asked for


def test_server_down_is_retryable_and_clear():
    s = OpenAICompletionsScorer(f"http://127.0.0.1:{_free_port()}", target=" x", timeout=2)
    with pytest.raises(RetryableError, match="cannot reach the model server"):
        s.score(["hello"])


def test_busy_server_is_retryable(server):
    Handler.mode = "busy"
    with pytest.raises(RetryableError, match="HTTP 503"):
        OpenAICompletionsScorer(server, target=" x", timeout=5).score(["hi"])


def test_no_logprobs_is_a_clear_error(server):
    Handler.mode = "nologprobs"
    with pytest.raises(ServerError, match="no log-probabilities"):
        OpenAICompletionsScorer(server, target=" x", timeout=5).score(["hi"])


def test_nothing_already_queried_is_lost_when_the_server_fails(server, tmp_path):
    import inspect

    from spectrex.engine import QueryEngine
    from spectrex.errors import SpectrexError
    from spectrex.models import explain_text

    if "cache" not in inspect.signature(QueryEngine.__init__).parameters:
        pytest.skip("this version of the query engine has no on-disk cache")
    from spectrex.engine import LocalBackend, RetryPolicy

    cache = tmp_path / "answers.sqlite"
    s = OpenAICompletionsScorer(server, target=" TARGET", timeout=5)

    def engine():
        quick = LocalBackend(retry=RetryPolicy(max_retries=1, base_delay=0.01, jitter=False))
        return QueryEngine(batch_size=4, cache=cache, backend=quick)

    Handler.fail_after = 21  # the server goes down after the first call (full text) and 20 masks
    with pytest.raises(SpectrexError, match="stored in the cache"):
        explain_text(TEXT, s, method="exact", holdout=0, engine=engine())
    Handler.seen, Handler.fail_after = [], None  # the server is back
    r = explain_text(TEXT, s, method="exact", holdout=0, engine=engine())
    # the rerun asks only the full-text check and the 2^5 - 20 masks that were not stored
    assert len([q for q in Handler.seen if q.get("echo")]) == 1 + 2**5 - 20
    assert r[(1, 3)] == pytest.approx(3.0)
