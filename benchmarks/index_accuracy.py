"""Index accuracy against shapiq 1.8.0 at equal query budgets, on real models and planted functions.

Every index is compared to its exact value:

* real models: Gemma 3 270M zero-shot sentiment (three 12-word reviews) and the toxicity BiLSTM (three
  comments of 14–15 words), every mask evaluated once and stored under ``benchmarks/data/``
  (:mod:`benchmarks._index_tables` writes them; both libraries then query the same table-lookup value
  function in one process);
* planted Möbius functions (``spectrex.synthetic.planted``): sparse order ≤ 3 at n = 32 / 64 / 256, the
  n = 64 one also at 10 dB noise, and a dense order-≤ 2 function at n = 32; their exact indices come
  from their coefficients.

Measures (mean absolute error against the exact values): ``SV`` over the parts; ``SII-2``, ``FBII-2``
over all pairs (max order 2); ``k-SII-2`` over parts and pairs. ``cover90`` (spectrex only): the fraction
of parts (SV) and pairs (SII-2, FBII-2) whose exact value lies in the nominal 90 % interval
``value ± 1.645 × std_error``.

Rows: spectrex's default explanation (``spectrex.explain(fn, n, budget=…)``, method auto; every index
read from the one result) against shapiq 1.8.0's estimators of the same index: SV (OddSHAP, PolySHAP,
RegressionMSR, ProxySHAP, KernelSHAP), SII-2 and k-SII-2 (KernelSHAP-IQ, ProxySHAP, SVARM-IQ), FBII-2
(RegressionFBII, ProxySHAP); shapiq's defaults, ProxySHAP with its MSR adjustment. Budgets 250 / 500 /
1,000 / 2,000, seeds 0 / 1 / 2; one thread per library.

shapiq 1.8 needs Python ≥ 3.12: the comparison runs in ``SPECTREX_SHAPIQ18_PYTHON`` (default
``/work/venv312/bin/python``, with spectrex installed there: ``pip install -e .``); without it the
benchmark is skipped with a note. ``python -m benchmarks index_accuracy [--quick]``; tables
``index_accuracy`` (every run), ``index_accuracy_summary`` (mean over inputs and seeds, spectrex beside
the best shapiq estimator; errors below :data:`ROUNDING` count as exact, so two exact estimators tie).
Parts of a run: ``python -m benchmarks.index_accuracy [--no-real | --no-planted] [--only NAME]
[--budgets 250,500] [--library spectrex | shapiq]`` writes a table named after them, and ``--merge`` joins
every table under ``benchmarks/results`` (a later part replaces the runs it has: same case, budget, method
and seed) into ``index_accuracy`` and its summary. Above n = 64 the order-2 regressions over every pair
(KernelSHAP-IQ, PolySHAP, RegressionFBII) and SVARM-IQ are left out (minutes per run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
PIN = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
BUDGETS = [250, 500, 1000, 2000]
SEEDS = [0, 1, 2]
PLANTED = [
    {"name": "planted n=32 k=10 order≤3", "n": 32, "k": 10, "order": 3, "snr_db": None},
    {"name": "planted n=64 k=20 order≤3", "n": 64, "k": 20, "order": 3, "snr_db": None},
    {"name": "planted n=64 k=20 order≤3, 10 dB", "n": 64, "k": 20, "order": 3, "snr_db": 10.0},
    {"name": "planted n=256 k=40 order≤3", "n": 256, "k": 40, "order": 3, "snr_db": None},
    {"name": "planted dense n=32 order≤2", "n": 32, "k": 528, "order": 2, "snr_db": None},
]
#: shapiq estimators per index: (label, class name, keyword arguments)
SHAPIQ = {
    "SV": [
        ("OddSHAP", "OddSHAP", {}),
        ("PolySHAP", "PolySHAP", {"max_order": 2}),
        ("RegressionMSR", "RegressionMSR", {"index": "SV"}),
        ("ProxySHAP", "ProxySHAP", {"index": "SV", "max_order": 1, "adjustment": True}),
        ("KernelSHAP", "KernelSHAP", {}),
    ],
    "SII-2": [
        ("KernelSHAP-IQ", "KernelSHAPIQ", {"index": "SII", "max_order": 2}),
        ("ProxySHAP", "ProxySHAP", {"index": "SII", "max_order": 2, "adjustment": True}),
        ("SVARM-IQ", "SVARMIQ", {"index": "SII", "max_order": 2}),
    ],
    "k-SII-2": [
        ("KernelSHAP-IQ", "KernelSHAPIQ", {"index": "k-SII", "max_order": 2}),
        ("ProxySHAP", "ProxySHAP", {"index": "k-SII", "max_order": 2, "adjustment": True}),
        ("SVARM-IQ", "SVARMIQ", {"index": "k-SII", "max_order": 2}),
    ],
    "FBII-2": [
        ("RegressionFBII", "RegressionFBII", {"max_order": 2}),
        ("ProxySHAP", "ProxySHAP", {"index": "FBII", "max_order": 2, "adjustment": True}),
    ],
}
#: (our index name, view order, orders scored) per measure
MEASURES = {
    "SV": ("SV", 1, (1,)),
    "SII-2": ("SII", 2, (2,)),
    "k-SII-2": ("k-SII", 2, (1, 2)),
    "FBII-2": ("FBII", 2, (2,)),
}
#: errors below this are exact to floating-point rounding (a 1e-13 against a 1e-15 is a tie, not a loss)
ROUNDING = 1e-12
#: order-2 regressions over every pair (n(n-1)/2 columns) are left out above this many parts, and so is
#: SVARM-IQ (40–80 s of CPU per run at n = 64 and growing with n²; 10–30× the best error there)
MAX_PAIR_REGRESSION_N = 64
PAIR_REGRESSIONS = {"KernelSHAPIQ", "PolySHAP", "RegressionFBII", "SVARMIQ"}


class Table:
    """A set function given by its values on all ``2^n`` masks (bit ``i`` of the row = part ``i``)."""

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, float)
        self.n = int(np.log2(len(self.values)))
        self.weights = 1 << np.arange(self.n, dtype=np.int64)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(masks, bool).astype(np.int64) @ self.weights]


def _cases(quick: bool, real: bool, planted_too: bool, only: str | None = None):
    """``(group, case name, n, value function factory, exact Möbius transform)``; ``only``: names containing it."""
    for case in _all_cases(quick, real, planted_too):
        if only is None or only in case[1]:
            yield case


def _all_cases(quick: bool, real: bool, planted_too: bool):
    from spectrex.synthetic import NoisyFunction, planted
    from spectrex.transforms.wht import exact_mobius

    if real:
        for path in sorted(DATA.glob("index_accuracy_*.npy"))[: 2 if quick else None]:
            table = Table(np.load(path))
            group = "Gemma 3 270M sentiment" if "gemma" in path.name else "toxicity BiLSTM"
            yield group, path.stem, table.n, (lambda t=table: t), exact_mobius(table.values, table.n)
    for s in (PLANTED[:1] if quick else PLANTED) if planted_too else []:
        f = planted(s["n"], s["k"], s["order"], 0, scale=2.0)

        def make(f=f, s=s):  # fresh noise draws per method, the same for every method
            if s["snr_db"] is None:
                return lambda m: f(np.asarray(m, bool))
            noisy = NoisyFunction(f, s["snr_db"], random_state=0)
            return lambda m: noisy(np.asarray(m, bool))

        yield s["name"], s["name"], s["n"], make, f


def _dense(keys_values, n: int) -> tuple[np.ndarray, np.ndarray]:
    single, pair = np.zeros(n), np.zeros((n, n))
    for key, v in keys_values:
        if len(key) == 1:
            single[key[0]] = v
        elif len(key) == 2:
            pair[min(key), max(key)] = v
    return single, pair[np.triu_indices(n, 1)]


def _ours(view) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    from spectrex.transforms import bitset

    keys = bitset.to_indices(view.supports, view.n)
    return _dense(zip(keys, view.values), view.n), _dense(zip(keys, view.std_errors), view.n)


def _score(est, exact, orders) -> float:
    parts = [np.abs(est[o - 1] - exact[o - 1]) for o in orders]
    return float(np.concatenate(parts).mean())


def _inner(
    quick: bool,
    real: bool,
    planted_too: bool,
    n_seeds: int | None = None,
    only: str | None = None,
    library: str | None = None,
) -> None:
    """Runs in the shapiq 1.8 venv; prints one JSON row per (case, budget, seed, method, measure).

    ``library``: "spectrex" or "shapiq" runs only that library's rows (a rerun of one side)."""
    from shapiq import approximator

    import spectrex
    from spectrex.transforms.indices import convert

    budgets = [250, 1000] if quick else BUDGETS
    seeds = SEEDS[:1] if quick else SEEDS if n_seeds is None else list(range(n_seeds))
    for group, case, n, make, exact in _cases(quick, real, planted_too, only):
        truth = {}
        for measure, (index, k, _) in MEASURES.items():
            sup, val, _ = convert(exact, index, k)
            from spectrex.transforms import bitset

            truth[measure] = _dense(zip(bitset.to_indices(sup, n), val), n)
        for budget in budgets:
            for seed in seeds:
                base = {"group": group, "case": case, "n": n, "budget": budget, "seed": seed}
                if library != "shapiq":
                    t0 = time.process_time()
                    res = spectrex.explain(make(), n, budget=budget, random_state=seed)
                    cpu = time.process_time() - t0
                for measure, (index, k, orders) in MEASURES.items() if library != "shapiq" else ():
                    t1 = time.process_time()
                    est, se = _ours(res.to(index, k))
                    o = orders[-1] - 1  # coverage over the measure's top order
                    # a value exact to rounding counts as inside (its standard error may be 0)
                    inside = np.abs(est[o] - truth[measure][o]) <= np.maximum(1.645 * se[o], ROUNDING)
                    row = base | {"method": "spectrex " + res.metadata["method"], "measure": measure}
                    row |= {"mae": _score(est, truth[measure], orders), "cover90": float(np.mean(inside))}
                    row |= {"cpu_s": cpu + time.process_time() - t1}
                    print(json.dumps(row), flush=True)
                for measure, methods in SHAPIQ.items() if library != "spectrex" else ():
                    index, k, orders = MEASURES[measure]
                    for label, cls, kwargs in methods:
                        if cls in PAIR_REGRESSIONS and n > MAX_PAIR_REGRESSION_N:
                            continue
                        t1 = time.process_time()
                        try:
                            approx = getattr(approximator, cls)(n=n, random_state=seed, **kwargs)
                            iv = approx.approximate(budget, make())
                        except Exception as exc:  # noqa: BLE001 - a failing reference is a row, not a crash
                            print(
                                json.dumps(
                                    base
                                    | {
                                        "method": f"shapiq {label}",
                                        "measure": measure,
                                        "error": f"{type(exc).__name__}: {exc}"[:200],
                                    }
                                ),
                                flush=True,
                            )
                            continue
                        cpu = time.process_time() - t1
                        est = _dense(((key, float(iv.values[pos])) for key, pos in iv.interaction_lookup.items()), n)
                        row = base | {"method": f"shapiq {label}", "measure": measure}
                        row |= {"mae": _score(est, truth[measure], orders), "cpu_s": cpu}
                        print(json.dumps(row), flush=True)


