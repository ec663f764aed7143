"""Text models as value functions.

A *text scorer* maps a list of texts to one float each (a class logit, a target log-probability…).
``scorer.value_function(parts)`` binds it to a text cut into parts and gives a plain callable under
the contract — ``masks (q, n) bool -> (q,) floats`` — that renders each masked text and scores it.
Its ``fingerprint`` (a hash of the model id, its scoring settings, the text, the parts and the
masking) names the function exactly, so an on-disk query cache can tell its values apart from any
other function's.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..contract import ValueFunction, check_masks
from ..digest import identity_hash
from ..parts.text import RENDER_VERSION, TextParts, _check_masking
from ..provenance import Source
from ..validate import is_whole


def check_template(template) -> str:
    """A prompt template with one ``{text}`` and no other replacement field (literal braces doubled)."""
    if not isinstance(template, str) or "{text}" not in template:
        raise ValueError(
            f"template must be a string containing '{{text}}' where the (masked) text goes; got {template!r}"
        )
    try:
        template.format(text="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"template {template!r} has braces other than {{text}} ({type(exc).__name__}: {exc}); "
            'write literal braces twice, e.g. \'{{"q": "{text}"}}\''
        ) from None
    return template


def check_max_new_tokens(value) -> int:
    """The most tokens a generated target may have: a positive integer (0 or less would generate nothing)."""
    if not is_whole(value, 1):
        raise ValueError(f"max_new_tokens must be a positive integer, got {value!r}")
    return int(value)


def check_contrast(target, contrast) -> None:
    """Refuse a contrast that leaves nothing to explain: empty, or the target itself (the score would be
    ``log P(target) − log P(target) = 0`` for every mask, a run of model time for an explanation of 0)."""
    if contrast is None:
        return
    if not isinstance(contrast, str) or contrast == "":
        raise ValueError(f"contrast must be a non-empty continuation (or None for none), got {contrast!r}")
    if contrast == target:
        raise ValueError(
            f"the contrast {contrast!r} is the target itself: log P(target) − log P(contrast) is 0 for every "
            "input, so there is nothing to explain; give another contrast (e.g. ' negative' against ' positive') "
            "or leave it out"
        )


class TextScorer(ABC):
    """A model that gives one float per text.

    Subclasses set ``model_id`` and implement :meth:`score`; :meth:`settings` lists what changes the
    scores (target, class, output…), and :meth:`prepare` may look at the full text once before
    masking starts (e.g. to generate the target continuation).
    """

    #: identifies the model (its name, path or URL) in fingerprints
    model_id: str = "text-model"
    #: the tokenizer, when the model has one (for ``parts="tokens"`` and ``masking="mask"``)
    tokenizer = None
    #: names of the outputs when :meth:`score` gives several per text (``(len(texts), m)``: the tokens of
    #: a target, a classifier's labels); None for one float per text
    outputs: list[str] | None = None
    #: name of the outputs' sum when it means something (the whole target sequence), else None
    total: str | None = None
    #: the scoring settings a copy may change per input (:meth:`with_settings`), e.g. a dataset record's own
    #: ``target``; each model kind names its own
    adjustable: tuple[str, ...] = ()

    @abstractmethod
    def score(self, texts: list[str]) -> np.ndarray:
        """One float per text, or ``(len(texts), m)`` floats when the scorer has ``outputs``."""

    def settings(self) -> dict[str, Any]:
        """What (besides the model) decides the scores; part of the fingerprint."""
        return {}

    def model_identity(self) -> dict[str, Any]:
        """What identifies the model itself: its id, plus (in subclasses) a weights hash, a package
        version, the server's own model name, the dtype and device class."""
        return {"id": self.model_id}

    def identity(self) -> dict[str, Any]:
        """Everything that can change this scorer's answers (model and scoring settings).

        :class:`TextValueFunction` hashes this, with the text, parts and masking, into its
        ``fingerprint``: the one place a text value function's cache identity is computed.
        """
        return {"model": self.model_identity(), "settings": self.settings()}

    def context_note(self, text: str) -> str | None:
        """A warning when ``text`` is longer than the model reads (what is dropped), else None."""
        tok = self.tokenizer
        limit = getattr(tok, "model_max_length", None) if tok is not None else None
        if not isinstance(limit, int) or limit <= 0 or limit > 10**7:
            return None
        n_tokens = len(tok(text, add_special_tokens=False)["input_ids"])
        if n_tokens <= limit:
            return None
        return (
            f"the text is {n_tokens:,} tokens but {self.model_id} reads at most {limit:,}: the last "
            f"{n_tokens - limit:,} tokens are cut off or rejected, so parts there cannot matter; explain a shorter text"
        )

    def prepare(self, text: str) -> None:  # noqa: B027 - optional hook
        """Called once with the full text before any masked text is scored."""

    def with_settings(self, **changes) -> TextScorer:
        """A copy of this scorer (sharing its weights and tokenizer) that scores with ``changes``.

        ``changes`` name settings of :attr:`adjustable` (``target``, ``contrast``, ``template``); a value of
        None keeps the current one. Raises ``ValueError`` for a setting this model does not take, or a
        value it refuses (an unknown class or label). The copy's :meth:`prepare` leaves this one as it is.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        for key in changes:
            if key not in self.adjustable:
                takes = ", ".join(self.adjustable) or "none of target, contrast, template"
                raise ValueError(f"{self.model_id} takes no {key!r} (it takes {takes})")
        twin = copy.copy(self)
        twin._adjust(changes)
        check_contrast(getattr(twin, "target", None), getattr(twin, "contrast", None))
        return twin

    def for_target(self, target) -> TextScorer:
        """:meth:`with_settings` for the target alone (a continuation, class or label, by model kind)."""
        return self.with_settings(target=target)

    def _adjust(self, changes: dict[str, Any]) -> None:
        """Apply checked ``changes`` to this copy; model kinds that convert or check a value override this."""
        for key, value in changes.items():
            setattr(self, key, str(value) if key in ("target", "contrast") else value)

    def input_length(self, texts: list[str]) -> tuple[int, int | None, str]:
        """``(length, limit, unit)`` of ``texts`` (one input) as the model reads it: a length beyond ``limit``
        means parts there have no effect. ``limit`` None: no known limit (the default)."""
        return 0, None, "tokens"

    def quantity(self) -> str | None:
        """What the score is, in words (``'log P(" positive" | text)'``, ``"logit of 'toxic'"``); None: unknown."""
        return None

    @property
    def mask_token(self) -> str | None:
        """The tokenizer's mask token, else its pad token, else its unknown token."""
        tok = self.tokenizer
        for name in ("mask_token", "pad_token", "unk_token"):
            value = getattr(tok, name, None) if tok is not None else None
            if value:
                return str(value)
        return None

    def value_function(self, parts: TextParts, masking: str = "remove", replacement: str | None = None):
        """Bind this model to ``parts``: a value function ``masks -> scores`` (see :class:`TextValueFunction`)."""
        return TextValueFunction(self, parts, masking, replacement)


