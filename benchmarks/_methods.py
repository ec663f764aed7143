"""Shared helpers of the benchmarks: which spectrex methods exist, running one, the removal curve."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import spectrex
from spectrex import api

#: display order; any other registered method follows (``exact`` is never benchmarked by budget)
PREFERRED = ["spex", "proxyspex", "lasso2", "lasso1", "kernelshap", "banzhaf", "lime"]
#: methods that recover interactions (the rest are marginal / first-order)
INTERACTION_METHODS = {"spex", "proxyspex", "lasso2"}
#: the order-2 LASSO builds a dense budget × n²/2 design; past this many floats the benchmarks leave it out
LASSO2_MAX_FLOATS = 60_000_000


def registered_methods() -> list[str]:
    """One registry name per distinct estimator class, in :data:`PREFERRED` order (no ``exact``)."""
    seen, names = set(), []
    keys = [k for k in PREFERRED if k in api.METHODS] + sorted(k for k in api.METHODS if k not in PREFERRED)
    for key in keys:
        target = api.METHODS[key]
        if key == "exact" or target in seen:
            continue
        seen.add(target)
        names.append(key)
    return names


@dataclass
class Run:
    """One explanation: the result (or why there is none), the queries and the algorithm's seconds."""

    method: str
    budget: int
    result: spectrex.Interactions | None
    queries: int = 0
    algorithm_s: float = float("nan")
    total_s: float = float("nan")
    error: str = ""


def run_method(method: str, value_fn, n: int, budget: int, seed: int, **settings) -> Run:
    """Explain ``value_fn`` with one method; failures (budget too small, memory) become a note."""
    if api.METHODS.get(method, "").endswith(":FaithBanzhaf") and budget * n * (n - 1) / 2 > LASSO2_MAX_FLOATS:
        return Run(method, budget, None, error=f"left out: dense design of {budget:,} × {n * (n - 1) // 2:,} floats")
    t0 = time.perf_counter()
    try:
        res = spectrex.explain(value_fn, n, method=method, budget=budget, random_state=seed, **settings)
    except (spectrex.SpectrexError, MemoryError, ValueError) as exc:
        return Run(method, budget, None, error=f"{type(exc).__name__}: {str(exc)[:120]}")
    timings = res.metadata.get("timings", {})
    return Run(
        method,
        budget,
        res,
        queries=int(res.metadata.get("queries", 0)),
        algorithm_s=float(timings.get("algorithm_s", float("nan"))),
        total_s=time.perf_counter() - t0,
    )


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return float("nan") if sst == 0 else 1.0 - float(((y - pred) ** 2).sum()) / sst


def removal_curve(result: spectrex.Interactions, value_fn, n: int, r_max: int) -> np.ndarray:
    """Drop of the model's output after removing the ``r`` parts the explanation says matter most.

    For each ``r = 1…r_max`` the parts are chosen greedily on the *surrogate* (``result.predict``):
    at each step remove the part whose removal lowers the surrogate's prediction most. The
    model is then queried on the ``r_max`` resulting masks: entry ``r-1`` is ``v(N) − v(N ∖ S_r)``.
    First-order surrogates make this the usual ranking by attribution.
    """
    mask = np.ones(n, bool)
    chosen = []
    for _ in range(min(r_max, n)):
        kept = np.flatnonzero(mask)
        cands = np.repeat(mask[None, :], kept.size, axis=0)
        cands[np.arange(kept.size), kept] = False
        best = kept[int(np.argmin(result.predict(cands)))]
        mask[best] = False
        chosen.append(mask.copy())
    masks = np.concatenate([np.ones((1, n), bool), np.array(chosen)])
    y = np.asarray(value_fn(masks), float)
    return y[0] - y[1:]
