"""EfficientNet-Lite0 (real ImageNet weights, offline) explained by image patches."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import spectrex
from spectrex.cli import main
from spectrex.models.vision import ImageClassifierValue, load_efficientnet_lite0
from spectrex.parts.image import ImageParts

EGYPTIAN_CAT, TABBY, ESPRESSO = 285, 281, 967


@pytest.fixture(scope="module")
def cat():
    parts = ImageParts(skimage.data.chelsea(), grid=(3, 3), fill="blur")
    f = ImageClassifierValue(parts, batch_size=64)
    return parts, f, spectrex.explain(f, f.n, method="exact", labels=f.labels)


def test_model_classifies_the_bundled_photos():
    coffee = ImageClassifierValue(ImageParts(skimage.data.coffee(), grid=(1, 1)))
    assert coffee.target == ESPRESSO
    cat = ImageClassifierValue(ImageParts(skimage.data.chelsea(), grid=(1, 1)))
    assert cat.target == EGYPTIAN_CAT
    assert TABBY in np.argsort(cat.full_logits)[-3:]


@pytest.mark.slow
def test_cat_face_patches_are_the_top_patches(cat):
    parts, f, res = cat
    assert f.target == EGYPTIAN_CAT
    sv = res.to("SV").first_order()
    # efficiency: Shapley values add up to the logit of the full image minus that of the blurred image
    full, empty = f(np.array([np.ones(9, bool), np.zeros(9, bool)]))
    assert sv.sum() == pytest.approx(full - empty, abs=1e-3)
    # the centre column holds the forehead, the left eye and the nose; the right column is mostly background
    top3 = {t.labels[0] for t in res.to("SV").top(3)}
    assert top3 <= {"r0c1", "r1c1", "r2c1"}
    assert np.argmin(sv) in (2, 5, 8)
    # keeping only the 3 best patches scores the cat far higher than keeping the 3 worst
    order = np.argsort(sv)
    best, worst = np.zeros((2, 9), bool)
    best[order[-3:]] = True
    worst[order[:3]] = True
    v_best, v_worst = f(np.array([best, worst]))
    assert v_best > v_worst + 2.0


def test_logprob_output_and_bad_target():
    parts = ImageParts(skimage.data.coffee(), grid=(1, 2), fill="mean")
    f = ImageClassifierValue(parts, output="logprob", model=load_efficientnet_lite0())
    v = f(np.array([[True, True]]))
    assert v[0] < 0 and v[0] > np.log(0.5)  # espresso is the confident top class
    with pytest.raises(ValueError, match="outside"):
        ImageClassifierValue(parts, target=5000)


def test_cli_explain_image_writes_png_and_json(tmp_path, capsys):
    png, js = tmp_path / "cat.png", tmp_path / "cat.json"
    code = main(["explain-image", "chelsea", "--grid", "1x2", "--class", "281", "--out", str(png), "--json", str(js)])
    assert code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    res = spectrex.Interactions.from_json(js)
    assert res.n == 2 and res.metadata["target_class"] == TABBY
    assert main(["explain-image", str(tmp_path / "missing.png")]) == 2
