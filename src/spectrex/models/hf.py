"""Hugging Face models as text scorers: causal-LM target log-probabilities and sequence-classifier outputs.

torch and transformers are imported only when one of these is built (the ``models`` extra).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpectrexError
from ..validate import check_flag, is_whole
from ._identity import folder_identity
from .base import (
    TextScorer,
    check_contrast,
    check_max_new_tokens,
    check_template,
    first_line,
    log_probability,
    logit_of,
)


def auto_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when a GPU is visible, else ``"mps"`` on Apple silicon, else ``"cpu"``."""
    import torch

    if device:
        kind = str(device).split(":")[0].lower()
        if kind == "cuda" and not torch.cuda.is_available():
            raise SpectrexError(
                f"--device {device} was asked for, but this torch ({torch.__version__}) sees no CUDA GPU; "
                "leave out --device (spectrex then uses a GPU when there is one) or pass --device cpu"
            )
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise SpectrexError(f"--device {device} was asked for, but no Apple GPU is available; pass --device cpu")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _default_dtype(device: str):
    import torch

    # bf16 halves memory and doubles throughput on GPUs; on CPU float32 is both faster and exact
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def _device_class(device: str) -> str:
    """``"cuda"`` for ``"cuda:1"``: answers depend on the kind of device, not on which one."""
    return str(device).split(":")[0]


def _torch_identity(model, model_id: str, weights: str | None) -> dict[str, Any]:
    """Model identity of a torch model: id, weights hash (or the hub revision), dtype, device class."""
    param = next(model.parameters())
    config = getattr(model, "config", None)
    revision = getattr(config, "_commit_hash", None) if config is not None else None
    return {
        "id": model_id,
        "weights": weights or revision,
        "dtype": str(param.dtype),
        "device": _device_class(str(param.device)),
    }


