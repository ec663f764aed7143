"""spectrex side by side with spectralexplain 0.0.4 and shapiq, in the same run, at equal queries.

Install the other libraries with ``pip install spectrex[compare]``; any that is missing is skipped
with a note. Every implementation explains the same planted function with the same budget; the
value function's own time is subtracted, so ``algorithm_s`` is the library's overhead alone.

R² is measured the same way for everyone, on the same fresh uniform masks, by turning each
library's output into a :class:`~spectrex.SparseTransform`:

* spectralexplain returns Fourier coefficients (exact surrogate);
* shapiq's SPEX/ProxySPEX return Faith-Banzhaf (FBII) values at the full order, which are the
  coefficients of the best polynomial surrogate ``Σ_{S⊆m} I(S)`` (exact surrogate);
* KernelSHAP-IQ, SVARM-IQ and permutation sampling return k-SII values, which are not a
  surrogate of the function; their R² is that of ``Σ_{S⊆m} I(S)`` (how well the explanation
  predicts the model) and is expected to be lower by construction.

Ratios: ``time_ratio`` = the other implementation's algorithm seconds ÷ spectrex's counterpart
(> 1: spectrex is faster); ``r2_ratio`` = spectrex's R² ÷ the other's (> 1: spectrex is more faithful).
Counterparts: SPEX ↔ spectrex ``spex``, ProxySPEX ↔ ``proxyspex``, the rest ↔ spectrex's best
interaction method available (``proxyspex``, else ``lasso2``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks._methods import r2, registered_methods, run_method
from benchmarks.common import write_table
from spectrex.synthetic import planted
from spectrex.transforms import bitset
from spectrex.transforms.sparse import SparseTransform

NAME = "compare_libraries"


class _Counted:
    """Wraps a value function: rows asked for and seconds spent in it (to subtract from wall time)."""

    def __init__(self, f):
        self.f, self.rows, self.seconds = f, 0, 0.0

    def __call__(self, X):
        t0 = time.perf_counter()
        X = np.asarray(X).astype(bool)
        y = self.f(X)
        self.rows += X.shape[0]
        self.seconds += time.perf_counter() - t0
        return y


def _spectralexplain(algorithm: str, f, n: int, budget: int, order: int, seed: int):
    import spectralexplain as spex

    np.random.seed(seed)  # noqa: NPY002 - it draws with the global numpy generator
    fn = _Counted(f)
    t0 = time.perf_counter()
    exp = spex.Explainer(fn, n, sample_budget=budget, max_order=order, algorithm=algorithm)
    wall = time.perf_counter() - t0
    ft = exp.fourier_transform
    keys = np.array([np.asarray(k, int) for k in ft], dtype=bool).reshape(-1, n)
    tr = SparseTransform(n, bitset.pack(keys), np.array(list(ft.values()), float), "fourier")
    return tr, fn.rows, wall - fn.seconds


def _shapiq(cls_name: str, f, n: int, budget: int, order: int, seed: int):
    import shapiq.approximator as A

    cls = getattr(A, cls_name)
    if cls_name in ("SPEX", "ProxySPEX"):
        approx = cls(n=n, max_order=order, index="FBII", random_state=seed)
    else:
        approx = cls(n=n, max_order=min(order, 2), index="k-SII", random_state=seed)
    fn = _Counted(f)
    t0 = time.perf_counter()
    iv = approx.approximate(budget, fn)
    wall = time.perf_counter() - t0
    d = dict(iv.dict_values)
    if () not in d:
        d[()] = float(iv.baseline_value)
    keys = [tuple(int(i) for i in k) for k in d]
    tr = SparseTransform(n, bitset.from_indices(keys, n), np.array(list(d.values()), float), "mobius")
    return tr, fn.rows, wall - fn.seconds


def others(quick: bool, n: int) -> list[tuple[str, str, object]]:
    """``(label, spectrex counterpart, runner)`` for every other implementation installed."""
    out = []
    try:
        import spectralexplain  # noqa: F401

        out.append(("spectralexplain SPEX", "spex", lambda *a: _spectralexplain("spex", *a)))
        slow = not quick and n <= 32  # its ProxySPEX grid-searches 60 LightGBM fits: 810 s at n = 64 (REFERENCES.md)
    except ImportError:
        slow = False
    try:
        import shapiq  # noqa: F401

        for label, cls, twin in [
            ("shapiq SPEX", "SPEX", "spex"),
            ("shapiq ProxySPEX", "ProxySPEX", "proxyspex"),
            ("shapiq KernelSHAP-IQ", "KernelSHAPIQ", None),
            ("shapiq SVARM-IQ", "SVARMIQ", None),
            ("shapiq permutation sampling", "PermutationSamplingSII", None),
        ]:
            if quick and cls == "SVARMIQ":
                continue
            out.append((label, twin, lambda *a, _c=cls: _shapiq(_c, *a)))
    except ImportError:
        pass
    if slow:  # last, so that everything else is measured first
        out.append(("spectralexplain ProxySPEX", "proxyspex", lambda *a: _spectralexplain("proxyspex", *a)))
    return out


def run(quick: bool, out: Path) -> None:
    cases = [(24, 10, 3, 1000)] if quick else [(32, 10, 3, 1000), (64, 20, 3, 4224)]
    rows = []
    ours = registered_methods()
    for n, k, order, budget in cases:
        f = planted(n, k, order, random_state=7)
        rng = np.random.default_rng(99)
        test = rng.random((2000, n)) < 0.5
        y = f(test)
        task = f"planted n={n} k={k} order≤{order}"
        mine: dict[str, dict] = {}
        for method in ours:
            run_ = run_method(method, f, n, budget, seed=0)
            score = r2(run_.result.predict(test), y) if run_.result is not None else float("nan")
            mine[method] = {"r2": score, "algorithm_s": run_.algorithm_s}
            rows.append(_row(task, budget, f"spectrex {method}", run_.queries, score, run_.algorithm_s, run_.error))
            print(f"  {task} spectrex {method}: R²={score:.3f} {run_.algorithm_s:.2f}s", flush=True)
        best_inter = next((m for m in ("proxyspex", "spex", "lasso2") if m in mine), None)
        for label, twin, runner in others(quick, n):
            twin = twin if twin in mine else best_inter
            try:
                tr, queries, secs = runner(f, n, budget, order, 0)
                score = r2(tr(test), y)
                err = ""
            except Exception as exc:  # noqa: BLE001 - another library failing is a result, not a crash
                score, queries, secs, err = float("nan"), 0, float("nan"), f"{type(exc).__name__}: {str(exc)[:100]}"
            row = _row(task, budget, label, queries, score, secs, err)
            if twin is not None:
                ref = mine[twin]
                row["vs"] = f"spectrex {twin}"
                row["time_ratio"] = secs / ref["algorithm_s"] if ref["algorithm_s"] > 0 else float("nan")
                row["r2_ratio"] = ref["r2"] / score if score > 0 else float("nan")
            rows.append(row)
            print(f"  {task} {label}: R²={score:.3f} {secs:.2f}s {err}", flush=True)
        _write(rows, out, quick)  # after every case: a long run stopped early keeps what it measured


def _write(rows: list[dict], out: Path, quick: bool) -> None:
    notes = []
    if not any(r["implementation"].startswith(("shapiq", "spectralexplain")) for r in rows):
        notes.append("Neither spectralexplain nor shapiq is installed: `pip install spectrex[compare]`.")
    if not quick:
        notes.append("spectralexplain's ProxySPEX runs at n = 32 only (at n = 64 it takes ~810 s: REFERENCES.md).")
    if quick:
        notes.append(
            "--quick leaves out spectralexplain's ProxySPEX (a 60-fit grid search: minutes) and shapiq's SVARM-IQ."
        )
    write_table(
        rows,
        out,
        NAME,
        "spectrex against spectralexplain 0.0.4 and shapiq at equal budgets (same function, same test masks)",
        "\n".join(
            [
                "time_ratio = their algorithm seconds / spectrex counterpart's (> 1: spectrex faster); "
                "r2_ratio = spectrex R² / theirs (> 1: spectrex more faithful). k-SII methods are not surrogates: "
                "their R² is that of Σ_{S⊆m} I(S).",
                *notes,
            ]
        ),
    )
    _plot(rows, out)


def _row(task, budget, label, queries, score, secs, err) -> dict:
    return {
        "task": task,
        "budget": budget,
        "implementation": label,
        "queries": int(queries),
        "r2": float(score),
        "algorithm_s": float(secs),
        "vs": "",
        "time_ratio": float("nan"),
        "r2_ratio": float("nan"),
        "note": err,
    }


def _plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys((r["task"], r["budget"]) for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.5), squeeze=False)
    for ax, (task, budget) in zip(axes.flat, tasks):
        sel = [r for r in rows if r["task"] == task and r["budget"] == budget and np.isfinite(r["r2"])]
        for r in sel:
            color = "C0" if r["implementation"].startswith("spectrex") else "C3"
            ax.scatter(max(r["algorithm_s"], 1e-3), r["r2"], color=color)
            ax.annotate(r["implementation"], (max(r["algorithm_s"], 1e-3), r["r2"]), fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("algorithm seconds (model time excluded)")
        ax.set_ylabel("R² on fresh masks")
        ax.set_title(f"{task}, budget {budget}", fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / f"{NAME}.png", dpi=110)
    plt.close(fig)