def summary(rows: list[dict]) -> list[dict]:
    """Mean MAE over inputs and seeds per (group, measure, budget): spectrex beside each shapiq estimator."""
    acc: dict[tuple, list] = defaultdict(list)
    cov: dict[tuple, list] = defaultdict(list)
    for r in rows:
        if "mae" not in r:
            continue
        acc[(r["group"], r["measure"], r["budget"], r["method"])].append(r["mae"])
        if "cover90" in r:
            cov[(r["group"], r["measure"], r["budget"])].append(r["cover90"])
    table: dict[tuple, dict] = {}
    for (group, measure, budget, method), v in acc.items():
        row = table.setdefault((group, measure, budget), {"group": group, "measure": measure, "budget": budget})
        row[method] = float(np.mean(v))
    out = []
    for key, row in sorted(table.items(), key=lambda kv: (kv[0][0], list(MEASURES).index(kv[0][1]), kv[0][2])):
        ours = [m for m in row if m.startswith("spectrex")]
        theirs = {m: v for m, v in row.items() if m.startswith("shapiq")}
        if ours and theirs:
            best = min(theirs, key=theirs.get)
            row["best shapiq"] = best.removeprefix("shapiq ")
            # errors below ROUNDING are both "exact": their ratio is rounding noise, counted as a tie
            row["ratio (spectrex / best shapiq)"] = max(row[ours[0]], ROUNDING) / max(theirs[best], ROUNDING)
        if cov.get(key):
            row["spectrex cover90"] = float(np.mean(cov[key]))
        out.append(row)
    return out