class CausalLMScorer(TextScorer):
    """log P(target | prompt) of a causal LM, where the prompt is built from the (masked) text.

    Parameters
    ----------
    model, tokenizer
        A transformers causal LM and its tokenizer.
    target : str, optional
        The continuation to score. When omitted it is generated once, greedily, from the full
        (unmasked) prompt, so the explanation says why the model produced what it produced.
    contrast : str, optional
        A second continuation whose log-probability is subtracted (e.g. target ``" positive"``,
        contrast ``" negative"`` for zero-shot sentiment).
    template : str, default "{text}"
        The prompt; ``{text}`` is replaced by the masked text.
    max_new_tokens : int, default 12
        Length limit of a generated target (generation also stops at a new line).
    batch_size : int, optional
        Most prompts per forward pass. Default: none — each call is one forward pass, so the query
        engine's batch (``batch_size="auto"``: grown on CPU while a pass is quick, halved on a GPU
        out-of-memory error) is exactly what reaches the model.
    model_id : str, optional
        Name used in fingerprints (default: the model's ``name_or_path``).
    weights_id : str, optional
        What identifies the weights in fingerprints (a folder hash, a package version); default:
        the hub revision when the config has one.
    per_token : bool, default False
        Score each token of the target separately: ``m`` outputs per text (log P(token | prompt,
        earlier target tokens)), from the same forward pass, named by the tokens' text; their sum
        (``total``, "sequence") is the whole target's log-probability.
    chat : bool, default False
        Prompt as chat models are prompted: the tokenizer's chat template around one user message
        (``template`` with the masked text in it), ending with the assistant turn's opening. Parts are
        cut from the user message only, so no token of the chat template is ever masked.
    system : str, optional
        The system prompt of a chat (``chat=True`` only).
    prefix_cache : bool, default True
        Reuse the key/value cache of the prompt text that every prompt of a batch starts with (a
        system prompt, the chat template, few-shot examples, the instructions before ``{text}``):
        it is computed once, and each forward pass runs only the rest. The log-probabilities equal
        the plain path's up to float round-off (about 1e-6 in float32); ``False`` runs every prompt whole.

    Notes
    -----
    Prompts are left-padded so that every target sits in the same last positions of the batch; only
    those positions' logits are computed (``logits_to_keep``), so memory does not grow with the
    vocabulary times the prompt length.
    """

    #: a record may bring its own continuation, contrast and prompt
    adjustable = ("target", "contrast", "template")

    def __init__(
        self,
        model,
        tokenizer,
        target: str | None = None,
        contrast: str | None = None,
        template: str = "{text}",
        max_new_tokens: int = 12,
        batch_size: int | None = None,
        model_id: str | None = None,
        weights_id: str | None = None,
        per_token: bool = False,
        chat: bool = False,
        system: str | None = None,
        prefix_cache: bool = True,
    ) -> None:
        check_template(template)
        chat, per_token = check_flag("chat", chat), check_flag("per_token", per_token)
        if system is not None and not chat:
            raise ValueError("a system prompt belongs to a chat: pass chat=True (--chat) with system=… (--system)")
        if chat and not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"chat=True needs a tokenizer with a chat template, and {type(tokenizer).__name__} of this model has "
                "none (a base model, not a chat/instruct one); leave out chat=True (--chat), or build the prompt "
                "with --template"
            )
        self.chat, self.system = chat, system
        self.prefix_cache = check_flag("prefix_cache", prefix_cache)
        #: (prefix token ids, their key/value cache) of the last shared prefix computed
        self._prefix: tuple[tuple[int, ...], Any] | None = None
        if per_token and contrast is not None:
            raise ValueError(
                "per_token explains each token of the target; with a contrast the explained number is a difference "
                "of two sequences, which has no tokens of its own: leave out contrast, or per_token"
            )
        self.per_token = per_token
        self.model, self.tokenizer = model, tokenizer
        self.device = str(next(model.parameters()).device)
        self.template, self.contrast = template, contrast
        self.max_new_tokens = check_max_new_tokens(max_new_tokens)
        self.batch_size = _check_batch(batch_size)
        self.weights_id = weights_id
        self.model_id = model_id or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        self.target = target
        if target is not None and target == "":
            raise ValueError("target must be a non-empty continuation (or None to generate one)")
        check_contrast(target, contrast)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        model.eval()

    # -- settings ---------------------------------------------------------------------------
    def quantity(self) -> str | None:
        return log_probability(self.target, self.contrast)

    def settings(self) -> dict[str, Any]:
        settings = {
            "kind": "causal-lm",
            "target": self.target,
            "contrast": self.contrast,
            "template": self.template,
            "max_new_tokens": self.max_new_tokens,
        }
        if self.per_token:  # only when set: the fingerprints (and caches) of one-output runs stay as they were
            settings["per_token"] = True
        if self.chat:
            settings.update(chat=self.tokenizer.chat_template, system=self.system)
        return settings

    def input_length(self, texts: list[str]) -> tuple[int, int | None, str]:
        """Tokens of the prompt plus the longest continuation scored (or the generation's limit), against the
        model's positions."""
        limit = _positions(self.model)
        if limit is None:
            return 0, None, "tokens"
        tok = self.tokenizer
        prompt = self.template.format(text="\n\n".join(texts))
        ends = [c for c in (self.target, self.contrast) if isinstance(c, str) and c]
        if ends:  # the longest continuation scored after the prompt
            extra = max(len(tok(c, add_special_tokens=False)["input_ids"]) for c in ends)
        else:  # a continuation still to be generated
            extra = self.max_new_tokens
        return len(tok(prompt)["input_ids"]) + extra, limit, "tokens"

    def prompt(self, text: str) -> str:
        """The prompt the model reads for ``text`` (a masked text): the template filled in, and with ``chat``
        the chat template applied around it as the user's message."""
        user = self.template.format(text=text)
        if not self.chat:
            return user
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + [
            {"role": "user", "content": user}
        ]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def prompt_ids(self, text: str) -> list[int]:
        """Token ids of :meth:`prompt` (a chat template writes its own begin-of-text token)."""
        return self.tokenizer(self.prompt(text), add_special_tokens=not self.chat)["input_ids"]

    @property
    def outputs(self) -> list[str] | None:
        """The target's tokens, one output each, when ``per_token`` (None: one output, the sum)."""
        if not self.per_token or self.target is None:
            return None
        ids = self.tokenizer(self.target, add_special_tokens=False)["input_ids"]
        return token_names(self.tokenizer.decode, ids)

    @property
    def total(self) -> str | None:
        """Name of the outputs' sum (the whole target's log-probability) when ``per_token``."""
        return "sequence" if self.per_token else None

    def model_identity(self) -> dict[str, Any]:
        return _torch_identity(self.model, self.model_id, self.weights_id)

    def prepare(self, text: str) -> None:
        if self.target is None:
            self.target = self.generate(text)

    def generate(self, text: str) -> str:
        """Greedy continuation of the full prompt (stops at a new line or ``max_new_tokens``)."""
        import torch

        ids = torch.tensor([self.prompt_ids(text)], device=self.device)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = self.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        new = first_line(new)
        if not new.strip():
            raise SpectrexError("the model generated no continuation for this text; pass a target explicitly")
        return new

    # -- scoring ----------------------------------------------------------------------------
    def score(self, texts: list[str]) -> np.ndarray:
        if self.target is None:
            raise SpectrexError("no target yet: pass target=… or bind the model to a text first (value_function)")
        if self.contrast is None:
            return self.logprob(texts, self.target, per_token=self.per_token)
        tok = self.tokenizer
        if all(len(tok(c, add_special_tokens=False)["input_ids"]) == 1 for c in (self.target, self.contrast)):
            # both one token: one forward pass gives both log-probabilities
            both = self._next_token_logprobs(texts, [self.target, self.contrast])
            return both[:, 0] - both[:, 1]
        return self.logprob(texts, self.target) - self.logprob(texts, self.contrast)

    def _next_token_logprobs(self, texts: list[str], tokens: list[str]) -> np.ndarray:
        ids = [self.tokenizer(c, add_special_tokens=False)["input_ids"][0] for c in tokens]
        return self._score_batches(texts, [], ids)

    def logprob(self, texts: list[str], continuation: str, per_token: bool = False) -> np.ndarray:
        """Sum of log-probabilities of ``continuation``'s tokens after each text's prompt:
        ``(len(texts),)``, or with ``per_token`` each token's, ``(len(texts), tokens)``."""
        tok = self.tokenizer
        target_ids = tok(continuation, add_special_tokens=False)["input_ids"]
        if not target_ids:
            raise ValueError(f"continuation {continuation!r} has no tokens")
        return self._score_batches(texts, target_ids, None, per_token)

    def _score_batches(
        self, texts: list[str], target_ids: list[int], next_ids: list[int] | None, per_token: bool = False
    ) -> np.ndarray:
        """Log-probs of ``target_ids`` after each prompt (summed, or each with ``per_token``), or (``next_ids``)
        the next-token log-probs."""
        import torch

        tok = self.tokenizer
        t = len(target_ids)
        prompts = [self.prompt_ids(x) for x in texts]
        order = np.argsort([len(p) for p in prompts], kind="stable")  # similar lengths share a batch
        columns = len(next_ids) if next_ids is not None else t if per_token else 0
        result = np.empty((len(texts), columns)) if columns else np.empty(len(texts))
        target = torch.tensor(target_ids, device=self.device, dtype=torch.long)
        step = self.batch_size or max(1, len(texts))
        for lo in range(0, len(texts), step):
            rows = order[lo : lo + step]
            seqs = [prompts[r] + target_ids for r in rows]
            shared = _shared_prefix([prompts[r] for r in rows]) if self.prefix_cache else 0
            if shared < MIN_SHARED_PREFIX:
                shared = 0
            width = max(len(s) for s in seqs) - shared
            ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
            attn = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, width - len(s) + shared :] = torch.tensor(s[shared:])
                attn[i, width - len(s) + shared :] = 1
            pos = (shared + attn.cumsum(1) - 1).clamp(min=shared)
            with torch.inference_mode():
                past = self._past(seqs[0][:shared], len(seqs)) if shared else None
                if past is not None:  # the prefix's keys and values are attended to by every row
                    attn = torch.cat([torch.ones((len(seqs), shared), dtype=torch.long), attn], dim=1)
                logits = self._forward(ids.to(self.device), attn.to(self.device), pos.to(self.device), t + 1, past)
                if next_ids is not None:
                    logp = torch.log_softmax(logits[:, -1].float(), dim=-1)
                    result[rows] = logp[:, next_ids].cpu().numpy()
                    continue
                logp = torch.log_softmax(logits[:, -t - 1 : -1].float(), dim=-1)
                picked = logp.gather(-1, target.expand(len(rows), t).unsqueeze(-1)).squeeze(-1)
            tokens = picked.cpu().numpy().astype(np.float64)
            # summed in float64 by numpy, as the engine sums per-token answers: the whole target's value
            # is then the same number whether it is asked for alone or as the total of its tokens
            result[rows] = tokens if per_token else tokens.sum(axis=1)
        return result

    def _past(self, prefix: list[int], batch: int):
        """The key/value cache of ``prefix`` (computed once, kept while prompts share it), repeated ``batch`` times."""
        import torch

        key = tuple(prefix)
        if self._prefix is None or self._prefix[0] != key:
            ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
            out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
            cache = getattr(out, "cache", None)
            self._prefix = (key, cache if cache is not None else out.past_key_values)
        past = copy.deepcopy(self._prefix[1])  # each pass appends its own keys: the kept one stays the prefix's
        past.batch_repeat_interleave(batch)
        return past

    def _forward(self, ids, attn, pos, keep: int, past=None):
        extra = {}
        if past is not None:  # transformers ≥ 5.20 names it ``cache``; earlier versions ``past_key_values``
            extra = {"cache" if _takes_cache(self.model) else "past_key_values": past, "use_cache": True}
        try:
            return self.model(input_ids=ids, attention_mask=attn, position_ids=pos, logits_to_keep=keep, **extra).logits
        except TypeError:  # older architectures without logits_to_keep: slice afterwards
            return self.model(input_ids=ids, attention_mask=attn, position_ids=pos, **extra).logits[:, -keep:]


