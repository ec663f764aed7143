"""spectrex ProxySPEX against shapiq 1.6 (ProxySHAP with its MSR adjustment, RegressionMSR), equal budgets.

Planted Möbius functions (``spectrex.synthetic.planted``, coefficients N(0, 4)): sparse order ≤ 3 at
n = 32, 64, 256, the n = 64 one also with Gaussian noise at 10 dB SNR, and a dense order-≤ 2
function (every single and pair, n = 32); then the toxicity BiLSTM on three short comments (word
parts, n ≤ 15), enumerated on all 2^n masks once so that its exact indices are known (the inner run
reads the table). Errors are against the exact indices of the noiseless function (its Möbius
transform converted exactly):

* ``sv_mae``: mean absolute error of the Shapley values (spectrex: the recovered transform converted;
  shapiq: RegressionMSR, index SV);
* ``sii2_mae`` / ``fbii2_mae``: mean absolute error over all pairs of the order-2 Shapley
  interaction index (SII) and Faith-Banzhaf index (FBII, max order 2) (shapiq: ProxySHAP with
  index SII / FBII, max_order 2, adjustment "msr");
* ``r2``: surrogate R² on 10,000 fresh uniform masks (spectrex: the recovered transform; shapiq:
  the order-2 FBII values read as Möbius coefficients, i.e. its best order-2 surrogate).

shapiq 1.6 needs Python ≥ 3.12 on PyPI; ``../shared/tools/build-shapiq-1.6.sh`` builds it on 3.11 into a
separate venv (add ``numba rich threadpoolctl`` there for spectrex). Point ``SPECTREX_SHAPIQ16_PYTHON`` at
that venv's python; the whole comparison then runs in it, one thread per library, so both libraries see
the same masks' function and numpy. Without it the benchmark is skipped with a note.

``python -m benchmarks vs_shapiq16 [--quick]``; table ``vs_shapiq16``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PIN = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
BUDGETS = [500, 1000, 2000, 4000]
SETTINGS = [
    {"name": "sparse n=32 k=10 order≤3", "n": 32, "k": 10, "order": 3, "snr_db": None},
    {"name": "sparse n=64 k=20 order≤3", "n": 64, "k": 20, "order": 3, "snr_db": None},
    {"name": "sparse n=64 k=20 order≤3, 10 dB noise", "n": 64, "k": 20, "order": 3, "snr_db": 10.0},
    {"name": "sparse n=256 k=40 order≤3", "n": 256, "k": 40, "order": 3, "snr_db": None},
    {"name": "dense n=32 order≤2 (all 528 terms)", "n": 32, "k": 528, "order": 2, "snr_db": None},
]


def _pairs(sup: np.ndarray, val: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense singles ``(n,)`` and upper-triangle pairs ``(n(n-1)/2,)`` of an index given as supports."""
    from spectrex.transforms import bitset

    single, pair = np.zeros(n), np.zeros((n, n))
    for s, v in zip(bitset.to_indices(sup, n), val):
        if len(s) == 1:
            single[s[0]] = v
        elif len(s) == 2:
            pair[s[0], s[1]] = v
    return single, pair[np.triu_indices(n, 1)]


def _shapiq_dense(iv, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    single, pair = np.zeros(n), np.zeros((n, n))
    empty = 0.0
    for key, pos in iv.interaction_lookup.items():
        v = float(iv.values[pos])
        if len(key) == 0:
            empty = v
        elif len(key) == 1:
            single[key[0]] = v
        elif len(key) == 2:
            pair[min(key), max(key)] = v
    if hasattr(iv, "baseline_value") and () not in iv.interaction_lookup:
        empty = float(iv.baseline_value)
    return single, pair[np.triu_indices(n, 1)], empty


class Table:
    """A set function given by its values on all ``2^n`` masks (a model enumerated once)."""

    def __init__(self, values: np.ndarray, n: int):
        self.values, self.n = np.asarray(values, float), n
        self.weights = 1 << np.arange(n)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(masks, bool).astype(np.int64) @ self.weights]


def _cases(quick: bool, tables: list[Path], planted_too: bool = True):
    """``(setting name, n, noiseless function, noisy function or None, exact Möbius transform)``."""
    from spectrex.synthetic import NoisyFunction, planted
    from spectrex.transforms.wht import exact_mobius

    for s in ([SETTINGS[0], SETTINGS[2]] if quick else SETTINGS) if planted_too else []:
        f = planted(s["n"], s["k"], s["order"], 0, scale=2.0)
        noisy = NoisyFunction(f, s["snr_db"], random_state=0) if s["snr_db"] is not None else None
        yield s["name"], s["n"], f, noisy, f
    for path in tables:
        data = np.load(path)
        n = int(data["n"])
        yield str(data["name"]), n, Table(data["values"], n), None, exact_mobius(data["values"], n)


