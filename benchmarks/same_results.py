"""Whether a change kept every result the same: every method and seed, this tree against a git revision.

``python -m benchmarks.same_results --against REV`` (``python -m benchmarks same_results`` compares
with ``$SPECTREX_SAME_AS``, default ``HEAD~1``) explains a planted order-≤ 3 function (n = 10) with every
registered method, 3 seeds and 2 budgets, and the toxicity BiLSTM on one 12-word comment with four
methods and 2 seeds, once with this tree's ``src`` and once with REV's (``git archive``), each in a child
process on one thread with no answer cache. It then compares each result's JSON: everything but the
metadata must be byte-identical (the transform, index, labels, residual sample); the metadata is listed
key by key (added, left out, changed), timings aside.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from .common import write_table

ROOT = Path(__file__).resolve().parents[1]
TEXT = "you are such a stupid idiot and nobody likes you at all"

# runs in the child, against whichever spectrex is first on its path
CHILD = r"""
import hashlib, json, sys
import numpy as np
import spectrex
from spectrex.api import METHODS
from spectrex.engine.query import QueryEngine
from spectrex.workflows import explain_text

def record(r):
    doc = json.loads(r.to_json())
    meta = doc.pop("metadata", {})
    meta.pop("timings", None)
    body = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return {"body": body, "meta": meta}

out = {}
rng = np.random.default_rng(0)
n = 10
terms = [rng.choice(n, size=rng.integers(1, 4), replace=False) for _ in range(12)]
coef = rng.normal(size=12)

def planted(m):
    m = np.asarray(m, bool)
    return sum(c * m[:, s].all(1) for s, c in zip(terms, coef)) + 0.01 * np.sin(m.sum(1))

for name in sorted(METHODS):
    for seed in (0, 1, 2):
        for budget in (300, 700, 1024):
            try:
                out[f"planted/{name}/{seed}/{budget}"] = record(
                    spectrex.explain(planted, n=n, method=name, budget=budget, random_state=seed)
                )
            except Exception as exc:  # the same refusal on both sides counts as the same result
                out[f"planted/{name}/{seed}/{budget}"] = f"{type(exc).__name__}: {exc}"
for method in ("proxyspex", "spex", "exact", "kernelshap"):
    for seed in (0, 1):
        engine = QueryEngine(progress=False, batch_size=64)
        budget = None if method == "exact" else 800
        r = explain_text(sys.argv[2], "toxicity", method=method, budget=budget, random_state=seed, holdout=32,
                         engine=engine)
        out[f"toxicity/{method}/{seed}"] = record(r)
json.dump(out, open(sys.argv[1], "w"), sort_keys=True, default=str)
"""


def _results(src: Path, where: Path) -> dict:
    """The battery's results with the spectrex under ``src``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "SPECTREX_CACHE": str(where / "cache"),
        **{k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")},
    }
    target = where / "results.json"
    subprocess.run([sys.executable, "-c", CHILD, str(target), TEXT], env=env, check=True, cwd=where)
    return json.loads(target.read_text())


def compare(against: str) -> tuple[list[dict], str]:
    """Rows per result key (same body or not) and a summary of the metadata's differences."""
    with tempfile.TemporaryDirectory() as tmp:
        old_tree, new_dir, old_dir = Path(tmp, "old"), Path(tmp, "new"), Path(tmp, "old-run")
        for d in (old_tree, new_dir, old_dir):
            d.mkdir()
        archive = subprocess.run(["git", "archive", against, "src"], cwd=ROOT, check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(old_tree, filter="data")
        old = _results(old_tree / "src", old_dir)
        new = _results(ROOT / "src", new_dir)
    rows, added, dropped, changed = [], Counter(), Counter(), Counter()
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            same = a["body"] == b["body"]
            for k in set(a["meta"]) | set(b["meta"]):
                if k not in b["meta"]:
                    dropped[k] += 1
                elif k not in a["meta"]:
                    added[k] += 1
                elif a["meta"][k] != b["meta"][k]:
                    changed[k] += 1
        else:
            same = a == b  # both refused the same way
        rows.append({"result": key, "identical": same, "refused": not isinstance(b, dict)})
    summary = (
        f"Against {against}: {sum(r['identical'] for r in rows)} of {len(rows)} results identical "
        f"(everything but the metadata; {sum(r['refused'] for r in rows)} of them refused the same way). "
        f"Metadata keys added: {dict(added) or 'none'}; left out: {dict(dropped) or 'none'}; "
        f"changed: {dict(changed) or 'none'} (timings not compared)."
    )
    return rows, summary


def report(against: str, out: Path) -> bool:
    """Compare, write ``same_results.{csv,md}`` and print the summary; True when every result is identical."""
    rows, summary = compare(against)
    write_table(rows, out, "same_results", "Results of every method and seed, this tree against a revision", summary)
    print(summary)
    return all(r["identical"] for r in rows)


def run(quick: bool = False, out: Path = ROOT / "benchmarks" / "results") -> None:
    report(os.environ.get("SPECTREX_SAME_AS", "HEAD~1"), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.same_results", description=__doc__)
    parser.add_argument("--against", default="HEAD~1", help="the git revision to compare with (default HEAD~1)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    return 0 if report(args.against, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