class ClassifierScorer(TextScorer):
    """A Hugging Face sequence classifier's logit or probability of one class.

    Parameters
    ----------
    model, tokenizer
        A transformers ``…ForSequenceClassification`` model and its tokenizer.
    target : int or str, optional
        The class (index or label name); default: the class predicted for the full text.
    output : {"logit", "probability", "log-odds"}, default "logit"
        Logits are additive and unbounded, which suits a sparse additive explanation best;
        probabilities saturate near 0 and 1.
    batch_size : int, optional
        Most texts per forward pass (default: each call is one pass; see :class:`CausalLMScorer`).
    max_length : int, optional
        Truncate longer inputs (default: the model's limit).
    weights_id : str, optional
        What identifies the weights in fingerprints (see :class:`CausalLMScorer`).
    all_labels : bool, default False
        Score every class at once: one output per class (named by ``id2label``) from the same forward
        pass, instead of ``target``'s alone.
    """

    #: a record may name its own class
    adjustable = ("target",)
    OUTPUTS = ("logit", "probability", "log-odds")

    def __init__(
        self,
        model,
        tokenizer,
        target: int | str | None = None,
        output: str = "logit",
        batch_size: int | None = None,
        max_length: int | None = None,
        model_id: str | None = None,
        weights_id: str | None = None,
        all_labels: bool = False,
    ) -> None:
        self.all_labels = check_flag("all_labels", all_labels)
        if output not in self.OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of: {', '.join(self.OUTPUTS)}")
        self.model, self.tokenizer, self.output = model, tokenizer, output
        self.device = str(next(model.parameters()).device)
        self.batch_size = _check_batch(batch_size)
        self.weights_id = weights_id
        self.max_length = max_length
        self.model_id = model_id or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        self.target = self._class_index(target) if target is not None else None
        if tokenizer.pad_token_id is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        if getattr(model.config, "pad_token_id", None) is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model.eval()

    def _class_index(self, target) -> int:
        n_classes = int(self.model.config.num_labels)
        if isinstance(target, str) and not target.isdigit():
            names = {str(v).lower(): int(k) for k, v in (self.model.config.id2label or {}).items()}
            if target.lower() not in names:
                raise ValueError(f"unknown class {target!r}; choose one of the model's classes: {', '.join(names)}")
            return names[target.lower()]
        idx = int(target)
        if not 0 <= idx < n_classes:
            raise ValueError(
                f"class index {idx} is out of range: the model has {n_classes} classes; pass 0 to {n_classes - 1}"
            )
        return idx

    def _adjust(self, changes: dict[str, Any]) -> None:
        if "target" in changes:
            self.target = self._class_index(changes["target"])

    def input_length(self, texts: list[str]) -> tuple[int, int | None, str]:
        """Tokens of the texts against the model's positions (longer inputs are truncated)."""
        limit = _positions(self.model)
        if limit is None:
            return 0, None, "tokens"
        return len(self.tokenizer("\n\n".join(texts))["input_ids"]), limit, "tokens"

    def quantity(self) -> str | None:
        return logit_of(self.target)

    def settings(self) -> dict[str, Any]:
        settings = {"kind": "classifier", "target": self.target, "output": self.output, "max_length": self.max_length}
        if self.all_labels:
            settings["all_labels"] = True
        return settings

    @property
    def outputs(self) -> list[str] | None:
        """Every class's name when ``all_labels`` (None: the target class alone)."""
        if not self.all_labels:
            return None
        names = self.model.config.id2label or {}
        return [str(names.get(i, i)) for i in range(int(self.model.config.num_labels))]

    def model_identity(self) -> dict[str, Any]:
        return _torch_identity(self.model, self.model_id, self.weights_id)

    def prepare(self, text: str) -> None:
        if self.target is None and not self.all_labels:
            self.target = int(np.argmax(self.logits([text])[0]))

    def logits(self, texts: list[str]) -> np.ndarray:
        """All class logits, ``(len(texts), num_labels)``."""
        import torch

        out = []
        step = self.batch_size or max(1, len(texts))
        for lo in range(0, len(texts), step):
            enc = self.tokenizer(
                texts[lo : lo + step],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_length,
            ).to(self.device)
            with torch.inference_mode():
                out.append(self.model(**enc).logits.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, int(self.model.config.num_labels)))

    def score(self, texts: list[str]) -> np.ndarray:
        if self.target is None and not self.all_labels:
            raise SpectrexError("no target class yet: pass target=… or bind the model to a text first")
        z = self.logits(texts).astype(np.float64)
        classes = range(z.shape[1]) if self.all_labels else [self.target]
        if self.output == "logit":
            out = z[:, list(classes)]
        else:
            logp = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
            if self.output == "probability":
                out = np.exp(logp[:, list(classes)])
            else:
                out = np.column_stack(
                    [logp[:, c] - np.logaddexp.reduce(np.delete(logp, c, axis=1), axis=1) for c in classes]
                )
        return out if self.all_labels else out[:, 0]


