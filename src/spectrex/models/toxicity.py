"""The ``toxic-comment-classifier`` BiLSTM, ported to torch (no TensorFlow/Keras at run time).

The PyPI package ships Keras weights (``model.weights.h5``) and a pickled Keras ``Tokenizer``, and
imports TensorFlow to use them. Install it with ``pip install --no-deps toxic-comment-classifier``:
spectrex reads the weights with h5py into ``torch.nn.LSTM`` and unpickles the tokenizer's word index
through a small stand-in class, so neither TensorFlow nor Keras is needed.

The network (rebuilt exactly as the package builds it): 100 word ids (left-padded with 0, the
first 100 kept from the end) → 50-d embedding → bidirectional LSTM (50 units each way) → max over time →
dense 50 + ReLU → dense 6 + sigmoid, one output per label in :data:`LABELS`. A text with more known
words than 100 is said (:meth:`ToxicityScorer.context_note`, warned by ``explain_text``): its first
words are not read.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpectrexError
from ..validate import check_flag, is_whole
from .base import TextScorer, logit_of

PACKAGE = "toxic-comment-classifier"
LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
MAXLEN = 100
# Keras' Tokenizer defaults, as pickled in the package
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans(_FILTERS, " " * len(_FILTERS))


class _KerasTokenizerStandIn:
    """Receives the pickled Keras ``Tokenizer``'s attributes (only ``word_index`` and ``num_words`` are used)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name == "Tokenizer" and module.startswith(("keras", "tensorflow")):
            return _KerasTokenizerStandIn
        if module in ("collections", "builtins"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in the tokenizer pickle")


def _package_dir() -> Path:
    # find the package without importing it: its __init__ imports TensorFlow
    spec = importlib.util.find_spec("toxic_classifier")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model" if spec else None
    if folder is None or not (folder / "model.weights.h5").exists():
        raise SpectrexError(
            f"the toxicity model needs the {PACKAGE!r} package; install it with "
            f"`pip install --no-deps {PACKAGE}` (its TensorFlow dependency is not needed by spectrex)"
        )
    return folder


class ToxicityScorer(TextScorer):
    """Toxicity BiLSTM: the logit (default) or probability of one of its six labels.

    Parameters
    ----------
    label : str, default "toxic"
        One of :data:`LABELS`.
    output : {"logit", "probability"}, default "logit"
        The sigmoid's input (additive, unbounded) or its output.
    batch_size : int, default 1024
        Texts per forward pass.
    all_labels : bool, default False
        Score the six labels at once (one output each, from the same forward pass) instead of ``label``.
    """

    model_id = "toxic-comment-classifier-0.3.0"
    #: a record's target is one of the six labels
    adjustable = ("target",)

    def __init__(
        self, label: str = "toxic", output: str = "logit", batch_size: int = 1024, all_labels: bool = False
    ) -> None:
        import torch

        self.all_labels = check_flag("all_labels", all_labels)
        if not is_whole(batch_size, 1):
            raise ValueError(f"batch_size must be a positive integer (texts per forward pass), got {batch_size!r}")
        if label not in LABELS:
            raise ValueError(f"unknown toxicity label {label!r}; choose one of: {', '.join(LABELS)}")
        if output not in ("logit", "probability"):
            raise ValueError(f"output must be 'logit' or 'probability', got {output!r}")
        self.label, self.output, self.batch_size = label, output, int(batch_size)
        self.target = label
        folder = _package_dir()
        with open(folder / "tokenizer.pickle", "rb") as fh:
            tok = _Unpickler(fh).load()
        num_words = int(tok.num_words or 10**9)
        # Keras keeps only ids below num_words when converting texts
        self.word_index = {w: i for w, i in tok.word_index.items() if i < num_words}
        self.net = _BiLSTM()
        self.net.load_keras(folder / "model.weights.h5")
        self.net.eval()
        self._torch = torch

    def quantity(self) -> str | None:
        return logit_of(self.target)

    def settings(self) -> dict[str, Any]:
        settings = {"kind": "toxicity", "label": self.label, "output": self.output}
        if self.all_labels:  # only when set: one-label fingerprints (and caches) stay as they were
            settings = {"kind": "toxicity", "all_labels": True, "output": self.output}
        return settings

    @property
    def outputs(self) -> list[str] | None:
        """The six labels when ``all_labels``, else None (one output: ``label``)."""
        return list(LABELS) if self.all_labels else None

    def _adjust(self, changes: dict[str, Any]) -> None:
        if "target" in changes:
            label = changes["target"]
            if label not in LABELS:
                raise ValueError(f"unknown toxicity label {label!r}; choose one of: {', '.join(LABELS)}")
            self.label = self.target = label

    def input_length(self, texts: list[str]) -> tuple[int, int | None, str]:
        """Known words against the 100 the model reads (words split at white space and punctuation, so the
        pieces' counts add up to the text's)."""
        pieces = [w for t in texts for w in t.split()]
        ids = self.encode(pieces) if pieces else np.zeros((0, MAXLEN))
        return int(np.count_nonzero(ids)), MAXLEN, "known words"

    def _known_words(self, text: str) -> list[tuple[str, int]]:
        """(word, id) of each word the model knows, in order, as the package's Keras pipeline reads them."""
        words = text.lower().translate(_TABLE).split(" ")
        return [(w, self.word_index[w]) for w in words if w in self.word_index]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Word ids as the package's Keras pipeline makes them: ``(len(texts), 100)`` int64, left-padded."""
        out = np.zeros((len(texts), MAXLEN), dtype=np.int64)
        for r, text in enumerate(texts):
            ids = [i for _, i in self._known_words(text)][-MAXLEN:]  # Keras pad_sequences truncates the front
            if ids:
                out[r, MAXLEN - len(ids) :] = ids
        return out

    def context_note(self, text: str) -> str | None:
        """A warning when ``text`` has more known words than the 100 the model reads (the first are dropped)."""
        words = [w for w, _ in self._known_words(text)]
        if len(words) <= MAXLEN:
            return None
        dropped = words[: len(words) - MAXLEN]
        shown = " ".join(dropped) if len(dropped) <= 8 else " ".join(dropped[:4]) + " … " + " ".join(dropped[-3:])
        return (
            f"the text is {len(words):,} words known to {self.model_id} but it reads only the last {MAXLEN}: "
            f"the first {len(dropped):,} words ('{shown}') are dropped, so parts there matter only in masks that "
            "hide enough later words; explain a shorter text"
        )

    def logits(self, texts: list[str]) -> np.ndarray:
        """The six label logits, ``(len(texts), 6)``."""
        torch = self._torch
        ids = self.encode(texts)
        out = np.empty((len(texts), len(LABELS)))
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                out[lo : lo + self.batch_size] = self.net(torch.from_numpy(ids[lo : lo + self.batch_size])).numpy()
        return out

    def score(self, texts: list[str]) -> np.ndarray:
        z = self.logits(texts)
        z = z if self.all_labels else z[:, LABELS.index(self.label)]
        return z if self.output == "logit" else 1.0 / (1.0 + np.exp(-z))


def _BiLSTM():
    import torch
    from torch import nn

    class BiLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(20000, 50)
            self.lstm = nn.LSTM(50, 50, batch_first=True, bidirectional=True)
            self.dense = nn.Linear(100, 50)
            self.out = nn.Linear(50, len(LABELS))

        def forward(self, ids):
            h, _ = self.lstm(self.embedding(ids))
            return self.out(torch.relu(self.dense(h.max(dim=1).values)))  # logits (sigmoid left to the caller)

        def load_keras(self, path: Path) -> None:
            import h5py

            with h5py.File(path, "r") as f:
                w = {name: torch.from_numpy(np.asarray(obj)) for name, obj in _datasets(f)}
            with torch.no_grad():
                self.embedding.weight.copy_(w["layers/embedding/vars/0"])
                for keras_dir, suffix in (("forward_layer", ""), ("backward_layer", "_reverse")):
                    cell = f"layers/bidirectional/{keras_dir}/cell/vars/"
                    # Keras kernels are (in, 4·units) with gates i, f, c, o — torch's order, transposed
                    getattr(self.lstm, f"weight_ih_l0{suffix}").copy_(w[cell + "0"].T)
                    getattr(self.lstm, f"weight_hh_l0{suffix}").copy_(w[cell + "1"].T)
                    getattr(self.lstm, f"bias_ih_l0{suffix}").copy_(w[cell + "2"])
                    getattr(self.lstm, f"bias_hh_l0{suffix}").zero_()
                self.dense.weight.copy_(w["layers/dense/vars/0"].T)
                self.dense.bias.copy_(w["layers/dense/vars/1"])
                self.out.weight.copy_(w["layers/dense_1/vars/0"].T)
                self.out.bias.copy_(w["layers/dense_1/vars/1"])

    return BiLSTM()


def _datasets(group, prefix: str = ""):
    import h5py

    for key, obj in group.items():
        name = f"{prefix}{key}"
        if isinstance(obj, h5py.Dataset):
            yield name, obj
        else:
            yield from _datasets(obj, name + "/")
