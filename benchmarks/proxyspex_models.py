"""ProxySPEX on the real offline models: held-out R², algorithm seconds against model seconds.

Models: the toxicity BiLSTM (toxic logit, ~2 ms per text) and Gemma 3 270M zero-shot sentiment
(``spectrex.models.SENTIMENT``: log P(" positive") − log P(" negative")), word parts, three inputs
each. Budgets 500 / 1,000 / 2,000; R² on 500 fresh uniform masks no explanation saw, and on every mask that
removes one to :data:`REMOVED` parts (the counterfactual removals the report predicts). The masks of
a budget are the first rows of the next budget's (same seed), and Gemma's answers are kept in an
answer file per input (``$SPECTREX_BENCH_ANSWERS``, default ``~/.cache/spectrex/bench/answers/``)
that does not depend on spectrex's cache format or fingerprints, so a rerun — e.g. with another
spectrex on ``PYTHONPATH`` for a before/after table — costs no model time and every version is
scored on the very same answers (Gemma's batched forward passes on CPU differ in the last bits with
the batch they were computed in, which moved R² by up to 5e-4 between two query runs). The toxicity
model runs unmemoised so its ``model_s`` is the model's real time. Each explanation runs
``REPEATS`` times (the same masks and answers, so the same result) and each of its times is the
least of those runs.

``python -m benchmarks proxyspex_models [--quick]`` (``--quick``: toxicity only, budgets 500 and 1,000).
Set ``SPECTREX_BENCH_LABEL`` to name the spectrex being measured in the table (default: its version
and the path it was imported from); another version's rows, e.g. 0.2.0's on the same answers:
``PYTHONPATH=<its checkout>/src SPECTREX_BENCH_LABEL="0.2.0 (e66affe)" python -m benchmarks.proxyspex_models
--models-only --name proxyspex_models_v020`` (``--models-only``: without the design table, which needs this
version's designs). Tables: ``proxyspex_models`` (one row per run),
``proxyspex_models_summary`` (mean R² per model and budget) and ``proxyspex_models_design`` (the same
decoder on each mask design of :data:`DESIGNS`, seeds :data:`DESIGN_SEEDS`: the toxicity inputs' held-out R²
against the Shapley-value error on toxicity texts with exact values — what the size strata that the indices
need cost the fit on uniform test masks; ``python -m benchmarks.proxyspex_models --design`` writes it alone).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.common import write_table
from benchmarks.text_models import REVIEWS as TEXT_MODELS_REVIEWS
from benchmarks.text_models import TOXIC_TEXTS

# the inputs of text_models.py (the 0.1.0 figures), plus one more review: three inputs per model
REVIEWS = [
    *TEXT_MODELS_REVIEWS,
    "the movie was slow and far too long , but the acting was superb and the ending truly moving",
]
BUDGETS = [500, 1000, 2000]
N_TEST = 500
#: the second test set: every mask that removes 1 … REMOVED parts (uniform masks keep about half of them,
#: so they say little about the surrogate's answers to "what if these few words were gone")
REMOVED = 3
#: runs of each explanation; its times are the least of them (a shared machine's noise is one-sided)
REPEATS = 3
#: mask designs of ``proxyspex_models_design``: the Shapley-kernel share of the size-stratified design (None:
#: the default; it still rises towards a quarter of all masks) or 0.2.0's uniform masks ("uniform")
DESIGNS = {
    "stratified (default)": None,
    "stratified, kernel share 0.2": 0.2,
    "stratified, kernel share 0.1": 0.1,
    "uniform (0.2.0's design)": "uniform",
}
DESIGN_SEEDS = [0, 1, 2]


def _label() -> str:
    import spectrex

    return (
        os.environ.get("SPECTREX_BENCH_LABEL") or f"spectrex {spectrex.__version__} ({Path(spectrex.__file__).parent})"
    )


class Answers:
    """A value function whose answers are kept in an ``.npz`` file, keyed by the packed mask.

    Independent of spectrex (its cache schema and fingerprints change between versions), so two
    versions compared on one model see identical answers. Saved by :meth:`save`.
    """

    def __init__(self, vf, path: Path):
        self.vf, self.n, self.path = vf, vf.n, path
        self.memo: dict[bytes, float] = {}
        if path.exists():
            with np.load(path) as data:
                self.memo = dict(zip(map(bytes, data["keys"]), data["values"].tolist()))

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, bool)
        keys = [bytes(k) for k in np.packbits(masks, axis=1)]
        todo = [i for i, k in enumerate(keys) if k not in self.memo]
        if todo:
            for i, v in zip(todo, np.asarray(self.vf(masks[todo]), float)):
                self.memo[keys[i]] = float(v)
        return np.array([self.memo[k] for k in keys])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self.memo), np.uint8).reshape(len(self.memo), -1)
        np.savez(self.path.with_suffix(".tmp.npz"), keys=keys, values=np.fromiter(self.memo.values(), float))
        self.path.with_suffix(".tmp.npz").replace(self.path)


def _answers_dir() -> Path:
    return Path(os.environ.get("SPECTREX_BENCH_ANSWERS", Path.home() / ".cache" / "spectrex" / "bench" / "answers"))


def removals(n: int, most: int = REMOVED) -> np.ndarray:
    """Every mask of ``n`` parts with 1 … ``most`` of them removed."""
    from itertools import combinations

    rows = [c for k in range(1, most + 1) for c in combinations(range(n), k)]
    masks = np.ones((len(rows), n), bool)
    for r, c in enumerate(rows):
        masks[r, list(c)] = False
    return masks


def tasks(quick: bool):
    """``(model, input index, value function, engine)`` per model and input."""
    from spectrex import QueryEngine
    from spectrex.models import SENTIMENT, load_model, make_parts

    tox = load_model("toxicity")
    for i, text in enumerate(TOXIC_TEXTS):
        yield "toxicity BiLSTM", i, tox.value_function(make_parts(text, "words")), QueryEngine()
    if quick:
        return
    gemma = load_model("gemma-3-270m", **SENTIMENT)
    for i, text in enumerate(REVIEWS):
        vf = Answers(gemma.value_function(make_parts(text, "words")), _answers_dir() / f"gemma-sentiment-{i}.npz")
        yield "Gemma 3 270M sentiment", i, vf, QueryEngine()
        vf.save()


def measure(quick: bool, save=lambda rows: None, **settings) -> list[dict]:
    from spectrex import ProxySPEX
    from spectrex.metrics import r2_score
    from spectrex.synthetic import planted

    label = _label()
    rows = []
    # one small explanation first: numba kernels loaded and first calls made (cold start is
    # measured by proxyspex_speed), so algorithm_s below is the warm cost
    ProxySPEX(random_state=0, **settings).explain(planted(16, 4, 2, 0), 16, 300)
    budgets = BUDGETS[:2] if quick else BUDGETS
    for model, i, vf, engine in tasks(quick):
        test = np.random.default_rng(10_000 + i).random((N_TEST, vf.n)) < 0.5
        removed = removals(vf.n)
        query = engine.bind(vf, vf.n)
        y_test, y_removed = np.asarray(query(test), float), np.asarray(query(removed), float)
        query.close()
        for budget in budgets:
            runs = []  # the same (deterministic) explanation REPEATS times: each time is the least of its runs
            for _ in range(REPEATS):
                c0 = time.process_time()
                res = ProxySPEX(random_state=0, engine=engine, **settings).explain(vf, vf.n, budget)
                runs.append((time.process_time() - c0, res.metadata.get("timings", {})))
            cpu = min(c for c, _ in runs)
            t = {k: min(float(r.get(k, float("nan"))) for _, r in runs) for k in ("algorithm_s", "model_s")}
            r2 = r2_score(y_test, res.predict(test))
            rows.append(
                {
                    "spectrex": label,
                    "model": model,
                    "input": i,
                    "n": vf.n,
                    "budget": budget,
                    "r2": r2,
                    "r2_removals": r2_score(y_removed, res.predict(removed)),
                    "algorithm_s": t["algorithm_s"],
                    "model_s": t["model_s"],
                    "cached": int(res.metadata.get("queries_cached", 0)),
                    "cpu_s_total": cpu,
                    "terms": len(res.transform),
                    "loadavg": os.getloadavg()[0],
                }
            )
            print(rows[-1], flush=True)
            save(rows)
    return rows


def _on_design(design, seed: int):
    """Default ProxySPEX whose masks come from ``design`` (see :data:`DESIGNS`)."""
    from spectrex import ProxySPEX
    from spectrex.design.stratified import StratifiedDesign
    from spectrex.design.uniform import UniformDesign
    from spectrex.estimators.proxyspex import _minimum, default_budget

    est = ProxySPEX(random_state=seed)
    if design == "uniform":
        est.design = lambda: UniformDesign(_minimum, default_budget, method="ProxySPEX")
    elif design is not None:
        est.design = lambda: StratifiedDesign(
            _minimum, default_budget, share=design, paired=est.paired, method="ProxySPEX"
        )
    return est


def designs() -> list[dict]:
    """Per mask design of :data:`DESIGNS` (every budget, :data:`DESIGN_SEEDS`): held-out R² on the toxicity
    inputs above, and the Shapley-value error on the toxicity texts tabulated whole for ``index_accuracy``
    (its exact values by enumeration), beside the best shapiq 1.8 estimator's from ``index_accuracy_summary``."""
    from benchmarks.index_accuracy import DATA, Table
    from spectrex import Exact
    from spectrex.metrics import r2_score

    fits = []
    for _, i, vf, _ in tasks(quick=True):
        test = np.random.default_rng(10_000 + i).random((N_TEST, vf.n)) < 0.5
        removed = removals(vf.n)
        fits.append((vf, test, np.asarray(vf(test), float), removed, np.asarray(vf(removed), float)))
    tables = [Table(np.load(p)) for p in sorted(DATA.glob("index_accuracy_toxicity_*.npy"))]
    exact = [Exact().explain(t, t.n).to("SV").first_order() for t in tables]
    shapiq = _best_shapiq_sv("toxicity BiLSTM")
    rows = []
    for budget in BUDGETS:
        for name, design in DESIGNS.items():
            c0 = time.process_time()
            r2, r2_removals = [], []
            for vf, test, y, removed, y_removed in fits:
                for seed in DESIGN_SEEDS:
                    res = _on_design(design, seed).explain(vf, vf.n, budget)
                    r2.append(r2_score(y, res.predict(test)))
                    r2_removals.append(r2_score(y_removed, res.predict(removed)))
            sv = [
                np.abs(_on_design(design, seed).explain(t, t.n, budget).to("SV").first_order() - e).mean()
                for t, e in zip(tables, exact)
                for seed in DESIGN_SEEDS
            ]
            rows.append(
                {
                    "design": name,
                    "budget": budget,
                    "runs": len(r2),
                    "mean_r2": float(np.mean(r2)),
                    "mean_r2_removals": float(np.mean(r2_removals)),
                    "sv_mae": float(np.mean(sv)),
                    "best_shapiq_sv_mae": shapiq.get(budget, float("nan")),
                    "cpu_s": time.process_time() - c0,
                }
            )
            print(rows[-1], flush=True)
    return rows


