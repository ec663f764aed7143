"""A removed part leaves the text as if it had never been there, the kept neighbours' white space included.

Every mask of several texts, for words, sentences, paragraphs, documents and tokens, is compared with
the text rebuilt from the kept parts alone: the kept parts in order, each followed by the white space
that followed it in the text, the last one followed by the text's own ending (on 0.2's code, removing
the last part left the white space before it: ``"… bad at "``).
"""

import itertools
import re

import numpy as np
import pytest

from spectrex.parts import from_documents, split_text

WORD_TEXTS = [
    "The food was not bad at all.",
    "  Hello world.  This is  a test!\n\nAnother one?",
    "one two\tthree\nfour  five \n",
]
SENTENCE_TEXTS = ["The food was good. Service was slow! Would I return? Yes.", "A b.  C d!\nE f? G."]
PARAGRAPH_TEXTS = ["First para.\n\nSecond para here.\n\n\nThird.\n", "One.\n\nTwo.\n  \nThree."]
DOCUMENTS = [["First doc.", "Second doc.", "Third one.", "Fourth."], ["alpha", "beta gamma", "delta"]]


def rebuilt(text: str, spans: list[tuple[int, int]], keep) -> str:
    """The text from the kept parts alone: ``spans`` are each part's (start, end) without white space."""
    kept = [i for i, k in enumerate(keep) if k]
    ending = text[spans[-1][1] :]
    out = text[: spans[0][0]]
    for j, i in enumerate(kept):
        a, b = spans[i]
        gap = text[b : spans[i + 1][0]] if i + 1 < len(spans) else ""
        out += text[a:b] + (gap if j + 1 < len(kept) else "")
    return out + ending


def all_masks(n: int):
    return [np.array(bits, dtype=bool) for bits in itertools.product([False, True], repeat=n)]


def _check(parts, spans):
    assert parts.n == len(spans)
    for mask in all_masks(parts.n):
        assert parts.render(mask) == rebuilt(parts.text, spans, mask), mask.astype(int)


@pytest.mark.parametrize("text", WORD_TEXTS)
def test_words(text):
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    _check(split_text(text, "words"), spans)


@pytest.mark.parametrize("text", SENTENCE_TEXTS)
def test_sentences(text):
    parts = split_text(text, "sentences")
    spans, at = [], 0
    for label in parts.labels:
        a = text.index(label, at)
        spans.append((a, a + len(label)))
        at = a + len(label)
    _check(parts, spans)
    # regular texts: the kept sentences joined by one space
    if text == SENTENCE_TEXTS[0]:
        for mask in all_masks(parts.n):
            assert parts.render(mask) == " ".join(label for label, k in zip(parts.labels, mask) if k)


@pytest.mark.parametrize("text", PARAGRAPH_TEXTS)
def test_paragraphs(text):
    parts = split_text(text, "paragraphs")
    spans, at = [], 0
    for label in parts.labels:
        a = text.index(label, at)
        spans.append((a, a + len(label)))
        at = a + len(label)
    _check(parts, spans)


@pytest.mark.parametrize("docs", DOCUMENTS)
def test_documents_are_the_kept_documents_alone(docs):
    parts = from_documents(docs)
    for mask in all_masks(parts.n):
        kept = [d for d, k in zip(docs, mask) if k]
        assert parts.render(mask) == "\n\n".join(kept)  # exactly from_documents(kept).text


def test_tokens():
    pytest.importorskip("transformers")
    from spectrex.models.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    for text in ("the quick fox jumps.", "a  big\ncat "):
        parts = split_text(text, "tokens", tokenizer=tok)
        spans = []
        for start, piece in zip(np.cumsum([len(parts.prefix)] + [len(p) for p in parts.pieces[:-1]]), parts.pieces):
            core = piece.rstrip() or piece
            spans.append((int(start), int(start) + len(core)))
        assert [text[a:b] for a, b in spans] == parts.labels
        _check(parts, spans)


def test_the_last_word_removed_leaves_no_stray_space_in_a_template():
    parts = split_text("The food was not bad at all.", "words")
    keep = np.ones(parts.n, dtype=bool)
    keep[-1] = False
    assert parts.render(keep) == "The food was not bad at"
    assert f"Review: {parts.render(keep)}\nSentiment:" == "Review: The food was not bad at\nSentiment:"
