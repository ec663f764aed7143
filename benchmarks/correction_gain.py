"""What the residual correction gains, order by order: the surrogate's exact indices against the corrected ones.

The cases of :mod:`benchmarks.index_accuracy` (the stored real-model answer tables and the planted
functions), ProxySPEX at its defaults with the correction forced on every order
(:func:`spectrex.transforms.residual.thin_orders` returning no order; the design is the default one, which
reads the same 16-per-part threshold), seeds 0 and 1: the mean absolute
error of the Shapley values and of the order-2 SII values, read from the transform alone and from the
corrected view, beside the queries per part and per pair. This is the measurement behind
:func:`spectrex.transforms.residual.thin_orders` (an order is corrected from 16 masks per part, 2 per pair).

``python -m benchmarks correction_gain [--quick]``; table ``correction_gain``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_table

SEEDS = (0, 1)
BUDGETS = (250, 500, 1000, 2000)


def run(quick: bool, out: Path) -> None:
    import spectrex
    from benchmarks.index_accuracy import _all_cases, _dense, _ours
    from spectrex import interactions
    from spectrex.transforms import bitset, residual
    from spectrex.transforms.indices import convert

    # every order corrected: the comparison itself. Both readers of thin_orders are replaced: the corrections
    # and the result's views (which otherwise shrink a thin order's pairs after correcting them)
    residual.thin_orders = interactions.thin_orders = lambda sample: ()
    load0, rows = os.getloadavg()[0], []
    for group, case, n, make, exact in _all_cases(quick, True, True):
        if not (case.endswith("_0") or group == case):  # one input per real model
            continue
        truth = {}
        for index, k in (("SV", 1), ("SII", 2)):
            sup, val, _ = convert(exact, index, k)
            truth[index] = _dense(zip(bitset.to_indices(sup, n), val), n)[k - 1]
        for budget in BUDGETS[:2] if quick else BUDGETS:
            errors = {key: [] for key in ("SV surrogate", "SV corrected", "SII-2 surrogate", "SII-2 corrected")}
            t0 = time.process_time()
            for seed in SEEDS:
                result = spectrex.explain(make(), n, budget=budget, random_state=seed)
                for index, k, label in (("SV", 1, "SV"), ("SII", 2, "SII-2")):
                    sup, val, _ = convert(result.transform, index, k)
                    alone = _dense(zip(bitset.to_indices(sup, n), val), n)[k - 1]
                    corrected = _ours(result.to(index, k))[0][k - 1]
                    errors[f"{label} surrogate"].append(np.abs(alone - truth[index]).mean())
                    errors[f"{label} corrected"].append(np.abs(corrected - truth[index]).mean())
            row = {"group": group, "n": n, "budget": budget, "per_part": budget / n}
            row["per_pair"] = budget / (n * (n - 1) / 2)
            row |= {key: float(np.mean(v)) for key, v in errors.items()}
            row["cpu_s"] = time.process_time() - t0
            rows.append(row)
            print(row, flush=True)
    note = (
        "Mean absolute error against the exact indices, seeds 0 and 1 (one input per real model): the "
        "surrogate's exact index vs the residual-corrected view, with every order corrected. One thread "
        f"(OMP/OPENBLAS/MKL/NUMBA pinned by the caller). loadavg at start {load0:.2f}, at end "
        f"{os.getloadavg()[0]:.2f}."
    )
    write_table(rows, out, "correction_gain", "The residual correction: surrogate alone vs corrected", note)
