"""Models behind an OpenAI-compatible HTTP server (llama.cpp's server, vLLM, …) through ``/v1/completions``.

The score of a masked text is log P(target | prompt), read from the server's per-token
``logprobs``. Two ways to get them:

- ``echo=True`` (vLLM, the OpenAI legacy API): send prompt + target with ``max_tokens=0`` and
  ``echo``; the server returns the log-probability of every prompt token, and the target's tokens
  are the ones whose text offsets fall after the prompt. Exact for multi-token targets.
- ``echo=False`` (servers without echo, e.g. llama.cpp): ask for one generated token with
  ``logprobs=K`` and read the target's first token among the top-K alternatives (a target missing
  from the top K gets ``floor``). Exact only for one-token targets such as " positive".

The API key is read from an environment variable (``OPENAI_API_KEY`` by default) at request time;
it is never stored on the object, logged, or part of the fingerprint, so it never reaches a cache.
Failures worth retrying (connection refused, timeouts, HTTP 429 and 5xx) raise
:class:`RetryableError` so that the query engine's retry policy applies; everything queried before
a failure stays in the engine's cache.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..errors import SpectrexError
from .base import TextScorer

try:  # the query engine's retryable error, when this version has one
    from ..engine import RetryableError  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older engine

    class RetryableError(SpectrexError):
        """A failure worth retrying (server down or overloaded, timeout)."""

        def __init__(self, message: str, retry_after: float | None = None):
            super().__init__(message)
            self.retry_after = retry_after


class ServerError(SpectrexError):
    """The server answered, but not with what spectrex needs (no log-probabilities, bad request, …)."""


class OpenAICompletionsScorer(TextScorer):
    """log P(target | prompt) from an OpenAI-compatible ``/v1/completions`` endpoint.

    Parameters
    ----------
    url : str
        Server base URL, e.g. ``http://127.0.0.1:8080`` or ``http://host:8000/v1``.
    target : str
        The continuation to score (generated once from the full prompt when omitted).
    model : str, optional
        The ``model`` field of the request (servers with one model ignore it).
    template : str, default "{text}"
        The prompt; ``{text}`` is replaced by the masked text.
    echo : bool, default True
        Score the target inside an echoed prompt (exact); ``False`` reads the top-``top_logprobs``
        alternatives of the next token (one-token targets).
    api_key_env : str, default "OPENAI_API_KEY"
        Environment variable holding the API key (none sent when it is unset).
    timeout : float, default 60
        Seconds per request.
    floor : float, default -30
        Log-probability given to a target missing from the top alternatives (``echo=False``).
    """

    def __init__(
        self,
        url: str,
        target: str | None = None,
        model: str | None = None,
        template: str = "{text}",
        echo: bool = True,
        top_logprobs: int = 20,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        floor: float = -30.0,
        max_new_tokens: int = 12,
    ) -> None:
        import httpx

        if "{text}" not in template:
            raise ValueError("template must contain '{text}' where the (masked) text goes")
        base = url.rstrip("/")
        self.endpoint = base + ("/completions" if base.endswith("/v1") else "/v1/completions")
        self.model_id = f"openai:{base}" + (f"#{model}" if model else "")
        self.model, self.target, self.template, self.echo = model, target, template, bool(echo)
        self.top_logprobs, self.floor, self.max_new_tokens = int(top_logprobs), float(floor), int(max_new_tokens)
        self.api_key_env = api_key_env
        self._client = httpx.Client(timeout=timeout)

    def settings(self) -> dict[str, Any]:
        return {"kind": "openai-completions", "target": self.target, "template": self.template, "echo": self.echo}

    # -- HTTP -------------------------------------------------------------------------------
    def _post(self, payload: dict) -> dict:
        import httpx

        headers = {}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if self.model:
            payload = {"model": self.model, **payload}
        try:
            resp = self._client.post(self.endpoint, json=payload, headers=headers)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
            raise RetryableError(
                f"cannot reach the model server at {self.endpoint} ({type(exc).__name__}); "
                "check that it is running and the URL is right — answers already received are kept in the cache"
            ) from None
        if resp.status_code == 429 or resp.status_code >= 500:
            after = resp.headers.get("retry-after")
            raise RetryableError(
                f"the model server answered HTTP {resp.status_code}; retrying may help",
                retry_after=float(after) if after and after.replace(".", "", 1).isdigit() else None,
            )
        if resp.status_code in (401, 403):
            raise ServerError(
                f"the model server refused the request (HTTP {resp.status_code}); "
                f"set the API key in the environment variable {self.api_key_env}"
            )
        if resp.status_code >= 400:
            raise ServerError(f"the model server rejected the request (HTTP {resp.status_code}): {resp.text[:300]}")
        try:
            return resp.json()
        except ValueError:
            raise ServerError(f"the model server at {self.endpoint} did not answer with JSON") from None

    # -- scoring ----------------------------------------------------------------------------
    def prepare(self, text: str) -> None:
        if self.target is None:
            data = self._post(
                {"prompt": self.template.format(text=text), "max_tokens": self.max_new_tokens, "temperature": 0}
            )
            new = data["choices"][0].get("text", "")
            new = new.split("\n")[0] if new.strip() else new
            if not new.strip():
                raise SpectrexError("the server generated no continuation for this text; pass a target explicitly")
            self.target = new

    def score(self, texts: list[str]) -> np.ndarray:
        if self.target is None:
            raise SpectrexError("no target yet: pass target=… or bind the model to a text first")
        prompts = [self.template.format(text=t) for t in texts]
        return np.array([self._score_echo(p) if self.echo else self._score_next(p) for p in prompts])

    def _logprobs(self, data: dict) -> dict:
        try:
            lp = data["choices"][0]["logprobs"]
        except (KeyError, IndexError, TypeError):
            lp = None
        if not lp:
            raise ServerError(
                f"the model server at {self.endpoint} returned no log-probabilities; spectrex needs a server whose "
                "/v1/completions supports `logprobs` (llama.cpp server, vLLM…)"
                + (", and `echo` — or use echo=False for one-token targets" if self.echo else "")
            )
        return lp

    def _score_echo(self, prompt: str) -> float:
        data = self._post({"prompt": prompt + self.target, "max_tokens": 0, "echo": True, "logprobs": 0})
        lp = self._logprobs(data)
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not offsets or values is None:
            raise ServerError(
                "the server's echoed logprobs lack text_offset/token_logprobs (echo unsupported?); use echo=False"
            )
        picked = [v for o, v in zip(offsets, values) if o >= len(prompt) and v is not None]
        if not picked:
            raise ServerError("the echoed log-probabilities do not cover the target; use echo=False")
        return float(sum(picked))

    def _score_next(self, prompt: str) -> float:
        data = self._post({"prompt": prompt, "max_tokens": 1, "logprobs": self.top_logprobs, "temperature": 0})
        lp = self._logprobs(data)
        tops = lp.get("top_logprobs") or [{}]
        first = tops[0] or {}
        best = [v for tok, v in first.items() if tok and self.target.startswith(tok)]
        value = max(best) if best else self.floor
        return float(value) if math.isfinite(value) else self.floor

    def close(self) -> None:
        self._client.close()
