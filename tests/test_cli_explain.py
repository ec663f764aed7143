import json

import pytest

pytest.importorskip("transformers")

from spectrex.cli import build_parser, main  # noqa: E402


def test_help_explains_what_is_explained(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["explain", "--help"])
    out = capsys.readouterr().out
    assert "log P(target | text)" in out and "--parts" in out and "--budget" in out and "examples:" in out


def test_explain_prints_table_and_saves_json(tmp_path, capsys):
    out_json = tmp_path / "r.json"
    rc = main(
        ["explain", "the movie was great", "--model", "tiny-classifier", "--method", "exact", "--json", str(out_json)]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "Parts · SV" in out and "exact, no fit to check" in out and "16 queries" in out
    assert "logit of" in out and "the#0" not in out  # a classifier's class logit; unique words need no position
    data = json.loads(out_json.read_text())
    assert data["metadata"]["model"] == "tiny-classifier" and data["labels"] == ["the", "movie", "was", "great"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "", "--model", "tiny-classifier"], "empty"),
        (["explain", "hello", "--model", "tiny-classifier"], "only 1 part"),
        (["explain", "a b", "--model", "no-such-model"], "unknown model"),
        (["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--target", " x"], "cannot reach"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, capsys):
    assert main(argv) == 2
    out = " ".join(capsys.readouterr().err.split())
    assert "error" in out and message in out


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["explain", "a b c", "--model", "tiny-causal-lm", "--target", " x", "--device", "cuda"]) == 2
    out = " ".join(capsys.readouterr().err.split())
    assert "sees no CUDA GPU" in out and "--device cpu" in out


def test_file_input_template_newlines_and_budget_cap(tmp_path, capsys):
    doc = tmp_path / "doc.txt"
    doc.write_text("the movie was great", encoding="utf-8")
    out_json = tmp_path / "r.json"
    argv = ["explain", "--file", str(doc), "--model", "tiny-causal-lm", "--target", " x"]
    argv += ["--template", "Q: {text}\\nA:"]
    assert main([*argv, "--budget", "1000000", "--json", str(out_json), "-q"]) == 0
    meta = json.loads(out_json.read_text())["metadata"]
    assert meta["template"] == "Q: {text}\nA:"  # the typed \n is a new line
    assert meta["method"] == "exact" and meta["queries"] == 16  # 2^4 masks exist: all queried, not a million
    assert "1,000,000" in meta["notes"][0]
    assert main([*argv, "--json", str(tmp_path / "missing" / "r.json")]) == 2  # refused before loading the model
    assert main(["explain", "text", "--file", str(doc), "--model", "tiny-causal-lm"]) == 2


def test_generated_target_starting_on_a_new_line_is_kept():
    from spectrex.models.base import first_line

    assert first_line("\n\nMaria Lopez.\nNext question") == "\n\nMaria Lopez."
    assert first_line(" Paris, France\n") == " Paris, France"
    assert first_line("\n \n") == "\n \n"  # nothing but blanks: left to the caller's "no continuation" error


def test_answers_are_kept_by_default_and_no_cache_keeps_none(tmp_path, monkeypatch, capsys):
    import os

    folder = tmp_path / "cache"
    monkeypatch.setenv("SPECTREX_CACHE", os.fspath(folder))
    argv = ["explain", "the movie was great", "--model", "tiny-classifier", "--method", "exact"]
    assert main([*argv, "--no-cache"]) == 0
    assert not (folder / "answers").exists()
    assert main(argv) == 0
    assert len(list((folder / "answers").glob("*.sqlite"))) == 1
    assert main(argv) == 0
    assert "0 queries (+16 cached)" in capsys.readouterr().out
    assert main([*argv, "--no-cache", "--cache", str(tmp_path / "a.sqlite")]) == 2
    assert "not both" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "hello there", "--template", "no text here"], "{text}"),
        (["explain", "hello there", "--template", "no text", "--parts", "tokens"], "{text}"),
        (["explain", ""], "empty"),
        (["explain", "a b c d e", "--budget", "5"], "method 'auto' runs Exact on 5 parts when the budget holds all"),
        (["explain", "a b c d e", "--budget", "5"], "raise the budget to 32 or more (default for n = 5: 32"),
        (["explain", " ".join("abcdefghijkl"), "--budget", "5"], "raise the budget to 64 or more"),
    ],
)
def test_arguments_are_checked_before_the_model_loads(argv, message, capsys, monkeypatch):
    import spectrex.models as models

    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("the model loaded before the check"))
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_errors_flag_adds_standard_errors_and_intervals(capsys):
    words = "the movie was great but the ending felt rushed and far too long today"
    argv = ["explain", words, "--model", "tiny-classifier", "--method", "proxyspex", "--budget", "300", "-q"]
    assert main([*argv, "--errors"]) == 0
    out = capsys.readouterr().out
    assert "std. error" in out and "90 % interval" in out and " … " in out
    assert main(argv) == 0
    assert "std. error" not in capsys.readouterr().out


def test_json_is_utf8_whatever_the_locale(tmp_path):
    """``--json`` writes UTF-8 as ``Interactions.to_json`` does, also where the locale's encoding is ASCII."""
    import os
    import subprocess
    import sys

    out, text = tmp_path / "r.json", tmp_path / "in.txt"
    text.write_text("quel café naïf idiot", encoding="utf-8")  # a file: argv under LANG=C is ASCII
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    argv = ["explain", "--file", str(text), "--model", "toxicity", "--method", "exact", "--holdout", "0"]
    cli = "import sys; from spectrex.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", cli, *argv, "--json", str(out), "--quiet", "--no-cache"]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    doc = json.loads(out.read_bytes().decode("utf-8"))
    assert doc["labels"] == ["quel", "café", "naïf", "idiot"]
