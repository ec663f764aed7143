"""Dataset runs with several outputs per record: one Explanations file per record, resumable, indexed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("h5py")

import spectrex  # noqa: E402
from spectrex.runs.results import load_result  # noqa: E402


def test_all_labels_dataset_run_writes_explanations_and_resumes(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"id": f"r{i}", "text": t})
            for i, t in enumerate(["you are an idiot", "what a stupid ugly face"])
        )
    )
    out = tmp_path / "run"
    run = spectrex.explain_dataset(data, "toxicity", out=out, all_labels=True, budget=64, holdout=8, progress=False)
    assert run.ok == 2
    lines = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert all(len(e["outputs"]) == 6 and e["outputs"][0]["name"] == "toxic" for e in lines)
    result = load_result(out, "r1")
    assert isinstance(result, spectrex.Explanations) and result.names[3] == "threat"
    assert result["insult"].metadata["record"]["id"] == "r1"
    # the index line is rebuilt from the file when it was lost (a kill between the two writes)
    (out / "index.jsonl").write_text(json.dumps(lines[0]) + "\n")
    again = spectrex.explain_dataset(data, "toxicity", out=out, all_labels=True, budget=64, holdout=8, progress=False)
    assert again.explained == 0 and again.skipped == 2
    rebuilt = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert {e["id"] for e in rebuilt} == {"r0", "r1"} and all(len(e["outputs"]) == 6 for e in rebuilt)
