"""Whole explanations on 2 local Ray actors: identical to the in-process run; a SIGKILLed actor loses nothing.

Each test starts its own local cluster through ``explain_dataset(backend="ray")`` (never one found
in the environment) and the run shuts it down at the end.
"""

import importlib.util
import os

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("torch")
pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("toxic_classifier") is None, reason="pip install --no-deps toxic-comment-classifier"
    ),
    pytest.mark.slow,
]

from runs_helpers import HERE, RUN, THREADS, DiesOnceFactory, assert_same_results  # noqa: E402

from spectrex.interactions import Interactions  # noqa: E402
from spectrex.runs import explain_dataset  # noqa: E402
from spectrex.runs.store import read_index  # noqa: E402


@pytest.fixture
def actor_env(monkeypatch):
    """The actors import the test helpers and run one thread each, like the reference's process."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    for key, value in THREADS.items():
        monkeypatch.setenv(key, value)
    assert not ray.is_initialized()
    yield
    assert not ray.is_initialized()  # the run shut down the cluster it started


def test_two_actors_match_the_in_process_run(data, reference, tmp_path, actor_env, monkeypatch):
    ref_out, _ = reference
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # a stale cluster in the environment: never joined
    run = explain_dataset(data, "toxicity", out=tmp_path, backend="ray", workers=2, **RUN)
    assert (run.ok, run.explained) == (run.total, run.total)
    assert_same_results(ref_out, tmp_path)


def test_a_killed_actor_loses_nothing(data, reference, tmp_path, actor_env):
    ref_out, _ = reference
    marker = tmp_path / "die"
    marker.touch()
    out = tmp_path / "out"
    # the first actor to reach its 3rd model call (inside its first record, after one stored batch) SIGKILLs itself
    run = explain_dataset(data, DiesOnceFactory(str(marker), at=3), out=out, backend="ray", workers=2, **RUN)
    assert not marker.exists()  # an actor did die
    assert (run.ok, run.failed) == (run.total, 0)
    assert_same_results(ref_out, out)
    resumed = []
    for rid, entry in read_index(out / "index.jsonl").items():
        stored = Interactions.from_json(out / entry["file"]).metadata["record"]["stored_answers_at_start"]
        if stored:
            resumed.append((rid, stored))
    # the record the dead actor held was finished by its replacement, from the answers it had stored
    assert len(resumed) == 1 and resumed[0][1] == RUN["batch_size"], resumed
