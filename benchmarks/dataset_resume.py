"""A dataset run on Gemma 3 270M (zero-shot sentiment of 12 reviews) killed with SIGKILL three times and resumed.

Protocol: one uninterrupted run (the reference), then the same run killed at three random model
calls (each child process SIGKILLs itself at the start of its k-th call, k drawn at random), then
started once more to finish. Every process runs one thread, and logs every text the model scored.
Checked and reported: the index and the results are identical to the reference's (timings and
cache counts aside; coefficients bit for bit), the model scored exactly the reference's masked
texts (no stored query re-sent, no finished record explained again), plus one full-text check per
interrupted attempt. ``--quick``: the toxicity model on 40 comments instead.

    python -m benchmarks dataset_resume           # Gemma 3 270M, 12 reviews, ProxySPEX at 128 queries
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_table

ROOT = Path(__file__).resolve().parents[1]
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}

CHILD = r"""
import json, os, signal, sys
sys.path.insert(0, {src!r})
from spectrex.models import SENTIMENT, load_model
from spectrex.runs import explain_dataset

model = {model!r}
scorer = load_model(model, **(SENTIMENT if model.startswith("gemma") else {{}}))
base = type(scorer)
calls = [0]

class Logged(base):  # the same model, logging what it scores and killing this process at call kill_at
    def score(self, texts):
        calls[0] += 1
        if calls[0] == {kill_at!r}:
            os.kill(os.getpid(), signal.SIGKILL)
        out = base.score(self, texts)
        with open({log!r}, "a") as fh:
            fh.write(json.dumps(list(texts)) + "\n")
        return out

scorer.__class__ = Logged
explain_dataset({data!r}, scorer, out={out!r}, progress=False, **{run!r})
"""

VOLATILE_META = {"timings", "queries", "queries_cached", "queries_requested", "engine", "record"}
VOLATILE_INDEX = {"seconds", "model_seconds", "algorithm_seconds", "queries_sent", "queries_cached"}


def _child(model, data, out, log, kill_at, run):
    code = CHILD.format(src=str(ROOT / "src"), model=model, data=str(data), out=str(out), log=str(log),
                        kill_at=kill_at, run=run)  # fmt: skip
    t0, c0 = time.perf_counter(), os.times()
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **THREADS}, capture_output=True, text=True)
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return proc, time.perf_counter() - t0, cpu


def _log(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _compare(a: Path, b: Path) -> int:
    """Number of records whose index line or result differ (0 = identical)."""
    from spectrex.interactions import Interactions
    from spectrex.runs.store import read_index

    ia, ib = read_index(a / "index.jsonl"), read_index(b / "index.jsonl")
    bad = 0 if list(ia) == list(ib) else 1
    for rid in ia:
        ea = {k: v for k, v in ia[rid].items() if k not in VOLATILE_INDEX}
        eb = {k: v for k, v in ib.get(rid, {}).items() if k not in VOLATILE_INDEX}
        same = ea == eb
        if same and ea.get("status") == "ok":
            ra, rb = Interactions.from_json(a / ea["file"]), Interactions.from_json(b / eb["file"])
            same = (
                np.array_equal(ra.transform.supports, rb.transform.supports)
                and np.array_equal(ra.transform.coefs, rb.transform.coefs)
                and {k: v for k, v in ra.metadata.items() if k not in VOLATILE_META}
                == {k: v for k, v in rb.metadata.items() if k not in VOLATILE_META}
            )
        bad += not same
    return bad


def run(quick: bool = False, out: Path = Path("benchmarks/results")) -> None:
    import tempfile

    if quick:
        model, data, settings = "toxicity", ROOT / "examples/data/comments.jsonl", {"method": "exact", "holdout": 8}
        lines = data.read_text().splitlines()[:40]
    else:
        model, data = "gemma-3-270m", ROOT / "examples/data/reviews.jsonl"
        settings = {"method": "proxyspex", "budget": 128, "holdout": 32}
        lines = data.read_text().splitlines()
    settings["batch_size"] = 16
    texts = {json.loads(line)["text"] for line in lines}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data.jsonl").write_text("\n".join(lines) + "\n")
        proc, ref_s, ref_cpu = _child(model, tmp / "data.jsonl", tmp / "ref", tmp / "ref.log", None, settings)
        assert proc.returncode == 0, proc.stderr[-3000:]
        load_ref = os.getloadavg()[0]
        ref_calls = _log(tmp / "ref.log")
        rng = np.random.default_rng(15)
        kills = [int(k) for k in rng.integers(2, max(3, len(ref_calls) // 4), size=3)]
        killed_s = killed_cpu = 0.0
        for k in kills:
            proc, s, c = _child(model, tmp / "data.jsonl", tmp / "run", tmp / "run.log", k, settings)
            assert proc.returncode == -9, (k, proc.returncode, proc.stderr[-3000:])
            killed_s, killed_cpu = killed_s + s, killed_cpu + c
        proc, s, c = _child(model, tmp / "data.jsonl", tmp / "run", tmp / "run.log", None, settings)
        assert proc.returncode == 0, proc.stderr[-3000:]
        killed_s, killed_cpu = killed_s + s, killed_cpu + c
        load_run = os.getloadavg()[0]
        calls = _log(tmp / "run.log")

        def is_check(c):
            return len(c) == 1 and c[0] in texts

        extra_checks = sum(map(is_check, calls)) - sum(map(is_check, ref_calls))
        masked_ref = sorted(t for c in ref_calls if not is_check(c) for t in c)
        masked_run = sorted(t for c in calls if not is_check(c) for t in c)
        from spectrex.runs import load_results

        rows = load_results(tmp / "ref", as_frame=False)
        ok = [r for r in rows if r["status"] == "ok"]
        result = {
            "model": model,
            "records": len(lines),
            "explained": len(ok),
            "method": settings["method"],
            "budget": settings.get("budget", "2^n"),
            "mean_R2": float(np.mean([r["faithfulness"] for r in ok])),
            "kills_at_call": " ".join(map(str, kills)),
            "differing_records": _compare(tmp / "ref", tmp / "run"),
            "texts_scored_reference": len(masked_ref),
            "texts_scored_killed_runs": len(masked_run),
            "same_masked_texts": masked_ref == masked_run,
            "extra_full_text_checks": extra_checks,
            "reference_wall_s": ref_s,
            "reference_cpu_s": ref_cpu,
            "killed_runs_wall_s": killed_s,
            "killed_runs_cpu_s": killed_cpu,
            "load_avg_ref": load_ref,
            "load_avg_runs": load_run,
        }
    for key, value in result.items():
        print(f"{key}: {value}", flush=True)
    name = "dataset_resume_quick" if quick else "dataset_resume"
    write_table(
        [result],
        out,
        name,
        f"Dataset run killed with SIGKILL three times and resumed ({model})",
        notes="One thread per process. differing_records counts index lines or results that differ from the "
        "uninterrupted reference (timings and cache counts aside, coefficients compared bit for bit); "
        "same_masked_texts: the model scored exactly the reference's masked texts over all four processes (no "
        "stored query re-sent, no finished record explained again); extra_full_text_checks: the one-text check "
        "explain_text makes before an attempt, repeated once per interrupted record. Wall and CPU seconds include "
        "each process's start and model load (4 loads for the killed runs against 1).",
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