class TextValueFunction(ValueFunction):
    """A text model bound to a text cut into parts: ``masks (q, n) -> (q,)`` scores of the masked texts.

    Parameters
    ----------
    scorer : TextScorer
        The model.
    parts : TextParts
        The text and its parts.
    masking : {"remove", "mask", "replace"}, default "remove"
        How a masked part is hidden (see :mod:`spectrex.parts.text`).
    replacement : str, optional
        The text put in place of a masked part: for ``"mask"`` the tokenizer's mask token (default),
        for ``"replace"`` any fixed string (default ``"_"``).

    Attributes
    ----------
    fingerprint : str
        Hash of the scorer's :meth:`TextScorer.identity` (model identity and every scoring
        setting), the text, its parts and the masking.
    n : int
        Number of parts.
    labels : list of str
        The parts' texts.
    """

    def __init__(self, scorer: TextScorer, parts: TextParts, masking: str = "remove", replacement: str | None = None):
        if not isinstance(parts, TextParts):
            raise TypeError(f"parts must be TextParts (from split_text or from_documents), got {type(parts).__name__}")
        if masking == "mask" and replacement is None:
            replacement = scorer.mask_token
            if replacement is None:
                raise ValueError("masking='mask' needs a tokenizer with a mask/pad token; use masking='remove'")
        if masking == "replace" and replacement is None:
            replacement = "_"
        self.masking = _check_masking(masking, replacement)
        self.replacement = replacement if masking != "remove" else None
        self.scorer, self.parts = scorer, parts
        scorer.prepare(parts.text)
        self.fingerprint = identity_hash(
            {
                **scorer.identity(),
                "pieces": parts.pieces,
                "prefix": parts.prefix,
                "masking": self.masking,
                "replacement": self.replacement,
                "render": RENDER_VERSION,
            }
        )

    @property
    def n(self) -> int:
        return self.parts.n

    @property
    def outputs(self) -> list[str] | None:
        """The scorer's output names when it gives several per text (tokens, labels), else None."""
        return self.scorer.outputs

    @property
    def total(self) -> str | None:
        return self.scorer.total

    @property
    def quantity(self) -> str | None:
        """The scorer's :meth:`~TextScorer.quantity` (one output; several outputs are named one by one)."""
        return None if self.scorer.outputs else self.scorer.quantity()

    @property
    def labels(self) -> list[str]:
        return list(self.parts.labels)

    def describe(self) -> Source:
        """The model, what it scores (target, contrast, template, chat turns) and how the text was cut."""
        sc = self.scorer
        chat = bool(getattr(sc, "chat", False))
        return Source(
            model=sc.model_id, target=getattr(sc, "target", None), fingerprint=self.fingerprint,
            contrast=getattr(sc, "contrast", None), template=getattr(sc, "template", None),
            chat=True if chat else None, system=sc.system if chat else None,
            parts=self.parts.unit, masking=self.masking, input=self.parts.text,
        )  # fmt: skip

    def texts(self, masks) -> list[str]:
        """The masked texts the model sees for ``masks``."""
        return self.parts.render_many(masks, self.masking, self.replacement)

    def __call__(self, masks) -> np.ndarray:
        masks = check_masks(masks, self.n)
        return np.asarray(self.scorer.score(self.texts(masks)), dtype=np.float64)

    def __repr__(self) -> str:
        return f"TextValueFunction({self.scorer.model_id}, {self.n} {self.parts.unit}, masking={self.masking!r})"