def load_hf(path: str | Path, device: str | None = None, dtype=None, **settings) -> TextScorer:
    """A scorer for a local Hugging Face model folder: a causal LM or a sequence classifier (from its config)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    path = Path(path).expanduser()
    if not path.exists():
        raise SpectrexError(
            f"no model folder at {path}: hf:PATH needs a local Hugging Face model folder "
            "(with config.json); these machines do not download models"
        )
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    arch = " ".join(getattr(config, "architectures", None) or [])
    device = auto_device(device)
    dtype = dtype or _default_dtype(device)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    # the folder path alone does not name the model: a folder re-saved with other weights must not
    # be served the old answers, so the fingerprint carries a hash of what is in it
    weights = folder_identity(path)
    if "SequenceClassification" in arch:
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True, dtype=dtype)
        return ClassifierScorer(model.to(device), tok, model_id=str(path), weights_id=weights, **settings)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
    return CausalLMScorer(model.to(device), tok, model_id=str(path), weights_id=weights, **settings)


#: most bytes of one UTF-8 character, so the most tokens a byte-level tokenizer splits it into
UTF8_MAX_BYTES = 4


def token_names(decode, ids: list[int]) -> list[str]:
    """Each token's text, as the outputs of a per-token explanation are named.

    A byte-level tokenizer (GPT-2's, Llama 3's, Qwen's) splits a character it has no token for — an emoji,
    a rare letter — into tokens of its UTF-8 bytes, and each decodes alone to U+FFFD ("�"). Such a run is
    decoded together and each of its tokens named after the text with its place in the run: ``"😀[1/3]"``,
    ``"😀[2/3]"``, ``"😀[3/3]"``. Bytes that no run of :data:`UTF8_MAX_BYTES` tokens completes keep "�".
    """
    names: list[str] = []
    i = 0
    while i < len(ids):
        text = decode(ids[i : i + 1])
        run = 1
        if "\ufffd" in text:  # bytes of a character cut by the tokenizer: join the next tokens until it is whole
            for j in range(i + 2, min(i + UTF8_MAX_BYTES, len(ids)) + 1):
                joined = decode(ids[i:j])
                if "\ufffd" not in joined:
                    text, run = joined, j - i
                    break
        names += [text] if run == 1 else [f"{text}[{k}/{run}]" for k in range(1, run + 1)]
        i += run
    return names


def _positions(model) -> int | None:
    """The positions a transformers model reads (``config.max_position_embeddings``), if it says."""
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return limit if isinstance(limit, int) else None


def _takes_cache(model) -> bool:
    import inspect

    return "cache" in inspect.signature(model.forward).parameters


#: shortest shared prompt prefix (tokens) worth a key/value cache of its own
MIN_SHARED_PREFIX = 16


def _shared_prefix(prompts: list[list[int]]) -> int:
    """Tokens every prompt starts with, leaving each prompt's last token out (its logits score the target)."""
    shortest = min(len(p) for p in prompts) - 1
    if shortest <= 0:
        return 0
    head = np.array([p[:shortest] for p in prompts])
    differs = np.flatnonzero((head != head[0]).any(axis=0))
    return int(differs[0]) if differs.size else shortest


def _check_batch(batch_size) -> int | None:
    if batch_size is None:
        return None
    if not is_whole(batch_size, 1):
        raise ValueError(
            f"batch_size must be a positive integer (or None: one forward pass per call), got {batch_size!r}"
        )
    return int(batch_size)
