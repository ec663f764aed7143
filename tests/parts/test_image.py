"""Image parts: segment maps, fills and the drawing."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import spectrex
from spectrex.parts.image import ImageParts, as_float_image, grid_segments


def test_grid_segments_cover_every_pixel_in_row_major_order():
    seg = grid_segments((10, 7), 3, 2)
    assert seg.shape == (10, 7)
    assert set(np.unique(seg)) == set(range(6))
    assert seg[0, 0] == 0 and seg[0, -1] == 1 and seg[-1, 0] == 4 and seg[-1, -1] == 5
    with pytest.raises(ValueError, match="does not fit"):
        grid_segments((4, 4), 5, 1)


@pytest.mark.parametrize("fill", ["mean", 0.25, (1.0, 0.0, 0.0), "blur"])
def test_compose_keeps_kept_parts_and_fills_removed_ones(fill):
    img = skimage.data.coffee()[::4, ::4]
    parts = ImageParts(img, grid=(2, 3), fill=fill)
    masks = np.zeros((2, 6), bool)
    masks[0, [0, 4]] = True
    out = parts.compose(masks)
    x = as_float_image(img)
    assert out.shape == (2, *x.shape)
    kept = np.isin(parts.segments, [0, 4])
    np.testing.assert_array_equal(out[0][kept], x[kept])
    assert not np.allclose(out[0][~kept], x[~kept])
    if fill == "mean":
        np.testing.assert_allclose(out[1], np.broadcast_to(x.mean(axis=(0, 1)), x.shape), atol=1e-6)
    elif fill == 0.25:
        assert np.all(out[1] == np.float32(0.25))
    elif fill == "blur":
        # a blur keeps the mean colour but removes detail
        assert out[1].std() < x.std()
        np.testing.assert_allclose(out[1].mean(axis=(0, 1)), x.mean(axis=(0, 1)), atol=0.02)


def test_superpixels_and_bad_arguments():
    img = skimage.data.chelsea()[::3, ::3]
    parts = ImageParts(img, superpixels=12)
    assert 4 <= parts.n <= 24
    assert set(np.unique(parts.segments)) == set(range(parts.n))
    assert parts.labels[0] == "sp0"
    with pytest.raises(ValueError, match="either"):
        ImageParts(img, grid=(2, 2), superpixels=8)
    with pytest.raises(ValueError, match="fill"):
        ImageParts(img, fill="noise")


def test_draw_writes_a_png(tmp_path):
    img = skimage.data.coffee()[::4, ::4]
    parts = ImageParts(img, grid=(2, 2), fill="mean")
    # a value function that is the mean brightness of the composed image: parts interact by nothing but sum
    res = spectrex.explain(lambda m: parts.compose(m).mean(axis=(1, 2, 3)), parts.n, method="exact")
    out = tmp_path / "coffee.png"
    parts.draw(res.to("FSII", 2), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="parts"):
        ImageParts(img, grid=(3, 3)).draw(res, tmp_path / "x.png")
