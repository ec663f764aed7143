"""The typed provenance record: filled by the driver, read-only as metadata, and 0.2.0's files still load."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import spectrex
from spectrex import Interactions, explain
from spectrex.provenance import SCHEMA_VERSION, Provenance
from spectrex.synthetic import planted

#: files written by spectrex 0.2.0 (commit e59f8c1^, whose version string still said 0.1.0)
V020 = Path(__file__).parent / "data" / "v020"


def _set(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def test_a_020_result_loads_with_its_provenance_and_loses_nothing():
    raw = json.loads((V020 / "toxicity_proxyspex.json").read_text())["metadata"]
    result = Interactions.from_json(V020 / "toxicity_proxyspex.json")
    p = result.provenance
    assert p.schema == 1 and p.version == raw["version"] and p.method == "proxyspex"
    assert (p.counts.sent, p.counts.cached, p.counts.planned) == (raw["queries"], 0, raw["queries_planned"])
    assert p.faithfulness == raw["faithfulness"] and p.holdout.queries == raw["holdout_queries"] == 16
    assert p.source.model == raw["model"] and p.source.full_value == raw["full_value"]
    assert p.timings.wall_s == raw["timings"]["wall_s"] and p.diagnostics == raw["diagnostics"]
    assert not p.every_mask
    view = dict(result.metadata)
    assert view.pop("provenance_schema") == 1
    assert _set(view) == _set(raw)  # every key the file had, the same values (null fields are not written)
    again = Interactions.from_json(result.to_json())  # written again: the same record
    assert again.provenance == p


def test_a_020_exact_result_is_known_to_reproduce_every_mask():
    result = Interactions.from_json(V020 / "planted_exact.json")
    assert result.provenance.exhaustive is None and result.provenance.every_mask  # 0.2.0 did not say: exact


def test_a_020_dataset_run_is_resumed_not_redone(tmp_path):
    out = tmp_path / "run"
    shutil.copytree(V020 / "run", out)
    run = spectrex.explain_dataset(
        ["you are a fool", "thanks a lot friend"], "toxicity", out=out, method="exact", holdout=8, progress=False
    )
    assert (run.skipped, run.explained, run.ok) == (2, 0, 2)


def test_the_driver_fills_a_typed_record_written_with_its_schema_version(tmp_path):
    f = planted(6, 5, 2, 0)
    exact = explain(f, 6, method="exact")
    p = exact.provenance
    assert p.exhaustive and p.counts.sent == 64 and p.counts.planned == 64 and p.schema == SCHEMA_VERSION
    sampled = explain(f, 6, method="proxyspex", budget=64)  # all 64 masks, but a fit: not exhaustive
    assert sampled.provenance.exhaustive is False
    path = tmp_path / "r.json"
    exact.to_json(path)
    doc = json.loads(path.read_text())
    assert doc["metadata"]["provenance_schema"] == SCHEMA_VERSION and doc["metadata"]["exhaustive"] is True
    assert Interactions.from_json(path).provenance == p


def test_metadata_is_a_read_only_view():
    result = explain(planted(5, 4, 2, 1), 5, method="exact")
    with pytest.raises(TypeError):
        result.metadata["method"] = "other"  # typed fields are the one way in: result.provenance
    assert result.metadata["method"] == "exact"


def test_a_text_result_says_what_the_value_function_knows():
    result = spectrex.explain_text("you are a fool", "toxicity", method="exact", holdout=0, progress=False)
    src = result.provenance.source
    assert src.model.startswith("toxic") and src.target == "toxic" and src.parts == "words" and src.masking == "remove"
    assert src.input == "you are a fool" and np.isfinite(src.full_value)
    assert result.metadata["full_value"] == src.full_value  # the model's own value on the whole input


def test_unknown_keys_round_trip():
    p = Provenance.from_dict({"method": "x", "my_note": {"a": 1}})
    assert p.extra == {"my_note": {"a": 1}} and Provenance.from_dict(p.to_dict()).to_dict() == p.to_dict()


def test_a_records_own_fields_are_stamped_as_the_record_has_them_and_round_trip():
    from spectrex.runs.records import Record
    from spectrex.runs.worker import stamp

    result = explain(planted(6, 3, 2, 0), 6, method="exact")
    rec = Record(position=4, id="r4", kind="text", data={"text": "a b", "label": None, "question": "why?"})
    stamp(result, rec, stored_answers_at_start=7)
    meta = result.metadata["record"]
    # a label that is None in the record is kept (0.2.0 did so); the record's digest, for a rerun's check
    assert meta == {"id": "r4", "position": 4, "kind": "text", "label": None, "question": "why?",
                    "stored_answers_at_start": 7, "digest": rec.digest}  # fmt: skip
    assert list(meta) == ["id", "position", "kind", "label", "question", "stored_answers_at_start", "digest"]
    again = Provenance.from_dict({**result.metadata, "record": {**meta, "from_a_newer_version": 1}}).to_dict()
    assert again["record"] == {**meta, "from_a_newer_version": 1}  # unknown keys are written back too
    assert "label" not in Provenance.from_dict({"record": {"id": "x"}}).to_dict()["record"]  # absent stays absent
