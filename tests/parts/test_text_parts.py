import numpy as np
import pytest

from spectrex.parts import from_documents, split_text

TEXT = "  Hello world.  This is  a test!\n\nAnother one? Yes."


def test_words_round_trip_and_labels():
    p = split_text(TEXT, "words")
    assert p.text == TEXT
    assert p.labels == ["Hello", "world.", "This", "is", "a", "test!", "Another", "one?", "Yes."]
    assert p.render(np.ones(p.n, bool)) == TEXT


def test_remove_drops_part_and_its_space():
    p = split_text("the cat sat down", "words")
    assert p.render([1, 0, 1, 1]) == "the sat down"
    assert p.render([0, 0, 0, 0]) == ""
    assert p.render([1, 1, 1, 0]) == "the cat sat"  # as if "down" had never been there


def test_replace_and_mask_keep_positions():
    p = split_text("the cat sat down", "words")
    assert p.render([1, 0, 1, 0], "replace", "_") == "the _ sat _"
    assert p.render([0, 1, 1, 1], "mask", "[MASK]") == "[MASK] cat sat down"
    with pytest.raises(ValueError, match="replacement"):
        p.render([1, 1, 1, 1], "mask")
    with pytest.raises(ValueError, match="unknown masking"):
        p.render([1, 1, 1, 1], "blank", "x")


def test_sentences_and_paragraphs():
    s = split_text(TEXT, "sentences")
    assert s.labels == ["Hello world.", "This is  a test!", "Another one?", "Yes."]
    assert s.text == TEXT
    para = split_text(TEXT, "paragraphs")
    assert para.labels == ["Hello world.  This is  a test!", "Another one? Yes."]
    assert para.render([0, 1]) == "  Another one? Yes."


def test_documents():
    d = from_documents(["First doc.", "  Second doc. ", "Third."], separator="\n")
    assert d.labels == ["First doc.", "Second doc.", "Third."]
    assert d.render([1, 0, 1]) == "First doc.\nThird."
    with pytest.raises(ValueError, match="empty"):
        from_documents(["a", "  "])
    with pytest.raises(TypeError, match="list of texts"):
        from_documents("one string")


def test_render_many_and_mask_width_checked():
    p = split_text("a b c", "words")
    assert p.render_many(np.array([[1, 0, 1], [0, 1, 0]], bool)) == ["a c", "b"]
    with pytest.raises(ValueError, match="columns"):
        p.render_many(np.ones((2, 4), bool))


def test_tokens_need_a_tokenizer_and_follow_its_offsets():
    pytest.importorskip("transformers")
    from spectrex.models.tiny import tiny_tokenizer

    with pytest.raises(ValueError, match="tokenizer"):
        split_text("the quick fox", "tokens")
    tok = tiny_tokenizer()
    p = split_text("the quick fox", "tokens", tokenizer=tok)
    assert p.text == "the quick fox"
    offsets = tok("the quick fox", add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    # one part per token that has some non-space text (a lone space token joins the next part)
    assert p.n == sum(1 for a, b in offsets if "the quick fox"[a:b].strip())
    assert all(label == label.strip() and label for label in p.labels)


def test_unknown_unit():
    with pytest.raises(ValueError, match="unknown part unit"):
        split_text("a b", "letters")
