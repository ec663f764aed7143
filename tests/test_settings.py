"""RunSettings: every run-level default stated once, checked when made; the CLI's options come from its fields;
a dataset folder written before it existed resumes (its run.json is what the old code wrote)."""

import argparse
import json
import pickle

import numpy as np
import pytest

from spectrex.models.base import FunctionScorer, TextScorer
from spectrex.settings import RunSettings


class Count(TextScorer):
    model_id = "count-words"

    def score(self, texts):
        return np.array([len(t.split()) + 2.0 * ("b" in t.split() and "c" in t.split()) for t in texts])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"holdout": 1}, "at least 2 random masks"),
        ({"holdout": -1}, "holdout must be 0"),
        ({"method": "magic"}, "unknown method 'magic'"),
        ({"backend": "gpu"}, "unknown backend 'gpu'"),
        ({"workers": 0}, "workers must be a whole number, at least 1"),
        ({"workers": "4"}, "workers must be a whole number, at least 1"),  # was a TypeError from `<`
        ({"limit": "3"}, "limit must be a whole number of records"),
        ({"batch_size": 0}, "batch_size must be a positive integer or 'auto'"),
        ({"on_error": "skip"}, "on_error must be 'raise' or 'drop'"),
        ({"parts": "letters"}, "unknown parts"),
        ({"masking": "hide"}, "unknown masking"),
        ({"grid": (0, 2)}, "grid is \\(rows, cols\\), each at least 1"),
        ({"grid": (2.5, 3)}, "grid is \\(rows, cols\\)"),  # was cut to 2 rows silently
        ({"grid": 3}, "grid is \\(rows, cols\\)"),  # was a TypeError
        ({"seed": -1}, "seed must be a whole number ≥ 0"),
        ({"seed": "a"}, "seed must be a whole number ≥ 0"),
        ({"per_token": "no"}, "per_token must be True or False"),  # bool("no") is True
        ({"budget": "100"}, "budget must be a whole number of queries"),  # was refused in every record
        ({"max_order": 1.5}, "max_order must be a whole number ≥ 0"),
        ({"all_labels": 1}, "all_labels must be True or False"),
    ],
)
def test_settings_check_themselves(changes, message):
    with pytest.raises(ValueError, match=message):
        RunSettings(**changes)


def test_settings_are_frozen_picklable_and_replaced_with_checks():
    s = RunSettings(method="exact", holdout=np.int64(8), grid=[2, 2])
    assert s.holdout == 8 and type(s.holdout) is int and s.grid == (2, 2)
    assert RunSettings(grid="2x3").grid == (2, 3)  # as --grid writes it
    assert pickle.loads(pickle.dumps(s)) == s  # what a Ray actor receives
    with pytest.raises(AttributeError):
        s.method = "spex"
    assert s.replace(parts="sentences").parts == "sentences"
    with pytest.raises(ValueError, match="holdout"):
        s.replace(holdout=1)


def test_keywords_or_settings_not_both():
    s = RunSettings(method="exact")
    assert RunSettings.given(s, method="auto", holdout=64) is s  # keywords at their defaults
    assert RunSettings.given(None, method="spex").method == "spex"
    with pytest.raises(ValueError, match="holdout either in settings"):
        RunSettings.given(s, holdout=8)


def test_cli_options_come_from_the_fields():
    from spectrex.cli.settings_args import add_settings_args

    names = ("method", "budget", "max_order", "parts", "masking", "holdout", "seed", "top", "batch_size",
             "on_error", "backend", "workers", "grid", "per_token", "all_labels")  # fmt: skip
    parser = argparse.ArgumentParser()
    add_settings_args(parser, *names)
    assert RunSettings.from_args(parser.parse_args([])) == RunSettings()  # the same defaults, stated once
    args = parser.parse_args(["--max-order", "2", "--batch-size", "16", "--grid", "2x3", "--per-token"])
    s = RunSettings.from_args(args)
    assert (s.max_order, s.batch_size, s.grid, s.per_token) == (2, 16, (2, 3), True)
    assert "highest interaction order" in parser.format_help()