def _inner(quick: bool, tables: list[Path], planted_too: bool = True) -> None:
    """Runs inside the shapiq 1.6 venv; prints one JSON row per (setting, budget, method)."""
    import copy

    from shapiq.approximator import ProxySHAP, RegressionMSR

    from spectrex import ProxySPEX
    from spectrex.transforms.indices import convert

    budgets = [500, 1000] if quick else BUDGETS
    seed = 0
    for name, n, f, noisy, exact in _cases(quick, tables, planted_too):
        s = {"name": name}
        sv_true, _ = _pairs(*convert(exact, "SV")[:2], n)
        _, sii_true = _pairs(*convert(exact, "SII", 2)[:2], n)
        _, fb_true = _pairs(*convert(exact, "FBII", 2)[:2], n)
        test = np.random.default_rng(10_000).random((10_000, n)) < 0.5
        y_test = f(test)
        sst = float(((y_test - y_test.mean()) ** 2).sum())

        for budget in budgets:
            if budget >= 2**n:
                continue

            def vf(f=f, noisy=noisy):  # the same noise draws for every method
                g = copy.deepcopy(noisy) if noisy is not None else f
                return lambda m: g(np.asarray(m, bool))

            row0 = {"setting": s["name"], "n": n, "budget": budget}
            t0 = time.process_time()
            res = ProxySPEX(random_state=seed).explain(vf(), n, budget)
            cpu = time.process_time() - t0
            sv, _ = _pairs(*convert(res.transform, "SV")[:2], n)
            _, sii = _pairs(*convert(res.transform, "SII", 2)[:2], n)
            _, fb = _pairs(*convert(res.transform, "FBII", 2)[:2], n)
            r2 = 1 - float(((y_test - res.predict(test)) ** 2).sum()) / sst
            print(
                json.dumps(
                    row0
                    | {
                        "method": "spectrex ProxySPEX",
                        "sv_mae": float(np.abs(sv - sv_true).mean()),
                        "sii2_mae": float(np.abs(sii - sii_true).mean()),
                        "fbii2_mae": float(np.abs(fb - fb_true).mean()),
                        "r2": r2,
                        "cpu_s": cpu,
                    }
                ),
                flush=True,
            )
            t0 = time.process_time()
            iv = RegressionMSR(n=n, index="SV", random_state=seed).approximate(budget, vf())
            cpu = time.process_time() - t0
            sv, _, _ = _shapiq_dense(iv, n)
            print(
                json.dumps(
                    row0
                    | {"method": "shapiq 1.6 RegressionMSR (SV)", "sv_mae": float(np.abs(sv - sv_true).mean())}
                    | {"cpu_s": cpu}
                ),
                flush=True,
            )
            t0 = time.process_time()
            iv = ProxySHAP(n=n, max_order=2, index="SII", adjustment="msr", random_state=seed)
            iv = iv.approximate(budget, vf())
            cpu_sii = time.process_time() - t0
            _, sii, _ = _shapiq_dense(iv, n)
            t0 = time.process_time()
            iv = ProxySHAP(n=n, max_order=2, index="FBII", adjustment="msr", random_state=seed)
            iv = iv.approximate(budget, vf())
            cpu_fb = time.process_time() - t0
            single, fb, empty = _shapiq_dense(iv, n)
            iu, ju = np.triu_indices(n, 1)
            pred = empty + test @ single + np.einsum("qp,p->q", (test[:, iu] & test[:, ju]).astype(float), fb)
            r2 = 1 - float(((y_test - pred) ** 2).sum()) / sst
            print(
                json.dumps(
                    row0
                    | {
                        "method": "shapiq 1.6 ProxySHAP (msr; SII / FBII order 2)",
                        "sii2_mae": float(np.abs(sii - sii_true).mean()),
                        "fbii2_mae": float(np.abs(fb - fb_true).mean()),
                        "r2": r2,
                        "cpu_s": cpu_sii + cpu_fb,
                    }
                ),
                flush=True,
            )


#: short toxic comments for the enumerated comparison (2^n model calls each: n ≤ 15 words)
SHORT_TOXIC = [
    "this is the dumbest thing I have read today, what a pathetic loser you are",
    "shut up you stupid idiot, nobody here cares about your worthless opinion anyway",
    "what a moron, go away and stop ruining every single page on this wiki",
]


