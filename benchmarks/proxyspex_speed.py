"""ProxySPEX's own cost: warm and cold CPU seconds, wall seconds, R², peak memory; shapiq 1.4 beside it.

Every measurement runs in a fresh subprocess with every library pinned to one thread
(OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1), so "cold" is the first explanation after ``import spectrex``
(numba kernels loaded from their on-disk cache, lazy imports paid) and the peak resident memory
(VmHWM) is that process's own. "warm" is the fastest of three more explanations in the same
process. Seconds are the algorithm's: the time spent inside the value function (a planted
Möbius function, ``spectrex.synthetic.planted(n, 20, 3, seed, scale=2)``) is subtracted. R² on
10,000 fresh uniform masks (5,000 at n = 1000). The load average is printed with every row.

That function is evaluated by spectrex's own numba kernel, so it pays numba's one-time start (import
and target set-up, ~0.5 s of CPU here) and the cold rows show spectrex's cold cost beside a model
that uses numba. A torch model or a server does not: the rows with ``value = numpy`` evaluate the
same function with plain numpy, so numba's start is charged to the first explanation; the row
``numba alone`` measures that start by itself (a fresh process importing numba and calling one
cached one-line kernel; the least of three). Children run as an installed package does, with
their modules' ``.pyc`` files, after one throw-away run of each path has written those and
numba's caches.

shapiq 1.4's ProxySPEX (FBII, max_order 3) runs at n = 64 in the same run, in its own
subprocess with the same pinning, after a warm-up explanation.

Run: ``python -m benchmarks proxyspex_speed`` (``--quick``: n = 64 and 256 only).
Table written: ``proxyspex_speed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import write_table

ROOT = Path(__file__).resolve().parents[1]
PIN = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
CASES = [(64, 4224), (256, 8448), (1000, 10_000), (1000, 20_000)]
QUICK_CASES = [(64, 4224), (256, 8448)]

POINT = r"""
import json, os, sys, time
t0 = time.process_time()
import numpy as np
import spectrex
from spectrex.metrics import r2_score
from spectrex.synthetic import planted
import_s = time.process_time() - t0

def peak_mib():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024

class Timed:
    def __init__(self, f):
        self.f, self.cpu, self.wall = f, 0.0, 0.0
    def __call__(self, masks):
        c, w = time.process_time(), time.perf_counter()
        out = self.f(np.asarray(masks, bool))
        self.cpu += time.process_time() - c
        self.wall += time.perf_counter() - w
        return out

def once(method, f, n, q, seed):
    vf = Timed(f)
    c, w = time.process_time(), time.perf_counter()
    res = spectrex.explain(vf, n, method=method, budget=q, random_state=seed, max_order=3)
    return time.process_time() - c - vf.cpu, time.perf_counter() - w - vf.wall, res

method, n, q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
value = sys.argv[4] if len(sys.argv) > 4 else "kernel"
f = planted(n, 20, 3, 0, scale=2.0)
if value == "numpy":  # the same function with no numba: numba's own start is then charged to spectrex
    from spectrex.transforms.bitset import to_indices
    terms = [(list(s), c) for s, c in zip(to_indices(f.supports, n), f.coefs)]
    def f(masks):
        m = np.asarray(masks, bool)
        return sum(c * (m[:, s].all(1) if s else np.ones(len(m))) for s, c in terms)
cold_cpu, cold_wall, res = once(method, f, n, q, 0)
warm = [once(method, f, n, q, 0)[:2] for _ in range(3)]
m = np.random.default_rng(10_000).random((10_000 if n < 1000 else 5_000, n)) < 0.5
y = f(m)
r2 = r2_score(y, res.predict(m))
print(json.dumps({"method": method, "value": value, "n": n, "queries": q, "import_cpu_s": import_s,
                  "cold_cpu_s": cold_cpu, "warm_cpu_s": min(c for c, _ in warm), "cold_wall_s": cold_wall,
                  "warm_wall_s": min(w for _, w in warm), "r2": r2, "terms": len(res.transform),
                  "peak_rss_mib": peak_mib(), "loadavg": os.getloadavg()[0]}))
"""

SHAPIQ = r"""
import json, os, sys, time
import numpy as np
from shapiq.approximator import ProxySPEX
from spectrex.metrics import r2_score
from spectrex.synthetic import planted
from spectrex.transforms.sparse import SparseTransform

