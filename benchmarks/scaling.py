"""Algorithm time and peak memory against n (64 … 1024) and against the budget, per method.

Each point runs in a fresh subprocess (``python -m benchmarks.scaling --point METHOD N BUDGET``) so
its peak resident memory (VmHWM, else ``ru_maxrss``) is its own; the memory after imports is reported too, so
``delta_mib`` is what the explanation itself added. The value function is a planted sparse function
(k = 20, order ≤ 3) that costs next to nothing, so the seconds are the algorithm's. Each process first runs one small
explanation, so JIT compilation and first-call loading are not counted as growth. The growth order
is the slope of a least-squares line through ``log(seconds)`` against ``log(n)`` (or ``log(budget)``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks._methods import LASSO2_MAX_FLOATS, registered_methods
from benchmarks.common import write_table

NAME = "scaling"
ROOT = Path(__file__).resolve().parents[1]


def _peak_mib() -> float:
    """Peak resident memory of this process: VmHWM (reset by exec), else ru_maxrss.

    ``ru_maxrss`` survives ``execve`` on Linux, so a child started from a large parent would report
    the parent's size; VmHWM belongs to the new address space only.
    """
    import resource

    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _point(method: str, n: int, budget: int) -> dict:
    """Run one explanation in this process and describe it (called in the subprocess)."""
    import time

    import spectrex
    from spectrex.synthetic import planted

    f = planted(n, 20, 3, random_state=5)
    # one small explanation first: JIT compilation and first-call library loading are not growth
    g = planted(16, 4, 2, random_state=5)
    try:
        spectrex.explain(g, 16, method=method, budget=min(budget, 2000), random_state=0)
    except spectrex.SpectrexError:  # a method that needs more queries at n = 16: warm up on the real size
        spectrex.explain(f, n, method=method, budget=budget, random_state=1)
    f(np.zeros((2, n), bool))
    base = _peak_mib()
    t0 = time.perf_counter()
    res = spectrex.explain(f, n, method=method, budget=budget, random_state=0)
    wall = time.perf_counter() - t0
    test = np.random.default_rng(1).random((1000, n)) < 0.5
    y = f(test)
    pred = res.predict(test)
    r2 = 1 - float(((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    peak = _peak_mib()
    return {
        "algorithm_s": float(res.metadata["timings"].get("algorithm_s", wall)),
        "queries": int(res.metadata.get("queries", 0)),
        "peak_mib": peak,
        "delta_mib": peak - base,
        "r2": r2,
    }


def _spawn(method: str, n: int, budget: int, timeout: float) -> dict:
    env = dict(os.environ)
    # single-threaded BLAS: on a shared 2-core machine threaded BLAS oversubscribes and times jump 10×
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--point", method, str(n), str(budget)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"note": f"over {timeout:.0f} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"note": last[:140]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _skip(method: str, n: int, budget: int) -> str:
    if method == "lasso2" and budget * n * (n - 1) / 2 > LASSO2_MAX_FLOATS:
        return f"left out: dense design of {budget:,} × {n * (n - 1) // 2:,} floats"
    return ""


def run(quick: bool, out: Path) -> None:
    methods = registered_methods()
    if quick:
        ns, n_budget, budgets, nb_n, timeout = [64, 256], 1000, [500, 2000], 64, 120
        if "lasso2" in methods:  # its dense n²/2-column design is the slowest thing here; the full run has it
            methods.remove("lasso2")
    else:
        ns, n_budget, nb_n, timeout = [64, 128, 256, 512, 1024], 4000, 256, 300
        budgets = [1000, 2000, 4000, 8000, 16000]
    rows = []
    sweeps = [("n", n, n_budget) for n in ns] + [("budget", nb_n, b) for b in budgets]
    for method in methods:
        for axis, n, budget in sweeps:
            note = _skip(method, n, budget)
            res = {"note": note} if note else _spawn(method, n, budget, timeout)
            row = {
                "method": method,
                "sweep": axis,
                "n": n,
                "budget": budget,
                "queries": res.get("queries", 0),
                "algorithm_s": res.get("algorithm_s", float("nan")),
                "peak_mib": res.get("peak_mib", float("nan")),
                "delta_mib": res.get("delta_mib", float("nan")),
                "r2": res.get("r2", float("nan")),
                "note": res.get("note", ""),
            }
            rows.append(row)
            secs, mem = row["algorithm_s"], row["peak_mib"]
            print(f"  {method} n={n} budget={budget}: {secs:.3g} s, {mem:.0f} MiB", row["note"], flush=True)
    fits = []
    for method in methods:
        for axis in ("n", "budget"):
            pts = [(r[axis], r["algorithm_s"]) for r in rows if r["method"] == method and r["sweep"] == axis]
            pts = [(x, y) for x, y in pts if np.isfinite(y) and y > 0]
            slope = np.nan
            if len(pts) > 1:
                slope = float(np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0])
            fits.append({"method": method, "against": axis, "points": len(pts), "fitted_order": slope})
    write_table(
        rows,
        out,
        NAME,
        f"Algorithm time and peak memory: against n at budget {n_budget}, against budget at n = {nb_n}",
        "Planted function k = 20, order ≤ 3; one subprocess per point; peak_mib = VmHWM of that process, "
        "delta_mib = peak minus the memory after imports; BLAS single-threaded.",
    )
    write_table(
        fits,
        out,
        NAME + "_fit",
        "Growth order: slope of log(algorithm seconds) against log(n) or log(budget)",
        "1 = linear, 2 = quadratic. Fitted over the points that finished.",
    )
    _plot(rows, methods, out)


def _plot(rows: list[dict], methods: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, axis in enumerate(("n", "budget")):
        for m in methods:
            sel = [r for r in rows if r["method"] == m and r["sweep"] == axis]
            pts = sorted((r[axis], r["algorithm_s"], r["peak_mib"]) for r in sel)
            pts = [p for p in pts if np.isfinite(p[1])]
            if pts:
                x, t, mem = zip(*pts)
                axes[0, col].plot(x, t, marker="o", label=m)
                axes[1, col].plot(x, mem, marker="o", label=m)
        for row, ylabel in enumerate(("algorithm seconds", "peak memory (MiB)")):
            ax = axes[row, col]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{NAME}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--point":
        print(json.dumps(_point(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        sys.exit("usage: python -m benchmarks.scaling --point METHOD N BUDGET (or python -m benchmarks scaling)")
