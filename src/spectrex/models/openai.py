"""Models behind an OpenAI-compatible server (vLLM, llama-cpp-python, a hosted API) via ``/v1/completions``.

The score of a masked text is exactly log P(target | prompt) (minus log P(contrast | prompt) with a
contrast), read from the server's own token log-probabilities. A probe at start-up asks the server
what it supports and picks the mode, or refuses with the reason:

- ``echo`` (exact for any target): send prompt + target with ``echo`` and a one-token generation
  budget (``max_tokens: 0`` means *unlimited* on llama.cpp, so it is never sent); the target's
  tokens are the echoed tokens whose ``text_offset`` lies inside the target, the generated token
  is ignored. A prompt whose last characters merge with the target into one token is refused.
- ``next`` (servers without echo): one generated token with ``logprobs=K``; the value is the
  log-probability of the alternative that *equals* the target (never a prefix match). Exact for
  a target that is one token; when the target is not among the K alternatives the row fails with
  that reason (a floor is not an answer).

Requests are the unit of retry (:mod:`spectrex.models._http`): a batch's requests go out
concurrently over one pooled client (``concurrency`` at a time), each retried by itself; only a
request that exhausts its retries fails its row, and the query engine keeps every other answer.

The fingerprint holds the URL, the server's own model id (``/v1/models``, else the ``model``
field of an answer), the mode and every scoring setting. A server that names no model at all gets
the fingerprint of its answer to the start-up probe (its log-probabilities of a fixed prompt,
rounded to 0.01) in the identity instead, so a different model behind the same URL never receives
the previous model's cached answers. The API key is read from an environment variable
(``OPENAI_API_KEY`` by default) at request time; it is never stored, logged or hashed. Credentials
in the URL (``http://user:pass@host``, ``?key=…``) are sent but shown and stored only redacted; the
fingerprint holds a keyed hash of them (:func:`spectrex.redact.secret_tag`), never the secret.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import PartialResultError, ServerDownError, SpectrexError
from ..redact import redact_url, secret_tag
from ..validate import check_flag, is_whole
from ._http import JSONClient, RequestPolicy, RetryableError, ServerError, server_root
from .base import TextScorer, check_contrast, check_max_new_tokens, check_template, first_line, log_probability

__all__ = ["OpenAICompletionsScorer", "RetryableError", "ServerError", "TargetNotRankedError"]

#: the most requests in flight (each holds a thread and a connection)
MAX_CONCURRENCY = 1024
#: seconds a Ctrl-C waits for the requests in flight, so that their answers are stored
INTERRUPT_GRACE = 5.0
#: a log-probability above this is not one (float rounding of a certain token gives at most ~1e-7)
LOGPROB_SLACK = 1e-4


def bad_logprob(value) -> bool:
    """Whether a number the server gave as a log-probability cannot be one (NaN, infinite, or positive)."""
    return not isinstance(value, (int, float)) or not math.isfinite(value) or value > LOGPROB_SLACK


def invalid_logprob_error(base: str, value, continuation: str) -> ServerError:
    """The error for a log-probability that is NaN, infinite or positive: the server's numbers are broken."""
    return ServerError(
        f"the model server at {base} returned {value!r} as the log-probability of a token of {continuation!r}; "
        "a log-probability is a finite number ≤ 0, so the server's output is broken (often a model run in "
        "float16 that overflows, a damaged quantised file, or a proxy rewriting answers). Check the server's log "
        "and run the model in bfloat16/float32, then rerun: answers already stored are kept"
    )


class TargetNotRankedError(ServerError):
    """Without echo, the target was not among the server's top alternatives: its log-probability is unknown."""


