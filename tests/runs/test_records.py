"""Reading and checking records; per-record model settings; the run folder's file names and index."""

import json

import pytest

from spectrex.runs import read_records
from spectrex.runs.store import RunStore, read_index, safe_name


def test_jsonl_csv_and_iterables(tmp_path):
    jl = tmp_path / "r.jsonl"
    jl.write_text('{"text": "a b"}\n\n{"id": 7, "documents": ["x", "y"], "question": "q?"}\nnot json\n[1]\n')
    recs = read_records(jl)
    assert [(r.position, r.id, r.kind) for r in recs] == [(0, "0", "text"), (1, "7", "documents"), (2, "2", None),
                                                          (3, "3", None)]  # fmt: skip
    assert recs[2].problem.startswith("line 4 is not valid JSON")
    assert recs[3].problem == "a record is a JSON object, got list"
    csv = tmp_path / "r.csv"
    csv.write_text('id,text,label\na,"hello there",pos\nb,,neg\n')
    recs = read_records(csv)
    assert [r.id for r in recs] == ["a", "b"]
    assert recs[0].data["label"] == "pos" and recs[0].kind == "text"
    assert recs[1].problem == "the text is empty"  # its cell is blank; the file has a text column
    both = tmp_path / "both.csv"  # a text column and an image column, each row filling one
    both.write_text("text,image\nhello there,\n,cat.png\n")
    assert [r.kind for r in read_records(both)] == ["text", "image"]
    recs = read_records(["plain string", {"text": "x y", "id": "k"}])
    assert [r.id for r in recs] == ["0", "k"] and recs[0].text == "plain string"


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"text": ""}, "the text is empty"),
        ({"text": 3}, "'text' must be a string"),
        ({"documents": ["only one", " "]}, "fewer than two non-empty documents"),
        ({"text": "a", "image": "x.png"}, "not text and image"),
        ({"text": "a b", "question": "why?"}, "'question' goes with 'documents'"),
        ({"text": "a b", "id": ["x"]}, "the id must be"),
        ({"text": "a b", "target": {"x": 1}}, "'target' must be a string"),
        ({"image": ""}, "'image' must be the path"),
    ],
)
def test_bad_records_say_why(record, problem):
    (rec,) = read_records([record])
    assert rec.problem is not None and problem in rec.problem


def test_duplicate_ids_keep_the_first():
    recs = read_records([{"id": "a", "text": "x y"}, {"id": "a", "text": "z w"}])
    assert recs[0].problem is None
    assert recs[1].id == "a@1" and recs[1].problem == "duplicate id 'a' (first at record 0)"


def test_wrong_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no records file"):
        read_records("/nonexistent/records.jsonl")
    torn = tmp_path / "records.json"
    torn.write_text('[{"text": "a b"}, ')
    with pytest.raises(ValueError, match=f"{torn} is not valid JSON .*a .jsonl file"):  # named, with the fix
        read_records(torn)
    with pytest.raises(TypeError, match="not one dict"):
        read_records({"text": "a"})


def test_safe_names_cannot_escape_or_collide(tmp_path):
    assert safe_name("c001") == "c001"
    names = {safe_name(x) for x in ["../etc/passwd", "a/b", "a b", "a_b", "", ".hidden", "<script>"]}
    assert len(names) == 7
    assert all("/" not in n and not n.startswith(".") and "<" not in n for n in names)
    store = RunStore(tmp_path)
    assert store.result_path("../x").parent == tmp_path / "records"


def test_index_skips_torn_lines_and_keeps_the_latest(tmp_path):
    store = RunStore(tmp_path)
    store.append({"id": "a", "status": "error"})
    with open(store.index_path, "a") as fh:
        fh.write('{"id": "b", "sta')  # a killed writer
    store.append({"id": "a", "status": "ok"})  # starts on a fresh line
    assert read_index(store.index_path) == {"a": {"id": "a", "status": "ok"}}
    store.compact(["a"])
    assert [json.loads(line) for line in store.index_path.read_text().splitlines()] == [{"id": "a", "status": "ok"}]


def test_per_record_targets_and_questions_do_not_leak(tmp_path):
    """A causal LM without a target generates one per record, never reusing an earlier record's."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from spectrex.interactions import Interactions
    from spectrex.runs import explain_dataset

    recs = [
        {"id": "d", "documents": ["Ann is here.", "Bob is there."], "question": "Who is here?"},
        {"id": "t", "text": "the cat sat on the mat", "target": " mat"},
        {"id": "g", "text": "one two three four"},
        {"id": "long", "text": "word " * 600},  # beyond the tiny model's 512 positions
    ]
    run = explain_dataset(recs, "tiny-causal-lm", out=tmp_path, method="exact", holdout=4, progress=False)
    assert (run.ok, run.invalid) == (3, 1), read_index(tmp_path / "index.jsonl")
    index = read_index(tmp_path / "index.jsonl")
    assert index["long"]["reason"].startswith("too long for the model: ") and "reads 512" in index["long"]["reason"]
    assert index["t"]["target"] == " mat"
    from spectrex import explain_text
    from spectrex.models import load_model

    alone = explain_text("one two three four", load_model("tiny-causal-lm"), method="exact", holdout=0)
    assert index["g"]["target"] == alone.metadata["target"]  # generated for g, not kept from d
    assert index["d"]["n"] == 2  # one part per document
    meta = Interactions.from_json(tmp_path / index["d"]["file"]).metadata
    assert meta["record"]["question"] == "Who is here?"


def test_only_the_driver_cleans_temporary_files(tmp_path):
    RunStore(tmp_path)
    tmp = tmp_path / "records" / ".r0.json.tmp-123"
    tmp.write_text("{")
    RunStore(tmp_path)  # a worker starting: leaves another writer's file alone
    assert tmp.exists()
    RunStore(tmp_path, clean=True)  # the driver, before any worker starts
    assert not tmp.exists()