def run(
    quick: bool,
    out: Path,
    real: bool = True,
    planted_too: bool = True,
    n_seeds: int | None = None,
    only: str | None = None,
    budgets: list[int] | None = None,
    library: str | None = None,
) -> None:
    from benchmarks.common import write_table

    py = os.environ.get("SPECTREX_SHAPIQ18_PYTHON", "/work/venv312/bin/python")
    title = "Index accuracy: spectrex default vs shapiq 1.8.0, equal budgets"
    if not Path(py).exists():
        print("index_accuracy skipped: set SPECTREX_SHAPIQ18_PYTHON to a Python ≥ 3.12 with shapiq 1.8.0 and spectrex")
        return
    env = {**os.environ, **PIN, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    flags = ["--quick"] if quick else []
    flags += [] if real else ["--no-real"]
    flags += [] if planted_too else ["--no-planted"]
    flags += [] if n_seeds is None else ["--seeds", str(n_seeds)]
    flags += [] if only is None else ["--only", only]
    flags += [] if budgets is None else ["--budgets", ",".join(map(str, budgets))]
    flags += [] if library is None else ["--library", library]
    load0, t0 = os.getloadavg(), time.time()
    proc = subprocess.Popen(
        [py, "-m", "benchmarks.index_accuracy", "--inner", *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    rows = []
    suffix = "" if real and planted_too else "_real" if real else "_planted"
    suffix += "" if only is None else "_" + only
    suffix += "" if budgets is None else "_budget" + "_".join(map(str, budgets))
    suffix += "" if n_seeds is None else f"_seeds{n_seeds}"
    suffix += "" if library is None else "_" + library

    def note() -> str:
        return (
            "MAE against the exact indices (noiseless function); mean over inputs and seeds in the summary. spectrex: "
            "spectrex.explain at its defaults, every index read from one result; cover90: share of parts (SV) / pairs "
            "whose exact value is inside value ± 1.645 SE. shapiq 1.8.0 at its defaults (ProxySHAP adjustment=True), "
            f"random_state = seed. One thread per library. loadavg at start {load0[0]:.2f} / {load0[1]:.2f}, "
            f"now {os.getloadavg()[0]:.2f}; wall {time.time() - t0:.0f} s; CPU seconds per run in cpu_s."
        )

    for line in proc.stdout:
        if line.startswith("{"):
            rows.append(json.loads(line))
            if len(rows) % 10 == 0:
                write_table(rows, out, "index_accuracy" + suffix, title, note())
    if proc.wait():
        raise RuntimeError(f"the shapiq 1.8 run failed (exit {proc.returncode})")
    write_table(rows, out, "index_accuracy" + suffix, title, note())
    write_table(summary(rows), out, "index_accuracy" + suffix + "_summary", title + ": summary", note())


def merge(out: Path) -> None:
    """Join the ``_real`` and ``_planted`` tables of two partial runs into ``index_accuracy`` and its summary."""
    import csv

    from benchmarks.common import write_table

    rows, notes = [], []
    paths = sorted(out.glob("index_accuracy_real*.csv")) + sorted(out.glob("index_accuracy_planted*.csv"))
    # a rerun (``…_budget250``, ``…_seeds10``, ``…_spectrex``) replaces the runs it has: same case, budget,
    # method and seed
    paths = sorted(
        (p for p in paths if not p.stem.endswith("_summary")),
        key=lambda p: (p.stem.endswith(("_spectrex", "_shapiq")), "_budget" in p.stem, "_seeds" in p.stem, p.stem),
    )
    for path in paths:
        redone = {(r["case"], int(r["budget"]), r["method"], int(r["seed"])) for r in csv.DictReader(path.open())}
        rows = [r for r in rows if (r["case"], r["budget"], r["method"], r["seed"]) not in redone]
        part = path.stem.removeprefix("index_accuracy_")
        for r in csv.DictReader(path.open()):
            row = {k: v for k, v in r.items() if v != ""}
            for key in ("n", "budget", "seed"):
                row[key] = int(row[key])
            for key in ("mae", "cover90", "cpu_s"):
                if key in row:
                    row[key] = float(row[key])
            rows.append(row)
        notes.append(f"{part}: " + (out / f"index_accuracy_{part}.md").read_text().strip().splitlines()[-1])
    title = "Index accuracy: spectrex default vs shapiq 1.8.0, equal budgets"
    write_table(rows, out, "index_accuracy", title, "\n\n".join(notes))
    write_table(summary(rows), out, "index_accuracy_summary", title + ": summary", "\n\n".join(notes))


if __name__ == "__main__":
    if "--merge" in sys.argv:
        merge(ROOT / "benchmarks" / "results")
        sys.exit(0)
    # python -m benchmarks.index_accuracy [--quick] [--no-real | --no-planted] [--seeds K] (seeds 0…K-1)
    seeds = int(sys.argv[sys.argv.index("--seeds") + 1]) if "--seeds" in sys.argv else None
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    budgets = (
        [int(b) for b in sys.argv[sys.argv.index("--budgets") + 1].split(",")] if "--budgets" in sys.argv else None
    )
    if budgets is not None:
        BUDGETS[:] = budgets
    library = sys.argv[sys.argv.index("--library") + 1] if "--library" in sys.argv else None
    real, planted_too = "--no-real" not in sys.argv, "--no-planted" not in sys.argv
    if "--inner" in sys.argv:
        _inner("--quick" in sys.argv, real, planted_too, seeds, only, library)
    else:
        run("--quick" in sys.argv, ROOT / "benchmarks" / "results", real, planted_too, seeds, only, budgets, library)
