"""Served chat models: ``/v1/chat/completions`` with the masked prompt (and image) as the user's message.

Each mask row becomes one chat request: a user message with the masked image (a base64 PNG data URL)
and the masked prompt — or, for a text chat (:class:`ChatTextScorer`), the masked text alone, after an
optional system prompt; the server applies its own chat template, so no template token is ever masked —
with ``max_tokens: 1``, ``logprobs: true`` and ``top_logprobs: K``. The value is the
log-probability of the first answer token whose text is **exactly** the target (e.g. ``" yes"`` or
``"Yes"``), read from the returned alternatives — never a prefix match. Chat APIs have no ``echo``, so
only one-token targets can be scored exactly; when the target is not among the K alternatives the row
fails with that reason (a floor value is not an answer), and ``on_error="drop"`` leaves it out.

Requests go out concurrently over the served text scorer's pooled client (``models._http``); each is
retried by itself (429/5xx with Retry-After, dropped connections, truncated or malformed bodies) up to a
total deadline.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..contract import ValueFunction
from ..digest import identity_hash
from ..errors import SpectrexError, ValueFunctionError
from ..parts.image import png_base64
from ..parts.text import RENDER_VERSION
from ..provenance import Source
from ..validate import is_whole
from .base import TextScorer, check_contrast, check_template, log_probability
from .openai import MAX_CONCURRENCY


class ChatVisionScorer:
    """log P(target token | image, prompt) from an OpenAI-compatible chat server.

    Parameters
    ----------
    url : str
        Server root (``http://127.0.0.1:8000``) or its ``/v1``.
    target : str
        The answer's first token, exactly as the server's tokenizer writes it (``" cat"``, ``"Yes"``).
    contrast : str, optional
        Subtract the log-probability of this token (both must be among the alternatives).
    model : str, optional
        The ``model`` field of each request (the server's model id).
    top_logprobs : int, default 20
        Alternatives asked for; the target must be among them.
    concurrency : int, default 4
        Requests in flight at once.
    timeout : float, optional
        Seconds per attempt; default "auto" (None): adapts to the server's answer times, as in
        :class:`~spectrex.models._http.RequestPolicy`.
    deadline : float, optional
        Seconds one request may take with its retries (default 10 × timeout, or 300 with "auto").
    system : str, optional
        A system message sent before the user's.
    """

    def __init__(
        self,
        url: str,
        target: str,
        contrast: str | None = None,
        model: str | None = None,
        top_logprobs: int = 20,
        concurrency: int = 4,
        timeout: float | None = None,
        deadline: float | None = None,
        retries: int = 6,
        api_key_env: str = "OPENAI_API_KEY",
        system: str | None = None,
    ) -> None:
        from ._http import JSONClient, RequestPolicy

        if not isinstance(target, str) or not target:
            raise ValueError(f"give the target answer token as a string, e.g. target=' yes'; got {target!r}")
        if not is_whole(top_logprobs, 1, 20):  # int() cut 2.5 to 2 and named nothing for "x"
            raise ValueError(f"top_logprobs must be a whole number from 1 to 20 (OpenAI's limit), got {top_logprobs!r}")
        if not is_whole(concurrency, 1, MAX_CONCURRENCY):
            raise ValueError(
                f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (in flight), got {concurrency!r}"
            )
        if not is_whole(retries, 0):
            raise ValueError(f"retries must be a whole number ≥ 0, got {retries!r}")
        from ..redact import redact_url, secret_tag
        from ._http import server_root

        base = server_root(url)
        self.endpoint = redact_url(base) + "/v1/chat/completions"  # as shown: no credentials
        check_contrast(target, contrast)
        self.target, self.contrast, self.model, self.system = target, contrast, model, system
        self.top_logprobs, self.concurrency, self.retries = int(top_logprobs), int(concurrency), int(retries)
        # the served text scorer's HTTP client: each request is retried by itself up to a deadline
        if deadline is None:
            deadline = 300.0 if timeout is None else 10 * float(timeout)
        policy = RequestPolicy(timeout=None if timeout is None else float(timeout), max_retries=int(retries),
                               deadline=float(deadline))  # fmt: skip
        self._client = JSONClient(base, policy, api_key_env=api_key_env, pool_size=self.concurrency)
        self.model_id = f"openai-chat:{redact_url(base)}" + (f"#{model}" if model else "")
        #: a keyed hash of URL credentials (None without): two credentials differ, neither is stored
        self.credentials = secret_tag(base)

    def settings(self) -> dict:
        return {
            "kind": "openai-chat-vision",
            "target": self.target,
            "contrast": self.contrast,
            "top_logprobs": self.top_logprobs,
            "model": self.model,
            "credentials": self.credentials,
            **({"system": self.system} if self.system is not None else {}),
        }

    def payload(self, image: np.ndarray | None, prompt: str) -> dict:
        """The chat request for one (masked image, prompt); ``image`` None: a text message."""
        content: str | list = prompt
        if image is not None:
            content = [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_base64(image)}},
                {"type": "text", "text": prompt},
            ]
        system = [{"role": "system", "content": self.system}] if self.system is not None else []
        body = {
            "messages": [*system, {"role": "user", "content": content}],
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": self.top_logprobs,
        }
        return {"model": self.model, **body} if self.model else body

    def _post(self, payload: dict) -> dict:
        return self._client.request("POST", "/v1/chat/completions", payload, what="chat request")

    def _read(self, answer: dict) -> dict[str, float]:
        from .openai import bad_logprob, invalid_logprob_error

        try:
            first = answer["choices"][0]["logprobs"]["content"][0]
            alts = {alt["token"]: float(alt["logprob"]) for alt in first["top_logprobs"]}
        except (KeyError, IndexError, TypeError, ValueError):
            raise SpectrexError(
                "the chat server answered without logprobs.content[0].top_logprobs; "
                "it must support logprobs=true with top_logprobs (vLLM and llama.cpp do)"
            ) from None
        for token, value in alts.items():
            if bad_logprob(value):
                raise invalid_logprob_error(self.endpoint, value, token)
        return alts

    def score(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        with ThreadPoolExecutor(self.concurrency) as pool:
            answers = list(pool.map(lambda a: self._read(self._post(self.payload(*a))), zip(images, prompts)))
        out = np.empty(len(answers))
        missing = []
        for i, alts in enumerate(answers):
            want = [self.target] + ([self.contrast] if self.contrast else [])
            if not all(w in alts for w in want):
                missing.append(i)
                continue
            out[i] = alts[self.target] - (alts[self.contrast] if self.contrast else 0.0)
        if missing:
            raise ValueFunctionError(
                f"{len(missing)} answers do not list {self.target!r}"
                + (f" and {self.contrast!r}" if self.contrast else "")
                + f" among their top {self.top_logprobs} first tokens, so their log-probability is unknown; "
                "use the exact token text the server uses (look at one answer's top_logprobs), raise top_logprobs, "
                "or run with on_error='drop' to leave those masks out",
                rows=np.asarray(missing),
            )
        return out


class ChatTextScorer(TextScorer):
    """log P(first answer token | chat) of a served chat model: the masked text as the user's message.

    Chat APIs have no ``echo``, so the target is one token, read from the first answer token's
    ``top_logprobs`` (see :class:`ChatVisionScorer`, whose requests and retries this uses).

    Parameters
    ----------
    url, target, contrast, model, top_logprobs, concurrency, timeout, deadline, system
        As in :class:`ChatVisionScorer`.
    template : str, default "{text}"
        The user's message; ``{text}`` is replaced by the masked text.
    """

    #: a record may bring its own answer token, contrast and message
    adjustable = ("target", "contrast", "template")

    def __init__(self, url: str, target: str | None = None, template: str = "{text}", **settings) -> None:
        check_template(template)
        if not target:
            raise ValueError(
                "a served chat model is scored on one answer token (chat APIs echo no prompt): give --target, e.g. "
                "' yes' or 'Yes', exactly as the server's tokenizer writes it"
            )
        self.chat = ChatVisionScorer(url, target, **settings)
        self.template, self.target = template, target
        self.contrast, self.system = self.chat.contrast, self.chat.system
        self.model_id = self.chat.model_id

    def _adjust(self, changes) -> None:
        super()._adjust(changes)
        if {"target", "contrast"} & set(changes):  # the chat client scores them: its own copy (the connection shared)
            self.chat = copy.copy(self.chat)
            self.chat.target, self.chat.contrast = self.target, self.contrast

    def quantity(self) -> str | None:
        return log_probability(self.target, self.contrast)

    def settings(self) -> dict:
        return {**self.chat.settings(), "kind": "openai-chat", "template": self.template}

    def score(self, texts: list[str]) -> np.ndarray:
        return self.chat.score([None] * len(texts), [self.template.format(text=t) for t in texts])


class ChatVisionValue(ValueFunction):
    """A served VLM bound to joint parts (``image`` + ``text``): ``masks -> log P(target | image, prompt)``."""

    def __init__(self, scorer: ChatVisionScorer, parts, template: str = "{text}", masking: str = "remove"):
        if "{text}" not in template:
            raise ValueError("the template needs {text} where the (masked) prompt goes")
        if set(parts.groups) != {"image", "text"}:
            raise ValueError(f"give JointParts with groups 'image' and 'text'; got {sorted(parts.groups)}")
        self.scorer, self.parts, self.template, self.masking = scorer, parts, template, masking
        self.n, self.labels = parts.n, parts.labels
        image, text = parts.groups["image"], parts.groups["text"]
        self.fingerprint = identity_hash(
            {
                "model": scorer.model_id,
                "settings": scorer.settings(),
                "template": template,
                "masking": masking,
                "image": image.digest(),
                "pieces": text.pieces,
                "render": RENDER_VERSION,
            }
        )

    @property
    def quantity(self) -> str:
        q = f"log P({self.scorer.target!r} | image, prompt)"
        return q + (f" − log P({self.scorer.contrast!r} | image, prompt)" if self.scorer.contrast else "")

    def describe(self) -> Source:
        """The served model, the answer explained and the prompt's text."""
        return Source(model=self.scorer.model_id, target=self.scorer.target, input=self.parts.groups["text"].text)

    def __call__(self, masks) -> np.ndarray:
        inputs = self.parts.compose(masks, self.masking)
        return self.scorer.score(inputs["image"], [self.template.format(text=t) for t in inputs["text"]])
