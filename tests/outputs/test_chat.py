"""Chat models as people prompt them: the chat template around the masked user message, never masked itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spectrex.models import make_parts  # noqa: E402
from spectrex.models.base import TextValueFunction  # noqa: E402
from spectrex.models.hf import CausalLMScorer  # noqa: E402
from spectrex.models.tiny import tiny_causal_lm, tiny_chat_lm  # noqa: E402

TEXT = "the movie was great but the plot was dull"
SYSTEM = "You are a film critic.\nAnswer in one word."


@pytest.fixture(scope="module")
def chat():
    return tiny_chat_lm(seed=5)


def test_every_prompt_is_the_chat_template_of_the_masked_user_message(chat):
    model, tok = chat
    scorer = CausalLMScorer(model, tok, target=" good", template="Review: {text}", chat=True, system=SYSTEM)
    tp = make_parts(TEXT)
    vf = TextValueFunction(scorer, tp)
    masks = np.array(np.meshgrid(*[[0, 1]] * tp.n)).reshape(tp.n, -1).T.astype(bool)  # all 512
    head, tail = tok.apply_chat_template(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\x00"}],
        tokenize=False,
        add_generation_prompt=True,
    ).split("\x00")
    specials = set(tok.all_special_ids)
    template_specials = None
    for text in vf.texts(masks):
        user = f"Review: {text}"
        expected = tok.apply_chat_template(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
            tokenize=False,
            add_generation_prompt=True,
        )
        prompt = scorer.prompt(text)
        assert prompt == expected == head + user + tail  # the template's text is whole in every prompt
        ids = scorer.prompt_ids(text)
        kept = [i for i in ids if i in specials]
        template_specials = kept if template_specials is None else template_specials
        assert kept == template_specials  # no template token (turn markers, begin-of-text) ever removed
        assert (
            ids[: len(tok(head, add_special_tokens=False)["input_ids"])]
            == tok(head, add_special_tokens=False)["input_ids"]
        )
    assert template_specials[0] == tok.bos_token_id and len(template_specials) == 4  # bos, user turn, end, model turn


def test_chat_scores_are_the_log_probabilities_after_the_chat_prompt(chat):
    import torch

    model, tok = chat
    scorer = CausalLMScorer(model, tok, target=" good", chat=True)
    texts = ["the movie was great", "the plot was dull", ""]
    got = scorer.score(texts)
    for text, value in zip(texts, got):
        ids = tok(scorer.prompt(text), add_special_tokens=False)["input_ids"]
        target = tok(" good", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = model(torch.tensor([ids + target])).logits[0].float()
        logp = torch.log_softmax(logits, -1)
        direct = sum(float(logp[len(ids) - 1 + k, t]) for k, t in enumerate(target))
        assert value == pytest.approx(direct, abs=1e-5)


def test_chat_needs_a_template_and_system_needs_chat():
    model, tok = tiny_causal_lm()
    with pytest.raises(ValueError, match="chat template"):
        CausalLMScorer(model, tok, target=" a", chat=True)
    with pytest.raises(ValueError, match="chat=True"):
        CausalLMScorer(model, tok, target=" a", system="be brief")


def test_cli_chat_with_a_system_prompt(tmp_path):
    from spectrex.cli import main

    out = tmp_path / "r.json"
    argv = ["explain", "great acting dull plot", "--model", "tiny-chat-lm", "--chat", "--system", "You are a critic."]
    argv += ["--target", " good", "--budget", "64", "--holdout", "0", "--json", str(out), "--quiet"]
    assert main(argv) == 0
    meta = json.loads(out.read_text(encoding="utf-8"))["metadata"]
    assert meta["system"] == "You are a critic." and meta["chat"] is True
    assert main(["explain", "great acting", "--model", "tiny-causal-lm", "--system", "x", "--target", " a"]) == 2
