"""Dataset runs on the toxicity model: complete, killed (SIGKILL) three times and resumed, and bad records.

The oracle for "nothing repeated" is the model's own call log (every text it scored, across all
processes), compared with an uninterrupted run of the same records.
"""

import importlib.util
import json
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("toxic_classifier") is None, reason="pip install --no-deps toxic-comment-classifier"
)

from runs_helpers import (  # noqa: E402
    BAD,
    N_RECORDS,
    RUN,
    CountingToxicity,
    assert_same_results,
    read_log,
    run_child,
)

from spectrex.interactions import Interactions  # noqa: E402
from spectrex.runs import explain_dataset, load_results  # noqa: E402
from spectrex.runs.store import read_index  # noqa: E402


def _full_text_checks(calls, texts):
    """Calls of one text that is a record's full text (explain_text checks the model on it first)."""
    return sum(1 for c in calls if len(c) == 1 and c[0] in texts)


def test_sigkill_three_times_then_resume_matches_uninterrupted(data, reference, tmp_path):
    ref_out, ref_calls = reference
    texts = {json.loads(line)["text"] for line in data.read_text().splitlines()}
    ref_texts = sum(len(c) for c in ref_calls)
    out, log = tmp_path / "out", tmp_path / "calls.jsonl"
    rng = np.random.default_rng(15)
    # three random model calls; the first one inside a record that has already stored a batch
    # (call numbers of a fresh process are the reference's until its first kill)
    check = [len(c) == 1 and c[0] in texts for c in ref_calls]
    inside = [i + 1 for i in range(1, len(ref_calls) // 4) if not check[i] and not check[i - 1]]
    kills = [int(rng.choice(inside))] + [int(k) for k in rng.integers(2, len(ref_calls) // 4, size=2)]
    for kill_at in kills:
        proc = run_child(data, out, log, kill_at)
        assert proc.returncode == -9, (kill_at, proc.stderr[-2000:])  # it really was SIGKILLed
    partial = read_index(out / "index.jsonl")
    assert 0 < sum(e["status"] == "ok" for e in partial.values()) < N_RECORDS
    proc = run_child(data, out, log, None)
    assert proc.returncode == 0, proc.stderr[-2000:]

    assert_same_results(ref_out, out)

    calls = read_log(log)
    extra_checks = _full_text_checks(calls, texts) - _full_text_checks(ref_calls, texts)
    # each kill can cost one record a second attempt, and an attempt re-checks only the full text …
    assert 0 <= extra_checks <= len(kills)
    # … so the model scored exactly the reference's texts plus those checks: no stored query re-sent,
    # no finished record explained again
    assert sum(len(c) for c in calls) == ref_texts + extra_checks
    masked = sorted(t for c in calls if not (len(c) == 1 and c[0] in texts) for t in c)
    assert masked == sorted(t for c in ref_calls if not (len(c) == 1 and c[0] in texts) for t in c)

    # the metadata says the same: the resumed records were served their stored answers
    rows = load_results(out, as_frame=False)
    resumed = []
    for row in rows:
        r = Interactions.from_json(out / row["file"])
        ref = Interactions.from_json(ref_out / row["file"])
        stored = r.metadata["record"]["stored_answers_at_start"]
        assert (
            r.metadata["queries"] + r.metadata["queries_cached"]
            == ref.metadata["queries"] + ref.metadata["queries_cached"]
        )
        assert r.metadata["queries_cached"] >= stored
        if stored:
            resumed.append(row["id"])
            assert r.metadata["queries"] == ref.metadata["queries"] - stored
    assert 1 <= len(resumed) <= len(kills)

    # a rerun of the finished run explains nothing
    proc = run_child(data, out, log, None)
    assert proc.returncode == 0
    assert sum(len(c) for c in read_log(log)) == sum(len(c) for c in calls)


def test_bad_records_are_reported_and_the_rest_completes(tmp_path):
    log = tmp_path / "calls.jsonl"
    run = explain_dataset(BAD, CountingToxicity(str(log)), out=tmp_path / "out", **RUN)
    assert (run.total, run.ok, run.invalid, run.failed) == (6, 3, 3, 0)
    index = read_index(tmp_path / "out" / "index.jsonl")
    assert list(index) == ["ok1", "1", "empty", "long", "ok2", "ok3"]  # the malformed line keeps its position
    assert "line 2 is not valid JSON" in index["1"]["reason"]
    assert index["empty"]["reason"] == "the text is empty"
    assert (
        "too long for the model: 125 known words" in index["long"]["reason"] and "reads 100" in index["long"]["reason"]
    )
    for rid in ("ok1", "ok2", "ok3"):
        assert index[rid]["status"] == "ok" and index[rid]["faithfulness"] is None  # exact: nothing held out
    assert index["ok2"]["label"] == "benign"
    assert index["ok3"]["target"] == "insult"  # the record's own target
    assert not any(
        "stupid idiot you are" in t for c in read_log(log) for t in c
    )  # the long one never reached the model


def test_killed_between_result_and_index_line_is_not_recomputed(data, tmp_path):
    out = tmp_path / "out"
    lines = data.read_text().splitlines()[:5]
    small = tmp_path / "five.jsonl"
    small.write_text("\n".join(lines) + "\n")
    explain_dataset(small, CountingToxicity(str(tmp_path / "a.log")), out=out, **RUN)
    before = read_index(out / "index.jsonl")
    index = (out / "index.jsonl").read_text().splitlines()
    (out / "index.jsonl").write_text("\n".join(index[:3]) + "\n" + index[3][:17])  # lost line 5, torn line 4
    log = tmp_path / "b.log"
    run = explain_dataset(small, CountingToxicity(str(log)), out=out, **RUN)
    assert (run.skipped, run.explained, run.ok) == (5, 0, 5)
    assert read_log(log) == []  # the model was not called at all
    got = read_index(out / "index.jsonl")
    assert list(got) == [f"c{i:03d}" for i in range(5)]
    assert got == before  # the two lost lines are rebuilt from the result files, timings included


def test_rerun_with_other_settings_is_refused(tmp_path):
    explain_dataset(["you are a fool", "thanks a lot friend"], "toxicity", out=tmp_path, **RUN)
    with pytest.raises(ValueError, match="other settings.*method: 'exact' then, 'spex' now"):
        explain_dataset(["you are a fool"], "toxicity", out=tmp_path, **{**RUN, "method": "spex"})


@pytest.mark.slow
def test_sigkill_at_random_moments_from_outside(data, tmp_path):
    """Kills from another process land anywhere (a model call, a cache commit, a result write, an index append)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from runs_helpers import CHILD, HERE, SRC, THREADS

    lines = data.read_text().splitlines()[:60]
    small = tmp_path / "sixty.jsonl"
    small.write_text("\n".join(lines) + "\n")
    texts = {json.loads(line)["text"] for line in lines}
    proc = run_child(small, tmp_path / "ref", tmp_path / "ref.jsonl", None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out, log = tmp_path / "out", tmp_path / "calls.jsonl"
    code = CHILD.format(src=SRC, here=str(HERE), data=str(small), log=str(log), kill_at=None, out=str(out), run=RUN)
    env = {**os.environ, **THREADS}
    rng = np.random.default_rng(150)
    for _ in range(3):
        start = len(read_log(log))
        wait_calls = int(rng.integers(1, 40))
        child = subprocess.Popen([sys.executable, "-c", code], env=env)
        deadline = time.monotonic() + 120
        while len(read_log(log)) < start + wait_calls and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0, 0.05)))  # then anywhere in the next few milliseconds
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -9
    proc = subprocess.run([sys.executable, "-c", code], env=env, timeout=600)
    assert proc.returncode == 0
    assert_same_results(tmp_path / "ref", out)

    def masked(calls):
        return sorted(t for c in calls if not (len(c) == 1 and c[0] in texts) for t in c)

    ref, got = masked(read_log(tmp_path / "ref.jsonl")), masked(read_log(log))
    # a batch the model answered but the engine had not stored when the kill came is asked again; nothing else
    assert len(ref) <= len(got) <= len(ref) + 3 * RUN["batch_size"]
    assert not (Counter(ref) - Counter(got))  # every reference text was scored
