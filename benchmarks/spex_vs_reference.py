"""spectrex SPEX against the authors' code (``spectralexplain`` 0.0.4 on ``sparse-transform`` 0.2.1).

Planted functions ``f(m) = Σ c_S Π_{i∈S} m_i`` with ``c_S ~ N(0, 4)`` (``spectrex.synthetic.planted``,
``scale=2``). Both implementations get the same query budget (the design sizes match: 3 groups ×
(BCH parity + 1) delays × 2^b) and the value function costs nothing, so the time is the algorithm's
(model time is measured and subtracted for both). R² is measured on 5,000 fresh uniform masks.

Tables:
* ``spex_vs_reference``: n = 64 (20 interactions) and n = 256 (40 interactions), order ≤ 3, noiseless;
  time, speed-up (reference / ours) and R²;
* ``spex_sparsity_sweep``: k = 10 … 100 interactions of order ≤ 4 at n = 32, noiseless and at 10 dB SNR;
* ``spex_large_n``: n = 1000 with a 50,000-query budget, run in a subprocess for its peak memory.

``--quick`` skips the reference at n = 256 (about 7 minutes or more on 2 cores) and trims the sweep.
Needs the ``compare`` extra (``pip install -e ".[compare]"``) for the reference columns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import write_table
from spectrex import SPEX
from spectrex.synthetic import NoisyFunction, planted

SRC = Path(__file__).resolve().parents[1] / "src"
TEST_MASKS = 5000


class Counted:
    """Wraps a value function: counts rows and the seconds spent inside it."""

    def __init__(self, fn):
        self.fn, self.rows, self.seconds = fn, 0, 0.0

    def __call__(self, masks):
        t0 = time.perf_counter()
        masks = np.asarray(masks).astype(bool)
        out = np.asarray(self.fn(masks), dtype=float)
        self.rows += len(masks)
        self.seconds += time.perf_counter() - t0
        return out


def r2(f, predict, n: int, seed: int = 12345) -> float:
    masks = np.random.default_rng(seed).random((TEST_MASKS, n)) < 0.5
    y = f(masks)
    return float(1.0 - ((predict(masks) - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def run_ours(fn, n: int, budget: int, order: int, seed: int) -> dict:
    vf = Counted(fn)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SPEX(max_order=order, random_state=seed).explain(vf, n, budget)
    total = time.perf_counter() - t0
    return {
        "queries": vf.rows,
        "design": res.metadata["queries_planned"],
        "seconds": total - vf.seconds,
        "predict": res.predict,
        "found": len(res.transform),
    }


REFERENCE = """
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks.spex_vs_reference import Counted, r2
from spectrex.synthetic import NoisyFunction, planted
import spectralexplain as sx
n, k, order, budget, seed, snr = {n}, {k}, {order}, {budget}, {seed}, {snr}
f = planted(n, k, order, seed, scale=2.0)
vf = Counted(NoisyFunction(f, snr, seed))
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ex = sx.Explainer(vf, n, sample_budget=budget, max_order=order)
total = time.perf_counter() - t0
ft = ex.fourier_transform  # {{0/1 tuple K: F(K)}} with f(m) = sum F(K) (-1)^<m, K>
keys = np.array(list(ft.keys()), dtype=np.int64).reshape(-1, n)
vals = np.array([float(np.real(v)) for v in ft.values()])
pred = lambda m: (1.0 - 2.0 * ((m.astype(np.int64) @ keys.T) & 1)) @ vals
print(json.dumps({{"queries": vf.rows, "seconds": total - vf.seconds, "r2": r2(f, pred, n), "found": len(vals)}}))
"""


def run_reference(n, k, order, budget, seed, snr_db, timeout: float) -> dict | str:
    """The authors' SPEX in its own process (so a run can be capped); a string says why there is no result."""
    try:
        import spectralexplain  # noqa: F401
    except ImportError:
        return "not installed"
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), root, os.environ.get("PYTHONPATH", "")]))
    code = REFERENCE.format(root=root, n=n, k=k, order=order, budget=budget, seed=seed, snr=snr_db)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timeout > {timeout:.0f} s"
    if out.returncode:
        return "failed: " + out.stderr.strip().splitlines()[-1][:80]
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(n, k, order, budget, seed, snr_db=None, ref_timeout: float | None = 600.0) -> dict:
    f = planted(n, k, order, seed, scale=2.0)
    ours = run_ours(NoisyFunction(f, snr_db, seed), n, budget, order, seed)
    ref = run_reference(n, k, order, budget, seed, snr_db, ref_timeout) if ref_timeout else "skipped (--quick)"
    ok = isinstance(ref, dict)
    row = {
        "n": n,
        "k": k,
        "order": order,
        "snr_db": "inf" if snr_db is None else snr_db,
        "design_queries": ours["design"],
        "queries_ours": ours["queries"],
        "seconds_ours": ours["seconds"],
        "r2_ours": r2(f, ours["predict"], n),
        "queries_ref": ref["queries"] if ok else "",
        "seconds_ref": ref["seconds"] if ok else ref,
        "r2_ref": ref["r2"] if ok else "",
        "speedup": ref["seconds"] / ours["seconds"] if ok else "",
    }
    print("  ", {key: (round(v, 4) if isinstance(v, float) else v) for key, v in row.items()}, flush=True)
    return row