def run(n, q, seed):
    f = planted(n, 20, 3, seed, scale=2.0)
    spent = [0.0, 0.0]
    def vf(masks):
        c, w = time.process_time(), time.perf_counter()
        out = f(np.asarray(masks, bool))
        spent[0] += time.process_time() - c
        spent[1] += time.perf_counter() - w
        return out
    approx = ProxySPEX(n=n, index="FBII", max_order=3, random_state=seed)
    captured = {}
    original = approx._process_moebius
    def capture(moebius_transform):
        captured["mobius"] = dict(moebius_transform)
        return original(moebius_transform=moebius_transform)
    approx._process_moebius = capture
    c, w = time.process_time(), time.perf_counter()
    approx.approximate(q, vf)
    cpu, wall = time.process_time() - c - spent[0], time.perf_counter() - w - spent[1]
    g = SparseTransform.from_dict(captured["mobius"], n, "mobius")
    m = np.random.default_rng(10_000).random((10_000, n)) < 0.5
    y = f(m)
    r2 = r2_score(y, g(m))
    return cpu, wall, r2

run(12, 300, 0)  # warm-up: imports, first calls
n, q = int(sys.argv[1]), int(sys.argv[2])
cpu, wall, r2 = run(n, q, 0)
print(json.dumps({"method": "shapiq 1.4 ProxySPEX", "n": n, "queries": q, "warm_cpu_s": cpu, "warm_wall_s": wall,
                  "r2": r2, "loadavg": os.getloadavg()[0]}))
"""


NUMBA_ALONE = r"""
import json, os, time
import numpy as np
c = time.process_time()
from benchmarks._numba_floor import first_sum
first_sum(np.ones(3))
print(json.dumps({"method": "numba alone", "cold_cpu_s": time.process_time() - c, "loadavg": os.getloadavg()[0]}))
"""


def _run(script: str, *args) -> dict:
    env = {**os.environ, **PIN, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    # as an installed package runs: modules load from their .pyc files (the first run writes them)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"benchmark subprocess failed ({args}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(quick: bool, save=lambda rows: None) -> list[dict]:
    rows = []
    # one throw-away run of each path first, so every .pyc and numba cache the rows load exists
    for method, value in (("proxyspex", "kernel"), ("spex", "numpy"), ("proxyspex", "numpy")):
        _run(POINT, method, 64, 4224, value)
    _run(NUMBA_ALONE)
    for n, q in QUICK_CASES if quick else CASES:
        row = _run(POINT, "proxyspex", n, q)
        row["cold_minus_warm_cpu_s"] = row["cold_cpu_s"] - row["warm_cpu_s"]
        rows.append(row)
        print(row, flush=True)
        save(rows)
    # a model that does not use numba (torch, a server) leaves numba's own start (~0.5 s CPU here) to
    # the first explanation: the "numpy" rows charge it to spectrex
    for method, n, q, value in [
        ("spex", 64, 4224, "kernel"),
        ("spex", 64, 4224, "numpy"),
        ("proxyspex", 64, 4224, "numpy"),
        ("proxyspex", 1000, 10_000, "numpy"),
    ]:
        row = _run(POINT, method, n, q, value)
        row["cold_minus_warm_cpu_s"] = row["cold_cpu_s"] - row["warm_cpu_s"]
        rows.append(row)
        print(row, flush=True)
    # numba's own start in a fresh process (import, target set-up, one cached kernel): the floor of the
    # value = numpy rows, since spectrex's kernels need it
    floor = [_run(NUMBA_ALONE) for _ in range(3)]
    rows.append({**min(floor, key=lambda r: r["cold_cpu_s"]), "cold_cpu_s_runs": [r["cold_cpu_s"] for r in floor]})
    print(rows[-1], flush=True)
    try:
        ref = _run(SHAPIQ, 64, 4224)
    except RuntimeError as exc:  # shapiq not installed: the ratio is left out, the rest stands
        print(f"shapiq left out: {exc}", flush=True)
    else:
        ours = next(r for r in rows if r["method"] == "proxyspex" and r["n"] == 64)
        ref["shapiq_over_spectrex_cpu"] = ref["warm_cpu_s"] / ours["warm_cpu_s"]
        rows.append(ref)
        print(ref, flush=True)
    save(rows)
    return rows


def run(quick: bool, out: Path) -> None:
    note = (
        "Fresh subprocess per row, every library pinned to one thread. cold = first explanation after "
        "`import spectrex`; warm = fastest of the next three. Seconds exclude the value function. "
        "Planted functions spectrex.synthetic.planted(n, 20, 3, 0, scale=2.0), max_order 3, evaluated by "
        "spectrex's numba kernel (value = kernel) or by plain numpy (value = numpy: numba's own start, "
        "~0.5 s CPU, is then paid by the first explanation). "
        "peak_rss_mib = VmHWM of that process. loadavg = 1-minute load average at the end of the row."
    )
    measure(quick, lambda rows: write_table(rows, out, "proxyspex_speed", "ProxySPEX speed, cold and warm", note))


if __name__ == "__main__":
    run(quick="--quick" in sys.argv, out=ROOT / "benchmarks" / "results")
