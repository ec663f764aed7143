"""Helpers of the dataset-run tests, importable by child processes and Ray actors (this folder on their path)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

import spectrex
from spectrex.interactions import Interactions
from spectrex.models.toxicity import ToxicityScorer
from spectrex.runs.store import read_index

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SRC = str(Path(spectrex.__file__).resolve().parents[1])
COMMENTS = ROOT / "examples" / "data" / "comments.jsonl"
BAD = HERE / "data" / "bad_comments.jsonl"
N_RECORDS = 200
# exact at n ≤ 7 words: ≤ 128 queries per record, 16 per model call, 8 held-out masks
RUN = {"method": "exact", "holdout": 8, "batch_size": 16, "progress": False}
# one thread everywhere (children, Ray actors): the same floating-point sums in every process
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
VOLATILE_META = {"timings", "queries", "queries_cached", "queries_requested", "engine", "record"}
VOLATILE_INDEX = {"seconds", "model_seconds", "algorithm_seconds", "queries_sent", "queries_cached"}

CHILD = """
import sys
sys.path[:0] = [{src!r}, {here!r}]
from runs_helpers import CountingToxicity
from spectrex.runs import explain_dataset
explain_dataset({data!r}, CountingToxicity({log!r}, kill_at={kill_at!r}), out={out!r}, **{run!r})
"""


def run_child(data, out, log, kill_at, **run):
    """``explain_dataset`` on the counting toxicity model in a fresh process (killing itself at call ``kill_at``)."""
    code = CHILD.format(
        src=SRC, here=str(HERE), data=str(data), log=str(log), kill_at=kill_at, out=str(out), run={**RUN, **run}
    )
    env = {**os.environ, **THREADS}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)


def assert_same_results(a: Path, b: Path) -> None:
    """Two run folders hold the same index (timings and cache counts aside) and bit-identical results."""
    ia, ib = read_index(a / "index.jsonl"), read_index(b / "index.jsonl")
    assert list(ia) == list(ib)  # the same records, in the same (input) order
    for rid in ia:
        ea = {k: v for k, v in ia[rid].items() if k not in VOLATILE_INDEX}
        eb = {k: v for k, v in ib[rid].items() if k not in VOLATILE_INDEX}
        assert ea == eb, rid
        if ea["status"] != "ok":
            continue
        ra, rb = Interactions.from_json(a / ea["file"]), Interactions.from_json(b / eb["file"])
        np.testing.assert_array_equal(ra.transform.supports, rb.transform.supports)
        np.testing.assert_array_equal(ra.transform.coefs, rb.transform.coefs)  # bit for bit
        assert ra.labels == rb.labels
        ma = {k: v for k, v in ra.metadata.items() if k not in VOLATILE_META}
        mb = {k: v for k, v in rb.metadata.items() if k not in VOLATILE_META}
        assert ma == mb, rid


class CountingToxicity(ToxicityScorer):
    """The toxicity model, logging every call's texts to a file, and SIGKILLing its own process at call ``kill_at``.

    A call is logged after it is scored and before the engine stores its answers; the kill comes at the
    start of a call, so every logged text is one the engine went on to store.
    """

    def __init__(self, log: str, kill_at: int | None = None, **kw) -> None:
        super().__init__(**kw)
        # a list, shared by the per-record copies the run makes of the scorer
        self.log, self.kill_at, self.calls = log, kill_at, [0]

    def score(self, texts):
        self.calls[0] += 1
        if self.kill_at is not None and self.calls[0] == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        out = super().score(texts)
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "texts": list(texts)}) + "\n")
        return out


def read_log(path) -> list[list[str]]:
    """The texts of each logged call."""
    p = Path(path)
    return [json.loads(line)["texts"] for line in p.read_text().splitlines()] if p.exists() else []


class DiesOnceToxicity(ToxicityScorer):
    """The toxicity model that SIGKILLs its process at its ``at``-th call while a marker file exists (removing it)."""

    def __init__(self, marker: str, at: int = 3, **kw) -> None:
        super().__init__(**kw)
        self.marker, self.at, self.calls = marker, at, [0]

    def score(self, texts):
        self.calls[0] += 1
        if self.calls[0] >= self.at and os.path.exists(self.marker):
            try:
                os.remove(self.marker)  # only the first worker to get here dies
            except FileNotFoundError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().score(texts)


class DiesOnceFactory:
    """A picklable factory for Ray actors: each actor builds its own model."""

    def __init__(self, marker: str, at: int = 3) -> None:
        self.marker, self.at = marker, at

    def __call__(self, **settings):
        return DiesOnceToxicity(self.marker, self.at, **settings)