class OpenAICompletionsScorer(TextScorer):
    """log P(target | prompt) from an OpenAI-compatible ``/v1/completions`` endpoint.

    Parameters
    ----------
    url : str
        Server base URL, e.g. ``http://127.0.0.1:8080`` or ``http://host:8000/v1``.
    target : str, optional
        The continuation to score (generated once, greedily, from the full prompt when omitted).
    model : str, optional
        The ``model`` field of the request (default: the server's only model).
    template : str, default "{text}"
        The prompt; ``{text}`` is replaced by the masked text.
    contrast : str, optional
        A second continuation whose log-probability is subtracted.
    echo : {"auto", True, False}, default "auto"
        ``"auto"``: the exact echo mode when the server supports it, else the next-token mode;
        ``True``: echo or refuse; ``False``: the next-token mode (one-token targets).
    top_logprobs : int, default 20
        Alternatives asked for in the next-token mode.
    api_key_env : str, default "OPENAI_API_KEY"
        Environment variable holding the API key (none sent when it is unset).
    timeout : float, optional
        Seconds per attempt of one request. Default (None, "auto"): 60 s until the server's first
        answer, then 10 × its slowest answer so far (at least 10 s, at most 60 s), doubled on each
        retry of a request that timed out (see :class:`~spectrex.models._http.RequestPolicy`).
    concurrency : int, default 4
        Requests in flight at once (4 suits a local server; raise it for vLLM or a hosted API).
    max_retries : int, default 8
        Retries of one request after a transient failure.
    deadline : float, default 300
        Seconds one request may take over all its attempts and waits.
    max_new_tokens : int, default 12
        Length limit of a generated target.
    per_token : bool, default False
        Score each token of the target separately (echo mode: the echoed log-probabilities give every
        target token in the same request): one output per token, named by the server's tokens, whose
        sum (``total``, "sequence") is the whole target's log-probability.
    """

    #: a record may bring its own continuation, contrast and prompt
    adjustable = ("target", "contrast", "template")

    def __init__(
        self,
        url: str,
        target: str | None = None,
        model: str | None = None,
        template: str = "{text}",
        contrast: str | None = None,
        echo: bool | str = "auto",
        top_logprobs: int = 20,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float | None = None,
        concurrency: int = 4,
        max_retries: int = 8,
        deadline: float = 300.0,
        max_new_tokens: int = 12,
        per_token: bool = False,
    ) -> None:
        check_template(template)
        echo, per_token = check_flag("echo", echo, auto=True), check_flag("per_token", per_token)
        if per_token and (contrast is not None or echo is False):
            raise ValueError(
                "per_token reads each target token's log-probability from the echoed prompt: it needs echo "
                "(not echo=False) and no contrast (a difference of two sequences has no tokens of its own)"
            )
        self.per_token = per_token
        #: the target's tokens as the server splits them (per_token; found by prepare)
        self._tokens: list[str] | None = None
        #: the full prompt and its per-token answer, from prepare() (its first scoring sends no second request)
        self._full: tuple[str, list[float]] | None = None
        if target is not None and (not isinstance(target, str) or target == ""):
            raise ValueError(f"target must be a non-empty string, got {target!r}")
        check_contrast(target, contrast)
        if not is_whole(concurrency, 1, MAX_CONCURRENCY):
            raise ValueError(
                f"concurrency must be an integer from 1 to {MAX_CONCURRENCY} (requests in flight), got {concurrency!r}"
            )
        if not is_whole(top_logprobs, 1, 100):
            raise ValueError(f"top_logprobs must be an integer from 1 to 100, got {top_logprobs!r}")
        check_max_new_tokens(max_new_tokens)
        #: the server's root URL as requests use it (credentials included) and as shown or stored (redacted)
        self.base = server_root(url)
        self.shown = redact_url(self.base)
        self.model_id = f"openai:{self.shown}" + (f"#{model}" if model else "")
        self.model, self.target, self.contrast, self.template = model, target, contrast, template
        self.echo = echo
        self.top_logprobs, self.max_new_tokens = int(top_logprobs), int(max_new_tokens)
        self.concurrency = int(concurrency)
        timeout = None if timeout is None else float(timeout)  # None: the adaptive "auto" timeout
        self.policy = RequestPolicy(timeout=timeout, max_retries=int(max_retries), deadline=float(deadline))
        self.client = JSONClient(self.base, self.policy, api_key_env, pool_size=self.concurrency)
        self.api_key_env = api_key_env
        #: what the probe found: "echo" or "next"; the server's own model id
        self.mode: str | None = None
        self.served_model: str | None = None
        #: without a model id from the server: a digest of its answer to the start-up probe
        self.probe_print: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- pickling (Ray): the connection pool and threads stay behind --------------------------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_pool"], state["_pool_lock"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pool_lock = threading.Lock()

    # -- identity -----------------------------------------------------------------------------------
    def quantity(self) -> str | None:
        return log_probability(self.target, self.contrast)

    def settings(self) -> dict[str, Any]:
        return {
            "kind": "openai-completions",
            "mode": self.mode,
            "target": self.target,
            "contrast": self.contrast,
            "template": self.template,
            "top_logprobs": self.top_logprobs if self.mode == "next" else None,
            "max_new_tokens": self.max_new_tokens,
            "join": "rstrip-before-space",
            **({"per_token": True} if self.per_token else {}),
        }

    @property
    def outputs(self) -> list[str] | None:
        """The target's tokens as the server splits them, when ``per_token`` (after :meth:`prepare`)."""
        return list(self._tokens) if self.per_token and self._tokens is not None else None

    @property
    def total(self) -> str | None:
        return "sequence" if self.per_token else None

    def model_identity(self) -> dict[str, Any]:
        self.probe()
        identity = {
            "id": self.model_id,
            "url": self.shown,
            "request_model": self.model,
            "served_model": self.served_model,
        }
        if self.probe_print is not None:
            identity["probe_answer"] = self.probe_print
        tag = secret_tag(self.base)
        if tag is not None:
            identity["credentials"] = tag  # a keyed hash: two credentials differ, neither is stored
        return identity

    # -- HTTP ---------------------------------------------------------------------------------------
    def _complete(self, payload: dict, what: str = "completion request") -> dict:
        if self.model:
            payload = {"model": self.model, **payload}
        data = self.client.request("POST", "/v1/completions", payload, what=what)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ServerError(
                f"the model server at {self.shown} answered without `choices`; is it an OpenAI-compatible "
                "/v1/completions endpoint?"
            )
        if self.served_model is None and isinstance(data.get("model"), str):
            self.served_model = data["model"]
        return data

    def probe(self) -> None:
        """Ask the server once for its model id and whether it echoes prompt log-probabilities; pick the mode."""
        if self.mode is not None:
            return
        # the first contact fails fast when nothing listens (a typo in the URL, a server not started)
        first = replace(self.policy, max_retries=min(self.policy.max_retries, 3))
        try:
            listing = self.client.request("GET", "/v1/models", what="model listing", policy=first)
        except ServerError:
            listing = {}  # no /v1/models: the `model` field of an answer names the model instead
        ids = [d.get("id") for d in listing.get("data") or [] if isinstance(d, dict) and isinstance(d.get("id"), str)]
        if self.model and ids and self.model not in ids:
            raise ServerError(
                f"the server at {self.shown} serves {', '.join(ids[:5])}, not {self.model!r}; "
                f"use openai:{self.shown}#{ids[0]}"
            )
        if len(ids) > 1 and not self.model:
            raise ServerError(
                f"the server at {self.shown} serves several models ({', '.join(ids[:5])}); name one: "
                f"openai:{self.shown}#{ids[0]}"
            )
        # the server's own name for its model; without a listing, the `model` field of an answer (the
        # name a request asks for is no identity: any model may be served under it)
        self.served_model = (self.model or ids[0]) if ids else None
        reason = None
        if self.echo is not False:
            probe_text = "Hello, world"
            data = self._complete(
                {"prompt": probe_text, "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0},
                what="start-up probe",
            )
            reason = _echo_problem(data, probe_text)
            if reason is None:
                self.mode = "echo"
                self._remember_probe(data)
                return
            if self.echo is True:
                raise ServerError(
                    f"the model server at {self.shown} cannot score a given target exactly: {reason}. "
                    "Start it with prompt log-probabilities on (llama-cpp-python: --logits_all true), or pass "
                    "--no-echo / echo=False to read the next token's top alternatives (exact for one-token targets)"
                )
        data = self._complete(
            {"prompt": "Hello", "max_tokens": 1, "logprobs": self.top_logprobs, "temperature": 0},
            what="start-up probe",
        )
        lp = (data["choices"][0].get("logprobs") or {}) if isinstance(data["choices"][0], dict) else {}
        tops = lp.get("top_logprobs") if isinstance(lp, dict) else None
        if not tops or not isinstance(tops[0], dict) or not tops[0]:
            raise ServerError(
                f"the model server at {self.shown} returns no log-probabilities"
                + (f" and {reason}" if reason else "")
                + "; spectrex needs /v1/completions with `logprobs` (vLLM, llama-cpp-python's server)"
            )
        self.mode = "next"
        self._remember_probe(data)

    def _remember_probe(self, data: dict) -> None:
        """A server that names no model is identified by its answer to the fixed probe (rounded log-probabilities)."""
        if self.served_model is not None:
            return
        lp = data["choices"][0].get("logprobs") or {}
        values = lp.get("token_logprobs") if isinstance(lp, dict) else None
        tops = lp.get("top_logprobs") if isinstance(lp, dict) else None

        def rounded(v):
            return round(float(v), 2) if isinstance(v, (int, float)) and math.isfinite(v) else None

        seen = {
            "tokens": lp.get("tokens") if isinstance(lp, dict) else None,
            "values": [rounded(v) for v in values] if isinstance(values, list) else None,
            "top": (
                sorted((str(k), rounded(v)) for k, v in tops[0].items())
                if isinstance(tops, list) and tops and isinstance(tops[0], dict)
                else None
            ),
        }
        self.probe_print = hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:32]

    # -- scoring ------------------------------------------------------------------------------------
    def prepare(self, text: str) -> None:
        self.probe()
        if self.target is None:
            data = self._complete(
                {"prompt": self._prompt(text), "max_tokens": self.max_new_tokens, "temperature": 0},
                what="target generation",
            )
            new = data["choices"][0].get("text") or ""
            new = first_line(new)
            if not new.strip():
                raise SpectrexError("the server generated no continuation for this text; pass a target explicitly")
            self.target = new
        if self.per_token:
            if self.mode != "echo":
                raise SpectrexError(
                    f"--per-token needs the server at {self.base} to echo the prompt's log-probabilities (each target "
                    "token is read from them), and it does not; explain the whole target "
                    "instead (leave out --per-token)"
                )
            prompt = self._joined(self._prompt(text))
            pairs = self._echo_tokens(prompt, self.target)
            self._tokens = [tok for tok, _ in pairs]
            # the full text's answer, kept: its first scoring (the all-kept mask) sends no second request
            self._full = (prompt, [v for _, v in pairs])

    def _prompt(self, text: str) -> str:
        return self.template.format(text=text)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="spectrex-http")
            return self._pool

    def logprob(self, prompt: str, continuation: str) -> float:
        """log P(continuation | prompt) from the server (one request, retried by itself).

        A prompt ending in white space before a continuation starting with white space (a text
        whose last parts were removed, then " Paris") loses its trailing white space: two spaces
        would be tokenized as one token straddling the prompt and the continuation.
        """
        self.probe()
        prompt = self._joined(prompt, continuation)
        if self.per_token:
            full = self._full
            if full is not None and full[0] == prompt and continuation == self.target:
                return list(full[1])
            values = [v for _, v in self._echo_tokens(prompt, continuation)]
            if self._tokens is not None and len(values) != len(self._tokens):
                raise ServerError(
                    f"the server split the target {continuation!r} into {len(values)} tokens after this prompt, "
                    f"but into {len(self._tokens)} after the full text, so its tokens cannot be compared; explain the "
                    "whole target (leave out --per-token), or start it with a space"
                )
            return values
        return self._echo(prompt, continuation) if self.mode == "echo" else self._next(prompt, continuation)

    def _joined(self, prompt: str, continuation: str | None = None) -> str:
        continuation = self.target if continuation is None else continuation
        return prompt.rstrip() if continuation[:1].isspace() else prompt

    def score(self, texts: list[str]) -> np.ndarray:
        if self.target is None:
            raise SpectrexError("no target yet: pass target=… or bind the model to a text first")
        self.probe()
        prompts = [self._prompt(t) for t in texts]
        conts = [self.target] + ([self.contrast] if self.contrast is not None else [])
        jobs = [(r, c) for r in range(len(prompts)) for c in range(len(conts))]
        if len(jobs) == 1:
            futures = None
            results = [self._safe(prompts[0], conts[0])]
        else:
            pool = self._executor()
            futures = [pool.submit(self._safe, prompts[r], conts[c]) for r, c in jobs]
            try:
                results = [f.result() for f in futures]
            except KeyboardInterrupt as exc:
                exc.partial_values = self._answered(futures, jobs, len(prompts), len(conts))
                raise
        if self.per_token:  # one request per text gives every target token: (texts, tokens)
            conts, width = [self.target], len(self._tokens or ()) or 1
            parts = np.full((len(prompts), width), np.nan)
        else:
            width = 0
            parts = np.full((len(prompts), len(conts)), np.nan)
        errors: dict[int, BaseException] = {}
        for (r, c), res in zip(jobs, results):
            if isinstance(res, BaseException):
                errors.setdefault(r, res)
            elif width:
                parts[r] = res
            else:
                parts[r, c] = res
        values = parts if width else parts[:, 0] - parts[:, 1] if len(conts) == 2 else parts[:, 0]
        if errors:
            # a server that stopped answering stops the run: that error wins over the rows' own
            first = next((e for e in errors.values() if isinstance(e, ServerDownError)), next(iter(errors.values())))
            if len(errors) == len(prompts):
                raise first
            values[list(errors)] = np.nan
            raise PartialResultError(
                f"{len(errors)} of {len(prompts)} requests failed ({type(first).__name__}: {first})", values, errors
            )
        return values

    def _answered(self, futures, jobs, rows: int, cols: int) -> np.ndarray:
        """Ctrl-C during a batch: the values of the rows whose requests finished (NaN for the rest).

        Requests not started are cancelled; those in flight get a few seconds to finish (each has its own
        timeout), so that the answers the server already computed are stored, not lost.
        """
        from concurrent.futures import wait

        for f in futures:
            f.cancel()
        wait([f for f in futures if not f.cancelled()], timeout=INTERRUPT_GRACE)
        width = len(self._tokens or ()) if self.per_token else 0  # per token: one list of values per request
        parts = np.full((rows, width or cols), np.nan)
        for (r, c), f in zip(jobs, futures):
            if not f.done() or f.cancelled():
                continue
            value = f.result()
            if width and isinstance(value, list) and len(value) == width:
                parts[r] = value
            elif not width and isinstance(value, (int, float)):
                parts[r, c] = value
        if width:
            return parts
        return parts[:, 0] - parts[:, 1] if cols == 2 else parts[:, 0]

    def _safe(self, prompt: str, continuation: str):
        try:
            return self.logprob(prompt, continuation)
        except Exception as exc:  # noqa: BLE001 - the row's outcome; the engine names and retries it
            return exc

    def _echo(self, prompt: str, continuation: str) -> float:
        return float(sum(v for _, v in self._echo_tokens(prompt, continuation)))

    def _echo_tokens(self, prompt: str, continuation: str) -> list[tuple[str, float]]:
        """(token, log-probability) of each of ``continuation``'s tokens after ``prompt``, from one echo request."""
        full = prompt + continuation
        data = self._complete({"prompt": full, "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0})
        lp = data["choices"][0].get("logprobs")
        offsets = lp.get("text_offset") if isinstance(lp, dict) else None
        values = lp.get("token_logprobs") if isinstance(lp, dict) else None
        if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
            raise RetryableError(f"the server's echoed log-probabilities from {self.shown} are incomplete")
        start, end = len(prompt), len(full)
        if start == 0:
            raise ServerError(
                "the prompt is empty (every part removed and the template adds no text), and a server gives no "
                "log-probability for a prompt's first token; use a --template with fixed text around {text} "
                "(e.g. 'Text: {text}'), or --on-error drop to leave this mask out"
            )
        if start not in offsets:
            raise ServerError(
                f"the server tokenized the end of the prompt and the start of the target {continuation!r} into "
                "one token, so log P(target | prompt) is not defined token by token; start the target with a "
                "space or end the template with a separator"
            )
        tokens = lp.get("tokens")
        if not isinstance(tokens, list) or len(tokens) != len(values):
            tokens = [full[o:e] for o, e in zip(offsets, [*offsets[1:], len(full)])]
        picked = [(str(t), v) for t, o, v in zip(tokens, offsets, values) if start <= o < end]
        broken = next((v for _, v in picked if isinstance(v, (int, float)) and bad_logprob(v)), None)
        if broken is not None:
            raise invalid_logprob_error(self.shown, broken, continuation)
        if not picked or any(not isinstance(v, (int, float)) for _, v in picked):
            raise ServerError(
                f"the server returned no log-probability for a token of the target {continuation!r}; "
                "an empty prompt has no first-token probability — keep at least the template's text"
            )
        return [(t, float(v)) for t, v in picked]

    def _next(self, prompt: str, continuation: str) -> float:
        data = self._complete({"prompt": prompt, "max_tokens": 1, "logprobs": self.top_logprobs, "temperature": 0})
        lp = data["choices"][0].get("logprobs") or {}
        tops = lp.get("top_logprobs") if isinstance(lp, dict) else None
        first = tops[0] if isinstance(tops, list) and tops and isinstance(tops[0], dict) else None
        if first is None:
            raise RetryableError(f"the server at {self.shown} answered without top log-probabilities")
        value = first.get(continuation)
        if value is None:
            chosen, chosen_lp = (lp.get("tokens") or [None])[0], (lp.get("token_logprobs") or [None])[0]
            if chosen == continuation:
                value = chosen_lp
        if isinstance(value, (int, float)) and bad_logprob(value):
            raise invalid_logprob_error(self.shown, value, continuation)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TargetNotRankedError(
                f"the target {continuation!r} is not one of the server's top {len(first)} next tokens for this "
                "prompt, so its log-probability is unknown (a floor would not be an answer); use a server with "
                "echo (exact for any target), a one-token target, or a larger top_logprobs"
            )
        return float(value)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        self.client.close()


def _echo_problem(data: dict, prompt: str) -> str | None:
    """Why an echo answer cannot give prompt log-probabilities (None when it can)."""
    lp = data["choices"][0].get("logprobs")
    if not isinstance(lp, dict):
        return "it returned no log-probabilities for an echoed prompt"
    offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
    if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
        return "its echoed log-probabilities lack text_offset / token_logprobs"
    inside = [v for o, v in zip(offsets, values) if o < len(prompt)]
    if len(inside) < 2 or not any(isinstance(v, (int, float)) for v in inside[1:]):
        return "it does not echo the prompt's tokens with their log-probabilities"
    return None