def toxicity_tables(out: Path) -> list[Path]:
    """The toxicity BiLSTM on every mask of a few short comments (word parts), saved for the inner run
    under ``out`` (the benchmark passes ``~/.cache/spectrex/bench``)."""
    try:
        from spectrex.models import load_model, make_parts
        from spectrex.transforms.wht import all_masks

        scorer = load_model("toxicity")
    except Exception as exc:  # noqa: BLE001 - the real-model part is optional
        print(f"toxicity tables skipped: {type(exc).__name__}: {exc}")
        return []
    paths = []
    for i, text in enumerate(SHORT_TOXIC):
        vf = scorer.value_function(make_parts(text, "words"))
        n = vf.n
        path = out / f"vs_shapiq16_toxicity_{i}.npz"
        if not path.exists():
            values = np.concatenate([vf(m) for m in np.array_split(all_masks(n), max(1, 2**n // 4096))])
            np.savez(path, values=values, n=n, name=f"toxicity BiLSTM, comment {i} ({n} words, 2^{n} enumerated)")
        paths.append(path)
    return paths


def summary(rows: list[dict]) -> list[dict]:
    """One row per (setting, budget): spectrex beside the shapiq method for each measure."""
    from collections import defaultdict

    groups: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        groups[(r["setting"], r["budget"])][r["method"].split(" (")[0]] = r
    out = []
    for (setting, budget), m in groups.items():
        sp = m.get("spectrex ProxySPEX", {})
        rm = m.get("shapiq 1.6 RegressionMSR", {})
        ps = m.get("shapiq 1.6 ProxySHAP", {})
        out.append(
            {
                "setting": setting,
                "budget": budget,
                "sv_mae spectrex": sp.get("sv_mae"),
                "sv_mae RegressionMSR": rm.get("sv_mae"),
                "sii2_mae spectrex": sp.get("sii2_mae"),
                "sii2_mae ProxySHAP": ps.get("sii2_mae"),
                "fbii2_mae spectrex": sp.get("fbii2_mae"),
                "fbii2_mae ProxySHAP": ps.get("fbii2_mae"),
                "r2 spectrex": sp.get("r2"),
                "r2 ProxySHAP FBII-2": ps.get("r2"),
            }
        )
    return out


def run(quick: bool, out: Path) -> None:
    from benchmarks.common import write_table

    py = os.environ.get("SPECTREX_SHAPIQ16_PYTHON")
    title = "ProxySPEX vs shapiq 1.6 (ProxySHAP + MSR, RegressionMSR), equal budgets"
    if not py or not Path(py).exists():
        print("vs_shapiq16 skipped: set SPECTREX_SHAPIQ16_PYTHON to a python with shapiq 1.6 (see the docstring)")
        return
    cache = Path.home() / ".cache" / "spectrex" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    tables = [] if quick else toxicity_tables(cache)
    env = {**os.environ, **PIN, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    cmd = [py, "-m", "benchmarks.vs_shapiq16", "--inner"] + (["--quick"] if quick else []) + [str(t) for t in tables]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    rows = []
    note = (
        "Errors against the exact indices of the noiseless planted function; r2 on 10,000 fresh uniform masks "
        "(shapiq: its order-2 FBII values as a Möbius surrogate). Seed 0; spectrex ProxySPEX at its default "
        f"settings; shapiq 1.6 default proxies (XGBoost), random_state 0. One thread per library. "
        f"loadavg at start {os.getloadavg()[0]:.2f}."
    )
    for line in proc.stdout:
        if line.startswith("{"):
            rows.append(json.loads(line))
            print(rows[-1], flush=True)
            write_table(rows, out, "vs_shapiq16", title, note)
    if proc.wait():
        raise RuntimeError(f"the shapiq 1.6 run failed (exit {proc.returncode})")
    note += f" loadavg at end {os.getloadavg()[0]:.2f}."
    write_table(rows, out, "vs_shapiq16", title, note)
    write_table(summary(rows), out, "vs_shapiq16_summary", "ProxySPEX vs shapiq 1.6: side by side", note)


if __name__ == "__main__":
    if "--inner" in sys.argv:
        tables = [Path(a) for a in sys.argv[1:] if a.endswith(".npz")]
        _inner("--quick" in sys.argv, tables, planted_too="--models-only" not in sys.argv)
    else:
        run("--quick" in sys.argv, ROOT / "benchmarks" / "results")
