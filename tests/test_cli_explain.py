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
    out = " ".join(capsys.readouterr().out.split())
    assert "error" in out and message in out
