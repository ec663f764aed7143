"""Shared fixtures of the dataset-run tests: 200 comments and one uninterrupted reference run of them."""

import importlib.util

import pytest
from runs_helpers import COMMENTS, N_RECORDS, read_log, run_child


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    lines = COMMENTS.read_text().splitlines()
    assert len(lines) >= N_RECORDS
    path = tmp_path_factory.mktemp("data") / "comments.jsonl"
    path.write_text("\n".join(lines[:N_RECORDS]) + "\n")
    return path


@pytest.fixture(scope="session")
def reference(data, tmp_path_factory):
    """An uninterrupted run (in a child process with one thread, like the others): (folder, model call log)."""
    if importlib.util.find_spec("toxic_classifier") is None:
        pytest.skip("pip install --no-deps toxic-comment-classifier")
    root = tmp_path_factory.mktemp("reference")
    proc = run_child(data, root / "out", root / "calls.jsonl", None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "out", read_log(root / "calls.jsonl")
