import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spectrex import explain_text  # noqa: E402
from spectrex.errors import SpectrexError  # noqa: E402
from spectrex.models import load_model, make_parts  # noqa: E402
from spectrex.models.base import TextValueFunction  # noqa: E402
from spectrex.models.hf import CausalLMScorer, ClassifierScorer  # noqa: E402
from spectrex.models.tiny import tiny_causal_lm, tiny_classifier  # noqa: E402
from spectrex.parts import split_text  # noqa: E402

needs_toxicity = pytest.mark.skipif(
    importlib.util.find_spec("toxic_classifier") is None,
    reason="pip install --no-deps toxic-comment-classifier",
)

TEXTS = ["the movie was great", "dull", "the plot was dull and the ending was terrible", "a"]


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm(seed=1)


def _reference_logprob(model, tok, prompt: str, target: str) -> float:
    """Unbatched, unpadded, full-logits log P(target | prompt)."""
    p = tok(prompt)["input_ids"]
    t = tok(target, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + t])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    return float(sum(logp[len(p) - 1 + j, t[j]] for j in range(len(t))))


def test_causal_lm_batched_left_padded_matches_unbatched(lm):
    model, tok = lm
    s = CausalLMScorer(model, tok, target=" the ending", template="Review: {text}\nSo:", batch_size=3)
    got = s.score(TEXTS)
    want = [_reference_logprob(model, tok, f"Review: {x}\nSo:", " the ending") for x in TEXTS]
    np.testing.assert_allclose(got, want, atol=2e-4)


def test_causal_lm_contrast_single_token_fast_path(lm):
    model, tok = lm
    a, b = "a", "the"  # one token each in the tiny vocabulary
    assert len(tok(a, add_special_tokens=False)["input_ids"]) == 1
    s = CausalLMScorer(model, tok, target=a, contrast=b)
    want = np.array([_reference_logprob(model, tok, x, a) - _reference_logprob(model, tok, x, b) for x in TEXTS])
    np.testing.assert_allclose(s.score(TEXTS), want, atol=2e-4)


def test_causal_lm_generates_target_once_from_full_text(lm):
    model, tok = lm
    s = CausalLMScorer(model, tok, max_new_tokens=3)
    vf = s.value_function(split_text("the movie was great", "words"))
    assert isinstance(s.target, str) and s.target
    assert vf.fingerprint != CausalLMScorer(model, tok, target=s.target + "x").value_function(vf.parts).fingerprint


def test_classifier_outputs_agree():
    model, tok = tiny_classifier(seed=2, num_labels=3)
    logit = ClassifierScorer(model, tok, target=1, output="logit")
    prob = ClassifierScorer(model, tok, target="class1", output="probability")
    z = logit.logits(TEXTS)
    np.testing.assert_allclose(logit.score(TEXTS), z[:, 1], atol=1e-6)
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(prob.score(TEXTS), (p / p.sum(1, keepdims=True))[:, 1], atol=1e-6)
    # batching with padding gives the same logits as one text at a time
    np.testing.assert_allclose(z, np.concatenate([logit.logits([x]) for x in TEXTS]), atol=1e-4)
    with pytest.raises(ValueError, match="out of range"):
        ClassifierScorer(model, tok, target=7)


def test_mask_token_masking_uses_the_tokenizer():
    model, tok = tiny_classifier()
    s = ClassifierScorer(model, tok)
    vf = TextValueFunction(s, split_text("a b c", "words"), masking="mask")
    assert vf.texts(np.array([[1, 0, 1]], bool)) == ["a <mask> c"]
    vf2 = TextValueFunction(s, split_text("a b c", "words"))
    assert vf.fingerprint != vf2.fingerprint


@needs_toxicity
def test_value_function_contract_and_fingerprint():
    s = load_model("toxicity")
    parts = split_text("you are a stupid idiot", "words")
    vf = s.value_function(parts)
    masks = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], bool)
    y = vf(masks)
    assert y.shape == (3,) and y.dtype == np.float64
    np.testing.assert_allclose(y, s.score(["you are a stupid idiot", "you are a ", ""]))
    assert y[0] > y[1]  # insults drive the toxic logit
    other = load_model("toxicity", target="insult").value_function(parts)
    assert (
        len({vf.fingerprint, other.fingerprint, s.value_function(split_text("you are nice", "words")).fingerprint}) == 3
    )