#: what the code before RunSettings wrote into run.json (src/spectrex/runs/dataset.py at 3e45264)
OLD_RUN_JSON = {
    "model": "count-words",
    "model_settings": {},
    "method": "exact",
    "budget": None,
    "max_order": None,
    "parts": "words",
    "masking": "remove",
    "holdout": 4,
    "seed": 0,
}


def test_a_folder_of_the_old_code_resumes(tmp_path):
    from spectrex.runs import explain_dataset

    text = json.dumps({"schema": "spectrex.run/1", "settings": OLD_RUN_JSON}, indent=1, sort_keys=True) + "\n"
    (tmp_path / "run.json").write_text(text)
    run = explain_dataset(["a b c", "b c"], Count(), out=tmp_path, method="exact", holdout=4, progress=False)
    assert run.ok == 2
    assert (tmp_path / "run.json").read_text() == text  # byte for byte
    other = tmp_path / "grid"
    explain_dataset(["a b c"], Count(), out=other, settings=RunSettings(method="exact", holdout=4, grid=(2, 2)),
                    progress=False)  # fmt: skip
    assert json.loads((other / "run.json").read_text())["settings"] == {**OLD_RUN_JSON, "grid": [2, 2]}
    with pytest.raises(ValueError, match="other settings"):
        explain_dataset(["a b c"], Count(), out=tmp_path, method="exact", holdout=8, progress=False)


def test_scorers_take_only_their_own_settings():
    f = FunctionScorer(lambda texts: [1.0] * len(texts))
    with pytest.raises(ValueError, match="takes no 'target'"):
        f.for_target("x")
    g = f.with_settings(template="Q: {text}")
    assert g.template == "Q: {text}" and f.template is None and g.fn is f.fn  # a copy, the function shared
    assert f.input_length(["a b"]) == (0, None, "tokens")  # no known limit


def test_model_kinds_take_a_records_target_and_say_their_length():
    pytest.importorskip("transformers")
    from spectrex.models import load_model

    clf = load_model("tiny-classifier")
    assert clf.for_target("1").target == 1 and clf.target is None  # a class index, on a copy
    with pytest.raises(ValueError, match="unknown class"):
        clf.for_target("happy")
    with pytest.raises(ValueError, match="takes no 'contrast'"):
        clf.with_settings(contrast=" no")
    count, limit, unit = clf.input_length(["a b c"])
    assert limit == 512 and 3 <= count < 10 and unit == "tokens"
    lm = load_model("tiny-causal-lm", target=" ab")
    twin = lm.with_settings(target=" cd", contrast=" ef", template="Q: {text}")
    assert (twin.target, twin.contrast, twin.template, lm.target) == (" cd", " ef", "Q: {text}", " ab")
    assert twin.input_length(["a b"])[0] > lm.input_length(["a b"])[0]  # the longer prompt counts


def test_limit_explains_the_first_records_then_the_rest(tmp_path):
    from spectrex.cli import main

    data = tmp_path / "r.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in ["a b c", "b c", "a c", "c d"]))
    first = RunSettings.from_args(argparse.Namespace(limit=2, method="exact", holdout=4))
    from spectrex.runs import explain_dataset

    run = explain_dataset(data, Count(), out=tmp_path / "o", settings=first, progress=False)
    assert (run.total, run.explained) == (2, 2)
    rest = explain_dataset(data, Count(), out=tmp_path / "o", method="exact", holdout=4, progress=False)
    assert (rest.total, rest.skipped, rest.explained) == (4, 2, 2)  # the same folder goes on
    with pytest.raises(SystemExit, match="2"):  # refused while parsing, before any model loads
        main(["explain", "--inputs", str(data), "--limit", "0"])