def _best_shapiq_sv(group: str) -> dict[int, float]:
    """Budget → the best shapiq 1.8 estimator's Shapley-value error in ``index_accuracy_summary.csv``."""
    import csv

    path = Path(__file__).parent / "results" / "index_accuracy_summary.csv"
    if not path.exists():
        return {}
    best = {}
    with open(path) as fh:
        for r in csv.DictReader(fh):
            if r["group"] == group and r["measure"] == "SV" and r.get("best shapiq"):
                best[int(r["budget"])] = float(r[f"shapiq {r['best shapiq']}"])
    return best


def summary(rows: list[dict]) -> list[dict]:
    groups = defaultdict(list)
    for r in rows:
        groups[(r["spectrex"], r["model"], r["budget"])].append(r)
    return [
        {
            "spectrex": k[0],
            "model": k[1],
            "budget": k[2],
            "inputs": len(rs),
            "mean_r2": float(np.mean([r["r2"] for r in rs])),
            "min_r2": float(np.min([r["r2"] for r in rs])),
            "mean_r2_removals": float(np.mean([r["r2_removals"] for r in rs])),
            "mean_algorithm_s": float(np.mean([r["algorithm_s"] for r in rs])),
            "mean_model_s": float(np.mean([r["model_s"] for r in rs])),
        }
        for k, rs in groups.items()
    ]


