"""Text split into parts, and the masked texts a model sees.

A :class:`TextParts` is a text cut into consecutive *pieces*: each piece is one part (a token, a word,
a sentence, a paragraph or a document) followed by the white space after it, so joining all the
pieces gives back the text exactly. Each part keeps its text as its label.

Masking (``TextParts.render``) builds the text for a mask (``True`` = part kept):

- ``"remove"`` (the default) drops a masked part as if it had never been in the text: the kept
  parts keep the white space that followed each of them, and the last kept part is followed by the
  text's own ending (its trailing white space, usually none) — so removing the last word of
  ``"… bad at all."`` gives ``"… bad at"``, never ``"… bad at "``, and a template around the text
  sees no stray space exactly when the last part is removed (which would be attributed to that
  part). The result is ordinary text, which is what causal LMs and API models were trained on: they have no
  mask token, and a pad or placeholder token in the middle of a prompt is something they never saw
  in training, so it would measure the model's reaction to the placeholder rather than to the
  missing content. Removal is also what SPEX/ProxySPEX and ContextCite use for LLM prompts.
- ``"mask"`` puts the tokenizer's mask token in place of the part (its pad token, then its unknown
  token when it has no mask token): the usual choice for masked-language-model classifiers (BERT
  style), which were trained with such a token.
- ``"replace"`` puts a fixed string (``replacement``, default ``"_"``) in place of the part, which
  keeps the positions of the remaining parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..contract import check_masks

UNITS = ("tokens", "words", "sentences", "paragraphs", "documents")
#: how "remove" renders (in fingerprints: answers cached for another rendering are not reused)
RENDER_VERSION = "remove-clean-ending/2"
MASKINGS = ("remove", "mask", "replace")

_WORD = re.compile(r"\S+")
# a sentence ends at . ! or ? (optionally followed by closing quotes/brackets) before white space
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


class TextParts:
    """A text cut into parts.

    Parameters
    ----------
    pieces : sequence of str
        Consecutive pieces: each is a part's text followed by the white space after it.
    prefix : str, default ""
        Text before the first part (leading white space); always kept.
    unit : str, default "custom"
        What a part is (``"words"``, ``"sentences"``, …), for display and fingerprints.

    Attributes
    ----------
    labels : list of str
        Each part's text without the surrounding white space.
    """

    def __init__(self, pieces: Sequence[str], prefix: str = "", unit: str = "custom") -> None:
        self.pieces = [str(p) for p in pieces]
        self.prefix = str(prefix)
        self.unit = unit
        self.labels = [p.strip() or p for p in self.pieces]

    @property
    def text(self) -> str:
        """The full text (every part kept)."""
        return self.prefix + "".join(self.pieces)

    @property
    def n(self) -> int:
        return len(self.pieces)

    def __len__(self) -> int:
        return len(self.pieces)

    def __repr__(self) -> str:
        return f"TextParts({self.n} {self.unit}: {self.labels[:5]}{' …' if self.n > 5 else ''})"

    def render(self, mask, masking: str = "remove", replacement: str | None = None) -> str:
        """The text with only the parts where ``mask`` is True (see the module docstring for ``masking``)."""
        mask = np.asarray(mask, dtype=bool).reshape(-1)
        if mask.shape[0] != self.n:
            raise ValueError(f"mask has {mask.shape[0]} entries but the text has {self.n} parts")
        masking = _check_masking(masking, replacement)
        out = [self.prefix]
        if masking == "remove":
            kept = np.flatnonzero(mask)
            out.extend(self.pieces[i] for i in kept)
            if kept.size == 0 or kept[-1] != self.n - 1:
                # the last kept part ends the text: the text's own ending follows it, not its old gap
                if kept.size:
                    out[-1] = _core(out[-1])
                out.append(self._ending)
            return "".join(out)
        for keep, piece in zip(mask, self.pieces):
            out.append(piece if keep else replacement + piece[len(_core(piece)) :])
        return "".join(out)

    @property
    def _ending(self) -> str:
        """The white space after the last part (the text's own ending)."""
        last = self.pieces[-1] if self.pieces else ""
        return last[len(_core(last)) :]

    def render_many(self, masks, masking: str = "remove", replacement: str | None = None) -> list[str]:
        """:meth:`render` for each row of a ``(q, n)`` mask array."""
        masks = check_masks(masks, self.n)
        return [self.render(m, masking, replacement) for m in masks]


def _core(piece: str) -> str:
    """A piece without the white space after its part (a piece that is only white space is its own part)."""
    return piece.rstrip() or piece


def _check_masking(masking: str, replacement: str | None) -> str:
    if masking not in MASKINGS:
        raise ValueError(f"unknown masking {masking!r}; choose one of: {', '.join(MASKINGS)}")
    if masking != "remove" and replacement is None:
        raise ValueError(f"masking={masking!r} needs the replacement text (a mask token or a fixed string)")
    return masking


def _from_starts(text: str, starts: list[int], unit: str) -> TextParts:
    starts = sorted(set(starts))
    bounds = [*starts, len(text)]
    pieces = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return TextParts(pieces, prefix=text[: starts[0]] if starts else text, unit=unit)


def split_text(text: str, unit: str = "words", tokenizer=None) -> TextParts:
    """Split ``text`` into parts.

    Parameters
    ----------
    text : str
        The input.
    unit : {"words", "sentences", "paragraphs", "tokens"}
        Words are runs of non-space characters (punctuation stays with its word); sentences end at
        ``.``, ``!`` or ``?`` followed by white space; paragraphs are separated by blank lines; tokens
        are the model tokenizer's tokens (``tokenizer`` is required, and must give character offsets,
        i.e. be a Hugging Face "fast" tokenizer).
    tokenizer : optional
        Hugging Face tokenizer, for ``unit="tokens"``.

    Returns
    -------
    TextParts
        The parts; their labels are their texts.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if unit == "documents":
        raise ValueError("for documents pass a list of texts to TextParts via from_documents([...])")
    if unit not in UNITS:
        raise ValueError(f"unknown part unit {unit!r}; choose one of: {', '.join(UNITS)}")
    if unit == "words":
        starts = [m.start() for m in _WORD.finditer(text)]
    elif unit == "sentences":
        starts = [0, *(m.end() for m in _SENTENCE_END.finditer(text))]
        starts = _non_blank_starts(text, starts)
    elif unit == "paragraphs":
        starts = [0, *(m.end() for m in _PARAGRAPH_BREAK.finditer(text))]
        starts = _non_blank_starts(text, starts)
    else:
        starts = _token_starts(text, tokenizer)
    return _from_starts(text, starts, unit)


def _non_blank_starts(text: str, starts: list[int]) -> list[int]:
    """Move each start past leading white space and drop segments that are only white space."""
    out = []
    for s in starts:
        while s < len(text) and text[s].isspace():
            s += 1
        if s < len(text):
            out.append(s)
    return out


def _token_starts(text: str, tokenizer) -> list[int]:
    if tokenizer is None:
        raise ValueError(
            "parts='tokens' (--parts tokens) needs the model's tokenizer, and this model has none spectrex can use: "
            "use parts='words', or give make_parts a tokenizer=…"
        )
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise ValueError(
            "this tokenizer cannot give character offsets (it is not a 'fast' tokenizer); use parts='words'"
        ) from exc
    starts = []
    for a, b in enc["offset_mapping"]:
        if b <= a:
            continue
        # SentencePiece-style tokens include the space before them: start the part at the word instead
        while a < b and text[a].isspace():
            a += 1
        if a < b:
            starts.append(a)
    return starts


def from_documents(documents: Sequence[str], separator: str = "\n\n") -> TextParts:
    """Parts from a list of documents (one part each), joined by ``separator`` in the text."""
    if isinstance(documents, str):
        raise TypeError("documents must be a list of texts, not one string; use split_text for a single text")
    docs = [str(d).strip() for d in documents]
    if any(not d for d in docs):
        raise ValueError("every document must contain some text; drop the empty ones")
    pieces = [d + (separator if i < len(docs) - 1 else "") for i, d in enumerate(docs)]
    return TextParts(pieces, unit="documents")
