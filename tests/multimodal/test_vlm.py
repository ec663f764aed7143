"""The vision-language scorer on tiny random-weight models built from configs (no download)."""

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from spectrex.models.tiny import tiny_gemma3_vision, tiny_llava  # noqa: E402
from spectrex.models.vlm import VisionLanguageScorer, VisionLanguageValue  # noqa: E402
from spectrex.parts.image import ImageParts  # noqa: E402
from spectrex.parts.joint import JointParts  # noqa: E402
from spectrex.parts.text import split_text  # noqa: E402

BUILDERS = {"llava": tiny_llava, "gemma3": tiny_gemma3_vision}  # two architectures, two processors


@pytest.fixture(params=sorted(BUILDERS), scope="module")
def vlm(request):
    model, processor = BUILDERS[request.param]()
    image = ImageParts(np.random.default_rng(0).random((28, 28, 3)), grid=(2, 2), fill=0.5)
    parts = JointParts({"image": image, "text": split_text("the movie was great", "words")})
    scorer = VisionLanguageScorer(model, processor, target=" the plot", batch_size=4)
    return VisionLanguageValue(scorer, parts, template="{image} {text}")


def test_batched_equals_one_at_a_time(vlm):
    masks = np.random.default_rng(1).random((7, vlm.n)) < 0.5  # ragged prompts: left padding is exercised
    together = vlm(masks)
    alone = np.array([vlm(m[None])[0] for m in masks])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert np.all(np.isfinite(together)) and np.ptp(together) > 0


def test_full_and_empty_inputs(vlm):
    image = vlm.parts.groups["image"]
    images, prompts = vlm.inputs(np.array([[True] * vlm.n, [False] * vlm.n]))
    np.testing.assert_array_equal(images[0], image.image)
    assert np.all(images[1] == np.float32(0.5))  # every patch filled
    token = vlm.scorer.image_token
    assert prompts == [f"{token} the movie was great", f"{token} "]


def test_removed_patch_changes_exactly_its_pixels(vlm):
    image = vlm.parts.groups["image"]
    masks = np.ones((2, vlm.n), bool)
    masks[1, 2] = False  # patch r1c0
    images, prompts = vlm.inputs(masks)
    changed = np.any(images[0] != images[1], axis=-1)
    assert np.array_equal(changed, image.segments == 2) and prompts[0] == prompts[1]


def test_value_is_the_target_log_probability(vlm):
    """Against a direct computation: the model's own softmax over the full sequence, no batching tricks."""
    scorer = vlm.scorer
    images, prompts = vlm.inputs(np.ones((1, vlm.n), bool))
    proc = scorer.processor
    enc = proc(images=[[(images[0] * 255).round().astype(np.uint8)]], text=prompts, return_tensors="pt")
    ids = scorer.tokenizer(" the plot", add_special_tokens=False)["input_ids"]
    full = torch.cat([enc["input_ids"], torch.tensor([ids])], dim=1)
    extra = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}
    if "token_type_ids" in extra:  # Gemma 3: which tokens are image tokens
        extra["token_type_ids"] = torch.cat([extra["token_type_ids"], torch.zeros((1, len(ids)), dtype=torch.long)], 1)
    with torch.inference_mode():
        logits = scorer.model(input_ids=full, attention_mask=torch.ones_like(full), **extra).logits
    logp = torch.log_softmax(logits[0, -len(ids) - 1 : -1].float(), -1)
    direct = float(logp[torch.arange(len(ids)), torch.tensor(ids)].sum())
    assert vlm(np.ones((1, vlm.n), bool))[0] == pytest.approx(direct, abs=1e-4)


def test_fingerprint_changes_with_every_setting(vlm):
    scorer, parts = vlm.scorer, vlm.parts
    base = vlm.fingerprint
    assert VisionLanguageValue(scorer, parts, template="{image} {text}").fingerprint == base
    assert VisionLanguageValue(scorer, parts, template="{image}\n{text}").fingerprint != base
    other = VisionLanguageScorer(scorer.model, scorer.processor, target=" the end")
    assert VisionLanguageValue(other, parts, template="{image} {text}").fingerprint != base