def run(quick: bool, out: Path, name: str = "proxyspex_models", with_designs: bool = True) -> None:
    note = (
        f"R² on {N_TEST} fresh uniform masks per input; r2_removals: on every mask that removes 1 to {REMOVED} "
        "parts. algorithm_s excludes the time inside the model; "
        "model_s is the model's time for the queries not answered from memory (Gemma's answers are kept "
        f"in answer files, so a rerun reports ~0); each the least of {REPEATS} runs of the same explanation. "
        "Default ProxySPEX settings, random_state 0."
    )

    def save(rows):
        write_table(rows, out, name, "ProxySPEX on the real models", note)
        write_table(summary(rows), out, f"{name}_summary", "ProxySPEX on the real models: means", note)

    measure(quick, save)
    if with_designs and not quick:
        run_designs(out)


def run_designs(out: Path) -> None:
    t0, load0 = time.process_time(), os.getloadavg()[:2]
    rows = designs()
    note = (
        f"The same decoder (default ProxySPEX) on each mask design, seeds {DESIGN_SEEDS}. mean_r2: toxicity "
        f"BiLSTM, the three inputs above, R² on {N_TEST} fresh uniform masks; mean_r2_removals: on every mask that "
        f"removes 1 to {REMOVED} parts; sv_mae: mean absolute Shapley-value "
        "error on index_accuracy's three tabulated toxicity texts (exact by enumeration), beside the best "
        "shapiq 1.8 estimator's there (index_accuracy_summary). OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; loadavg at start {load0[0]:.2f} / {load0[1]:.2f}, "
        f"at the end {os.getloadavg()[0]:.2f}; {time.process_time() - t0:.0f} CPU s."
    )
    write_table(rows, out, "proxyspex_models_design", "ProxySPEX on the real models: mask designs", note)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxyspex_models")
    parser.add_argument("--design", action="store_true", help="only the mask-design table")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models-only", action="store_true", help="without the mask-design table")
    parser.add_argument("--name", default="proxyspex_models", help="the tables' name (another version's rows)")
    args = parser.parse_args()
    out = Path(__file__).parent / "results"
    if args.design:
        run_designs(out)
    else:
        run(args.quick, out, args.name, with_designs=not args.models_only)