@needs_toxicity
def test_toxicity_warns_that_it_reads_only_the_last_100_words():
    s = load_model("toxicity")
    body = " ".join(["this is a good day"] * 20)  # 100 known words
    text = f"you stupid idiot\n\n{body}\n\nthanks"
    assert len(s._known_words(text)) == 104
    assert s.context_note(body) is None
    note = s.context_note(text)
    assert "104 words known to toxic" in note and "reads only the last 100" in note
    assert "the first 4 words ('you stupid idiot this') are dropped" in note and "explain a shorter text" in note
    # the dropped words are not read: the full text scores exactly as it does without them
    assert s.score([text])[0] == s.score([f"{body}\n\nthanks"])[0]
    with pytest.warns(UserWarning, match=r"the first 4 words \('you stupid idiot this'\) are dropped"):
        r = explain_text(text, s, parts="paragraphs", method="exact", holdout=0)
    assert r.n == 3


@needs_toxicity
def test_toxicity_port_is_plausible_and_fast():
    s = load_model("toxicity", output="probability")
    p = s.score(["you are a stupid idiot and I hate you", "thank you for your help, have a nice day"])
    assert p[0] > 0.9 and p[1] < 0.2
    enc = s.encode(["Hello, WORLD!! the"])
    assert enc.shape == (1, 100) and (enc[0, :-3] == 0).all() and (enc[0, -3:] > 0).all()


@needs_toxicity
def test_explain_text_on_toxicity_is_exact_on_small_input():
    r = explain_text("you are a stupid idiot", "toxicity", method="exact", holdout=40)
    assert r.labels == ["you", "are", "a", "stupid", "idiot"]
    # Exact queried every mask: no held-out R² is claimed (it would be 1 by construction) …
    assert "faithfulness" not in r.metadata and "holdout_queries" not in r.metadata
    # … and it does reproduce the model on masks drawn afresh
    vf = TextValueFunction(load_model("toxicity"), make_parts("you are a stupid idiot"))
    masks = np.random.default_rng(1).random((40, 5)) < 0.5
    assert r.faithfulness((masks, vf(masks))) == pytest.approx(1.0)
    assert r.metadata["model"].startswith("toxic")
    top_parts = {lab for t in r.top(3) for lab in t.labels}
    assert top_parts & {"stupid", "idiot"}


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "only 1 part"),
        ([], "no documents"),
        (b"a b c", r"got bytes \(decode bytes first"),  # each byte was a document "97", "32", …
        (["a b", 3], "document 1 is int: 3"),  # was explained as the document "3"
        (None, "got NoneType"),  # was "'NoneType' object is not iterable"
    ],
)
def test_bad_text_is_a_clear_error(text, match):
    with pytest.raises(SpectrexError, match=match):
        make_parts(text, "words")


def test_unknown_model_name_suggests():
    with pytest.raises(SpectrexError, match="unknown model 'toxicty'.*Did you mean 'toxicity'"):
        load_model("toxicty")
    with pytest.raises(SpectrexError, match="no model folder"):
        load_model("hf:/nonexistent/model")


def test_hf_folder_round_trip(tmp_path, lm):
    model, tok = lm
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    s = load_model(f"hf:{tmp_path}", target=" the", device="cpu")
    assert isinstance(s, CausalLMScorer)
    np.testing.assert_allclose(
        s.score(TEXTS[:2]), CausalLMScorer(model, tok, target=" the").score(TEXTS[:2]), atol=1e-4
    )


def test_a_character_split_into_byte_tokens_is_named_after_the_character():
    """A byte-level tokenizer splits "é", "😀" and "—" into tokens of their UTF-8 bytes; each decoded alone is
    "�", so a per-token explanation of " café 😀" had outputs "�"@4, "�"@5, … that said nothing."""
    from spectrex.models import load_model
    from spectrex.models.hf import token_names

    model = load_model("tiny-causal-lm", target=" café 😀 — ok", per_token=True)
    ids = model.tokenizer(" café 😀 — ok", add_special_tokens=False)["input_ids"]
    alone = [model.tokenizer.decode([i]) for i in ids]
    assert alone.count("\ufffd") >= 5  # the tiny tokenizer does split them (else this test tests nothing)
    names = model.outputs
    assert len(names) == len(ids) and "\ufffd" not in "".join(names)
    assert "é[1/2]" in names and "😀[4/4]" in names and "—[1/3]" in names
    # bytes that never complete a character keep "�" (and the count of names stays the count of tokens)
    assert token_names(lambda ids: "\ufffd" * len(ids), [1, 2, 3, 4, 5]) == ["\ufffd"] * 5
    assert token_names(lambda ids: "".join("x" for _ in ids), [1, 2]) == ["x", "x"]
    pieces = {1: b"\xff", 2: b"T", 3: b"a\xc3", 4: b"\xa9b"}  # a stray byte; "é" cut inside a token's text

    def decode(ids):
        return b"".join(pieces[i] for i in ids).decode("utf-8", "replace")

    assert token_names(decode, [1, 2, 3, 4]) == ["\ufffd", "T", "aéb[1/2]", "aéb[2/2]"]
