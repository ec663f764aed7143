"""Ablations of ProxySPEX's extras and its memory at n = 1000 (companion of ``proxyspex_vs_reference``).

Same planted functions and R² as ``proxyspex_vs_reference``, also with Gaussian noise at 10 dB SNR
(R² then against the clean function). Tables written:
- ``proxyspex_ablations``: proxy search (ours vs the references' 5-fold grid, same pipeline after it),
  energy picked on the holdout vs fixed 0.95 (the reference), residual correction on/off, and the
  adaptive budget (doubling rounds that reuse earlier queries) against the full fixed budget;
- ``proxyspex_scale``: n = 1000 with 10,000 queries in a fresh subprocess (peak resident memory).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import write_table
from benchmarks.proxyspex_vs_reference import ORDER, K, grid_proxy_pipeline, run_ours, warm_up
from spectrex.synthetic import NoisyFunction, planted


def ablations(quick: bool, save=lambda rows: None) -> list[dict]:
    rows = []
    cases = [(64, 4224, [0] if quick else [0, 1], None), (64, 4224, [0], 10.0)]
    cases += [] if quick else [(256, 8448, [0], None)]
    for n, budget, seeds, snr in cases:
        for seed in seeds:
            clean = planted(n, K, ORDER, seed, scale=2.0)
            f = clean if snr is None else NoisyFunction(clean, snr_db=snr, random_state=seed)
            variants = {
                "default (holdout search, energy on holdout, residual)": {},
                "no residual correction": {"residual": False},
                "energy fixed 0.95 (reference), no residual": {"energy": 0.95, "residual": False},
                "energy fixed 0.95 (reference) + residual": {"energy": 0.95},
            }
            for name, settings in variants.items():
                r, _ = run_ours(f, n, budget, seed, clean, **settings)
                rows.append(
                    {
                        "n": n,
                        "snr_db": snr if snr is not None else "",
                        "seed": seed,
                        "variant": name,
                        "queries": r["queries"],
                        "seconds": r["seconds"],
                    }
                    | {"r2": r["r2"]}
                )
            if n == 64:
                g = grid_proxy_pipeline(f, n, budget, seed, clean)
                rows.append(
                    {
                        "n": n,
                        "snr_db": snr if snr is not None else "",
                        "seed": seed,
                        "variant": "reference 5-fold grid proxy + our pipeline",
                        "queries": budget,
                        "seconds": g["seconds"],
                        "r2": g["r2"],
                    }
                )
            # adaptive budget: a generous budget, stopping when the holdout R² stops improving
            big = (4 if n == 64 else 2) * budget
            full, _ = run_ours(f, n, big, seed, clean)
            rows.append(
                {
                    "n": n,
                    "snr_db": snr if snr is not None else "",
                    "seed": seed,
                    "variant": f"fixed budget {big}",
                    "queries": full["queries"],
                    "seconds": full["seconds"],
                    "r2": full["r2"],
                }
            )
            ad, res = run_ours(f, n, big, seed, clean, adaptive=True)
            rounds = res.metadata["diagnostics"]["adaptive_rounds"]
            rows.append(
                {
                    "n": n,
                    "snr_db": snr if snr is not None else "",
                    "seed": seed,
                    "variant": f"adaptive, cap {big} (rounds {[x['queries'] for x in rounds]},"
                    f" requested {res.metadata['queries_requested']}, reused {res.metadata['queries_cached']})",
                    "queries": ad["queries"],
                    "seconds": ad["seconds"],
                    "r2": ad["r2"],
                }
            )
            print(rows[-1], flush=True)
            save(rows)
    return rows


SCALE_SCRIPT = """
import json, resource, sys, time
import numpy as np
from spectrex import ProxySPEX
from spectrex.synthetic import NoisyFunction, planted
n, q = int(sys.argv[1]), int(sys.argv[2])
f = planted(n, 20, 3, 0, scale=2.0)
t0 = time.perf_counter()
res = ProxySPEX(max_order=3, random_state=0).explain(f, n, q)
sec = time.perf_counter() - t0
m = np.random.default_rng(1).random((5000, n)) < 0.5
y = f(m)
r2 = 1 - ((y - res.predict(m)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "queries": res.metadata["queries"], "seconds": sec, "r2": float(r2),
                  "terms": len(res.transform), "peak_rss_mib": peak}))
"""


def scale(quick: bool) -> list[dict]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run(
        [sys.executable, "-c", SCALE_SCRIPT, "1000", "10000"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["under_2_GiB"] = row["peak_rss_mib"] < 2048
    print(row, flush=True)
    return [row]


def run(quick: bool, out: Path) -> None:
    warm_up()

    note = (
        "Planted functions: spectrex.synthetic.planted(n, 20, 3, seed, scale=2.0) (Möbius, order ≤ 3). "
        "R² on 10,000 fresh uniform masks. Seconds exclude time inside the value function."
    )
    ablations(quick, lambda rows: write_table(rows, out, "proxyspex_ablations", "ProxySPEX ablations", note))
    write_table(scale(quick), out, "proxyspex_scale", "ProxySPEX at n = 1000, 10,000 queries (subprocess)", note)
