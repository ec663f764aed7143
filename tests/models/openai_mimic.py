"""A local OpenAI-compatible /v1/completions server that behaves like llama.cpp's and vLLM's, with optional faults.

The "model" is a toy LM over whitespace-led word tokens (``" good"``, ``" positive"``) whose
log-probabilities depend on which words came before, so a test can compute log P(target | prompt)
directly (:func:`direct_logprob`) and compare it with what the scorer reads from the server.

Semantics mimicked (from the servers' documentation):

- ``llama`` (llama-cpp-python): ``max_tokens`` 0 or missing means *unlimited* (here: 40 tokens of
  " the"); ``logprobs`` is an integer; echo returns the prompt's tokens with ``text_offset`` and the
  first token's log-probability as null, followed by the generated tokens.
- ``vllm``: ``max_tokens`` must be ≥ 1; ``logprobs`` at most 20; otherwise as above.
- ``noecho``: ``echo`` is ignored (only generated tokens come back), like servers without echo.

Faults (``fault_rate`` of requests, in arrival order from a seeded generator): HTTP 500, 429 with
``Retry-After: 1``, a dropped connection, a truncated body, a 200 with malformed JSON, and an answer
slower than the client's timeout. The server binds 127.0.0.1 only.

Deaths and disguises: ``die_after=K`` answers K completion requests, then dies (it stops listening
and drops every connection, as a killed process does); ``hang_after=K`` then never answers;
``anonymous=True`` names no model (no ``/v1/models``, no ``model`` field in answers), and ``lift``
scales the toy LM's word effects (a "different model" behind the same URL).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_TOKEN = re.compile(r"\s*\S+|\s+")
GENERATED = " the"
VOCAB = [" positive", " negative", " Paris", " London", " the", " ", " pos", " TARGET", " ok"]
FAULTS = ("500", "429", "drop", "truncate", "malformed", "slow")


def tokenize(text: str) -> list[tuple[int, str]]:
    """(offset, token) pairs: each token is a word with the whitespace before it."""
    return [(m.start(), m.group()) for m in _TOKEN.finditer(text)]


def token_logprob(prefix: str, token: str, scale: float = 1.0) -> float:
    """The toy LM: 'good' helps positive words, 'good' with 'great' helps them a lot; 'bad' the reverse."""
    words = set(prefix.split())
    lift = 1.0 * ("good" in words) + 3.0 * ("good" in words and "great" in words) - 2.0 * ("bad" in words)
    lift *= scale
    word = token.strip()
    if word in ("negative", "London"):
        lift = -lift
    if word == "":
        return -0.2  # a bare space is likely: a prefix match against it would be wrong
    # another scale is another model: every log-probability moves (a start-up probe tells them apart)
    return -4.0 - 0.5 * (scale - 1.0) + lift - 0.05 * len(word) - 0.01 * len(words)


def direct_logprob(prompt: str, target: str) -> float:
    """log P(target | prompt) of the toy LM, token by token (the oracle)."""
    full = prompt + target
    return sum(token_logprob(full[:o], t) for o, t in tokenize(full) if o >= len(prompt))


class MimicServer:
    """Start with ``with MimicServer(...) as url:``; counts requests; ``model_name`` may be changed live."""

    def __init__(
        self,
        flavor: str = "llama",
        model_name: str = "toy-7b",
        fault_rate: float = 0.0,
        seed: int = 0,
        slow_s: float = 1.5,
        delay_s: float = 0.0,
        port: int = 0,
        kinds: tuple[str, ...] = FAULTS,
        die_after: int | None = None,
        hang_after: int | None = None,
        anonymous: bool = False,
        lift: float = 1.0,
        logprob_override=None,
    ):
        self.flavor, self.model_name, self.fault_rate, self.kinds = flavor, model_name, fault_rate, tuple(kinds)
        self.rng = random.Random(seed)
        self.slow_s, self.delay_s = slow_s, delay_s
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.faults: dict[str, int] = {k: 0 for k in FAULTS}
        self.down = False
        self.die_after, self.hang_after, self.anonymous, self.lift = die_after, hang_after, anonymous, lift
        #: a function (prompt) -> value replacing every token log-probability (NaN, +5, … for bad-answer tests)
        self.logprob_override = logprob_override
        self.answered = 0
        #: (path with query, Authorization header) of every completion request
        self.seen: list[tuple[str, str | None]] = []
        self.dead = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.dead.is_set():
                    return self._drop()
                if self.path.partition("?")[0].rstrip("/") == "/v1/models" and not server.anonymous:
                    return self._json(200, {"object": "list", "data": [{"id": server.model_name, "object": "model"}]})
                self._json(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if server.dead.is_set():
                    return self._drop()
                with server.lock:
                    if server.die_after is not None and server.answered >= server.die_after:
                        server.die()
                        return self._drop()
                    if server.hang_after is not None and server.answered >= server.hang_after:
                        hang = True
                    else:
                        hang = False
                        server.answered += 1
                if hang:
                    server.dead.wait(600)
                    return self._drop()
                with server.lock:
                    server.requests.append(body)
                    server.seen.append((self.path, self.headers.get("Authorization")))
                    fault = None
                    if server.fault_rate and server.rng.random() < server.fault_rate:
                        fault = server.rng.choice(server.kinds)
                        server.faults[fault] += 1
                if self.path.partition("?")[0] != "/v1/completions":
                    return self._json(404, {"error": "not found"})
                if server.down:
                    return self._json(503, {"error": "went down"})
                if server.delay_s:
                    time.sleep(server.delay_s)
                if fault == "500":
                    return self._json(500, {"error": "internal error"})
                if fault == "429":
                    return self._json(429, {"error": "slow down"}, {"Retry-After": "1"})
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "slow":
                    time.sleep(server.slow_s)
                code, payload = server.complete(body)
                if fault == "malformed":
                    return self._raw(200, b'{"choices": [{"text": "oops", "logprobs": {"tok')
                if fault == "truncate":
                    data = json.dumps(payload).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._json(code, payload)

            def _drop(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _json(self, code, payload, headers=None):
                if server.anonymous and isinstance(payload, dict):
                    payload = {k: v for k, v in payload.items() if k != "model"}
                self._raw(code, json.dumps(payload).encode(), headers)

            def _raw(self, code, data, headers=None):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # a slow answer whose client gave up (its timeout) and hung up
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def die(self) -> None:
        """Stop listening and drop every connection (called with the lock held, from a handler thread)."""
        if self.dead.is_set():
            return
        self.dead.set()
        threading.Thread(target=self._close_listener, daemon=True).start()

    def _close_listener(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the completions semantics ----------------------------------------------------------------
    def complete(self, body: dict) -> tuple[int, dict]:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return 400, {"error": "prompt must be a string"}
        max_tokens = body.get("max_tokens", 16)
        logprobs = body.get("logprobs")
        if logprobs is not None and (isinstance(logprobs, bool) or not isinstance(logprobs, int)):
            return 400, {"error": "logprobs must be an integer"}
        if self.flavor == "vllm":
            if max_tokens is None or max_tokens < 1:
                return 400, {"error": "max_tokens must be at least 1"}
            if logprobs is not None and logprobs > 20:
                return 400, {"error": "logprobs must be at most 20"}
        n_gen = 40 if not max_tokens else int(max_tokens)  # llama.cpp: 0 / missing = unlimited
        echo = bool(body.get("echo")) and self.flavor != "noecho"
        generated = [GENERATED] * n_gen
        if logprobs is None:
            return 200, {"model": self.model_name, "choices": [{"text": "".join(generated), "logprobs": None}]}
        tokens, offsets, values, tops = [], [], [], []
        if echo:
            for i, (o, t) in enumerate(tokenize(prompt)):
                tokens.append(t)
                offsets.append(o)
                values.append(None if i == 0 else self._lp(prompt[:o], t))
                tops.append(None if i == 0 else {t: values[-1]})
        text = prompt
        for t in generated:
            alts = sorted(((self._lp(text, v), v) for v in VOCAB), reverse=True, key=lambda a: a[0])
            alts = alts[: max(1, logprobs)]
            tokens.append(t)
            offsets.append(len(text))
            values.append(self._lp(text, t))
            tops.append({v: lp for lp, v in alts})
            text += t
        lp = {"tokens": tokens, "text_offset": offsets, "token_logprobs": values, "top_logprobs": tops}
        out_text = (prompt if echo else "") + "".join(generated)
        return 200, {"model": self.model_name, "choices": [{"text": out_text, "logprobs": lp}]}

    def _lp(self, prefix: str, token: str) -> float:
        if self.logprob_override is not None:
            return self.logprob_override(prefix)
        return token_logprob(prefix, token, self.lift)

    def completion_requests(self) -> int:
        return sum(1 for r in self.requests if "prompt" in r)

    def __enter__(self) -> str:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self.url

    def __exit__(self, *exc) -> None:
        self.dead.set()  # hung handlers stop waiting
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
