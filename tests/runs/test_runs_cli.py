"""The dataset commands end to end (explain --inputs/--out, summarize), progress events, the lazy names."""

import importlib.util

import numpy as np
import pytest

import spectrex
from spectrex.cli import main
from spectrex.models.base import TextScorer
from spectrex.runs import explain_dataset, load_results

needs_toxicity = pytest.mark.skipif(
    importlib.util.find_spec("toxic_classifier") is None, reason="pip install --no-deps toxic-comment-classifier"
)


class Count(TextScorer):
    model_id = "count-words"

    def score(self, texts):
        return np.array([len(t.split()) + 2.0 * ("b" in t.split() and "c" in t.split()) for t in texts])


def test_lazy_top_level_names():
    from spectrex import runs

    assert spectrex.explain_dataset is runs.explain_dataset
    assert spectrex.load_results is runs.load_results
    with pytest.raises(AttributeError):
        spectrex.no_such_name  # noqa: B018


def test_progress_events_and_quiet(tmp_path, capsys):
    events = []
    run = explain_dataset(["a b c", "b c", "", "a c"], Count(), out=tmp_path, method="exact", holdout=4,
                          progress=events.append)  # fmt: skip
    assert (run.ok, run.invalid) == (3, 1)
    done = [e for e in events if "record" not in e]
    assert [e["done"] for e in done] == [1, 2, 3, 4] and done[-1]["failed"] == 1 and done[-1]["total"] == 4
    assert any(e.get("record") == "0" and e["queries"] > 0 for e in events)  # the current record's queries
    rerun = explain_dataset(["a b c", "b c", "", "a c"], Count(), out=tmp_path, method="exact", holdout=4,
                            progress=False)  # fmt: skip
    assert (rerun.skipped, rerun.explained) == (3, 0)  # the empty one is checked again (no model needed)
    changed = explain_dataset(["a b c", "b c d", "", "a c"], Count(), out=tmp_path, method="exact", holdout=4,
                              progress=False)  # fmt: skip
    assert (changed.skipped, changed.explained) == (2, 1)  # only the record whose text changed
    assert load_results(tmp_path, as_frame=False)[1]["n"] == 3
    assert capsys.readouterr().err == ""


@needs_toxicity
def test_cli_explain_inputs_then_summarize(tmp_path, capsys):
    from runs_helpers import BAD

    out = tmp_path / "res"
    args = ["explain", "--inputs", str(BAD), "--out", str(out), "--model", "toxicity", "--method", "exact"]
    assert main(args + ["--holdout", "8", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "6 records: 3 ok, 3 invalid, 0 failed" in " ".join(text.split())
    assert "the text is empty" in text and "too long for the model" in text
    assert main(["summarize", str(out)]) == 0
    assert (out / "summary.html").exists() and len(list((out / "reports").glob("*.html"))) == 3
    frame = load_results(out, as_frame=False)
    assert [r["status"] for r in frame] == ["ok", "invalid", "invalid", "invalid", "ok", "ok"]
    assert main(["explain", "some text", "--inputs", str(BAD), "--model", "toxicity"]) == 2  # not both


def test_dataset_quiet_draws_no_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    """``--quiet`` silences the records bar too, even when stderr is a terminal."""
    import sys

    pytest.importorskip("transformers")
    data = tmp_path / "r.jsonl"
    data.write_text('{"text": "a fine day"}\n{"text": "a dull day"}\n')
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as if run in a terminal
    args = ["explain", "--inputs", str(data), "--out", str(tmp_path / "o"), "--model", "tiny-classifier"]
    assert main(args + ["--method", "exact", "--holdout", "0", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "records" not in err and "━" not in err, err
