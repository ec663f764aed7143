"""Joint parts (image patches + words in one mask) and the joint plot, on a planted function."""

import numpy as np
import pytest

import spectrex
from spectrex.parts.image import ImageParts
from spectrex.parts.joint import JointParts
from spectrex.parts.text import split_text


@pytest.fixture
def joint():
    rng = np.random.default_rng(0)
    image = ImageParts(rng.random((40, 60, 3)), grid=(2, 3), fill=0.0)
    return JointParts({"image": image, "question": split_text("what animal is it", "words")})


def test_labels_slices_and_split(joint):
    assert joint.n == 6 + 4
    assert joint.labels[:2] == ["patch r0c0", "patch r0c1"] and joint.labels[6:8] == ["word 'what'", "word 'animal'"]
    masks = np.zeros((2, joint.n), bool)
    masks[0, [1, 7]] = True
    split = joint.split(masks)
    assert split["image"].shape == (2, 6) and split["question"].shape == (2, 4)
    assert split["image"][0].tolist() == [False, True, False, False, False, False]
    assert split["question"][0].tolist() == [False, True, False, False]
    assert joint.spans([1, 7]) == {"image", "question"} and joint.spans([0, 1]) == {"image"}


def test_single_group_is_the_group_itself():
    words = split_text("not good at all", "words")
    one = JointParts({"text": words})
    m = np.random.default_rng(1).random((8, 4)) < 0.5
    assert one.n == words.n and np.array_equal(one.split(m)["text"], m)


def test_removed_patch_changes_exactly_its_pixels(joint):
    image = joint.groups["image"]
    full = np.ones((1, joint.n), bool)
    one_off = full.copy()
    one_off[0, 4] = False  # patch r1c1
    a, b = (image.compose(joint.split(m)["image"])[0] for m in (full, one_off))
    changed = np.any(a != b, axis=-1)
    assert np.array_equal(changed, image.segments == 4) and np.all(b[image.segments == 4] == 0.0)


def test_bad_groups_are_refused():
    with pytest.raises(ValueError, match="at least one group"):
        JointParts({})
    with pytest.raises(ValueError, match="no parts"):
        JointParts({"text": split_text("a b", "words"), "empty": type("E", (), {"n": 0, "labels": []})()})


def test_cross_modal_pair_is_recovered_and_drawn(joint):
    pytest.importorskip("matplotlib")

    def f(masks):  # the answer needs patch r0c1 *and* the word "animal"
        m = masks.astype(float)
        return 2.0 * m[:, 1] * m[:, 7] + 0.5 * m[:, 3] - 0.3 * m[:, 6]

    r = spectrex.explain(f, joint.n, method="exact", labels=joint.labels)
    top = r.to("SII", max_order=2).top(1, order=2)[0]
    assert top.parts == (1, 7) and joint.spans(top.parts) == {"image", "question"}
    fig = r.plot("joint", parts=joint)
    assert "patch × word" in fig._suptitle.get_text() and len(fig.artists) == 1  # one cross-modal pair drawn