def log_probability(target, contrast=None) -> str | None:
    """The quantity of a language model scoring ``target`` after the text (minus ``contrast``)."""
    if not isinstance(target, str):
        return None
    text = f"log P({json.dumps(target, ensure_ascii=False)} | text)"
    return text + (f" − log P({json.dumps(contrast, ensure_ascii=False)} | text)" if contrast else "")


def logit_of(target) -> str | None:
    """The quantity of a classifier scoring the class or label ``target`` (None: no target)."""
    return f"logit of {target!r}" if target is not None else None


def first_line(continuation: str) -> str:
    """The continuation up to the end of its first non-blank line, leading new lines kept.

    A model often starts its answer on a new line ("\\n\\nThe answer is …"); cutting at the first
    new line would leave nothing, so the blank lines stay part of the explained target.
    """
    body = continuation.lstrip()
    lead = continuation[: len(continuation) - len(body)]
    return lead + body.split("\n")[0] if body else continuation


class FunctionScorer(TextScorer):
    """A plain function ``list[str] -> floats`` used as a text model (your own classifier, an API call…).

    Parameters
    ----------
    fn : callable
        Takes a list of texts, returns one float per text.
    template : str, optional
        Prompt with ``{text}`` where the (masked) text goes; the function sees the filled prompts.

    Its identity in fingerprints is the function's module, name and compiled code, so editing the
    function changes it; a lambda or closure whose captured state changes keeps it, so pass a
    ``cache_key`` of your own when caching the answers of such a function.
    """

    adjustable = ("template",)

    def __init__(self, fn, template: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"model must be a name, a TextScorer or a function list[str] -> floats; got {fn!r}")
        self.fn = fn
        self.template = check_template(template) if template is not None else None
        name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        self.model_id = f"{getattr(fn, '__module__', None) or '?'}.{name}"

    def model_identity(self) -> dict[str, Any]:
        call = vars(type(self.fn)).get("__call__")  # a callable object: its class's method
        code = getattr(self.fn, "__code__", None) or getattr(call, "__code__", None)
        return {"id": self.model_id, "code": identity_hash(code.co_code.hex()) if code is not None else None}

    def settings(self) -> dict[str, Any]:
        return {"template": self.template}

    def score(self, texts: list[str]) -> np.ndarray:
        if self.template is not None:
            texts = [self.template.format(text=t) for t in texts]
        answer = self.fn(list(texts))
        try:
            out = np.asarray(answer, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"the model function {self.model_id} returned {type(answer).__name__} ({exc}); return one float "
                "per text"
            ) from None
        if out.shape[0] != len(texts):
            raise ValueError(
                f"the model function {self.model_id} returned {out.shape[0]} values for {len(texts)} texts; "
                "return one float per text"
            )
        return out