LARGE = """
import json, resource, sys, time, warnings
import numpy as np
from spectrex import SPEX
from spectrex.synthetic import planted
n, k, budget = {n}, {k}, {budget}
f = planted(n, k, 3, 0, scale=2.0)
t0 = time.perf_counter()
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    res = SPEX(random_state=0).explain(f, n, budget)
total = time.perf_counter() - t0
masks = np.random.default_rng(1).random((5000, n)) < 0.5
y = f(masks)
r2 = 1 - ((res.predict(masks) - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
print(json.dumps({{"queries": res.metadata["queries"], "seconds": total,
    "algorithm_s": res.metadata["timings"]["algorithm_s"], "r2": float(r2), "warnings": len(w),
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def large_n(n: int = 1000, k: int = 40, budget: int = 50_000) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", LARGE.format(n=n, k=k, budget=budget)], capture_output=True, text=True, env=env
    )
    if out.returncode:
        raise RuntimeError(f"large-n run failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    row = {"n": n, "k": k, "max_order": "5 (default)", "budget": budget, **res}
    print("  ", row, flush=True)
    return row


def warm_up() -> float:
    """Compile (or load from numba's cache) the decoder kernels once; returns the seconds it took."""
    t0 = time.perf_counter()
    run_ours(planted(12, 3, 2, 0), 12, 2000, 2, 0)
    return time.perf_counter() - t0


def run(quick: bool, out: Path) -> None:
    print(f"   numba warm-up (one-time JIT compile or cache load): {warm_up():.1f} s", flush=True)
    rows = [
        compare(64, 20, 3, 4224, seed=0, ref_timeout=900),
        compare(256, 40, 3, 10752, seed=0, ref_timeout=None if quick else 1800),
    ]
    write_table(
        rows,
        out,
        "spex_vs_reference",
        "SPEX: spectrex vs spectralexplain 0.0.4 at equal queries (planted, order ≤ 3, noiseless)",
        notes="seconds = algorithm time (model time subtracted); speedup = seconds_ref / seconds_ours; "
        "R² on 5,000 fresh uniform masks. Command: `nice python -m benchmarks spex_vs_reference`"
        + (" --quick (reference skipped at n = 256)" if quick else ""),
    )
    ks = [10] if quick else [10, 40, 100]
    cap = 60 if quick else 150  # the reference's noisy runs can take many minutes each
    sweep = [compare(32, k, 4, 9600, seed=1, snr_db=snr, ref_timeout=cap) for k in ks for snr in (None, 10.0)]
    write_table(
        sweep,
        out,
        "spex_sparsity_sweep",
        "SPEX vs spectralexplain: k interactions of order ≤ 4 at n = 32, 9,600 queries (b = 7), noiseless and 10 dB",
        notes="Gaussian noise at 10 dB SNR (spectrex.synthetic.NoisyFunction); R² against the noiseless function. "
        f"The reference runs in its own process, capped at {cap} s per run.",
    )
    write_table(
        [large_n()],
        out,
        "spex_large_n",
        "SPEX at n = 1000 with a 50,000-query budget (planted k = 40, order ≤ 3; own subprocess)",
        notes="peak_mib = peak resident memory of the subprocess (ru_maxrss); seconds include query generation.",
    )
