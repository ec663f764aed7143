"""ProxySPEX side by side with spectralexplain 0.0.4 and shapiq 1.4, plus ablations of our extras.

Planted sparse functions (``spectrex.synthetic.planted``: 20 Möbius interactions of order ≤ 3,
coefficients N(0, 4)); every method gets the same number of queries; R² is measured on 10,000
fresh uniform masks; "algorithm seconds" exclude the time spent inside the value function.
spectralexplain takes ~13 minutes per run at n = 64 and is skipped under ``--quick`` and at n = 256.

Tables written:
- ``proxyspex_vs_reference``: the comparison (time ratios and R²);
(the ablations and the n = 1000 scale run are in ``proxyspex_ablations``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_table
from spectrex import ProxySPEX
from spectrex.synthetic import planted
from spectrex.transforms import bitset
from spectrex.transforms.sparse import SparseTransform

K, ORDER, EVAL = 20, 3, 10_000


class Timed:
    """A value function that counts the seconds spent inside it (so algorithm time can be separated)."""

    def __init__(self, f):
        self.f, self.seconds, self.calls = f, 0.0, 0

    def __call__(self, masks):
        t0 = time.perf_counter()
        out = self.f(np.asarray(masks).astype(bool))
        self.seconds += time.perf_counter() - t0
        self.calls += len(masks)
        return out


def _r2(f, g, n, seed):
    masks = np.random.default_rng(10_000 + seed).random((EVAL, n)) < 0.5
    y = f(masks)
    return float(1 - ((y - g(masks)) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def run_ours(f, n, budget, seed, target=None, **settings):
    """Our ProxySPEX on value function ``f``; R² against ``target`` (default ``f``; the clean function
    when ``f`` is noisy)."""
    vf = Timed(f)
    t0 = time.perf_counter()
    res = ProxySPEX(max_order=ORDER, random_state=seed, **settings).explain(vf, n, budget)
    total = time.perf_counter() - t0
    r2 = _r2(target if target is not None else f, res.predict, n, seed)
    return {"seconds": total - vf.seconds, "r2": r2, "queries": res.metadata["queries"]}, res


def run_shapiq(f, n, budget, seed):
    from shapiq.approximator import ProxySPEX as ShapiqProxySPEX

    approx = ShapiqProxySPEX(n=n, index="FBII", max_order=ORDER, random_state=seed)
    captured = {}
    original = approx._process_moebius

    def capture(moebius_transform):  # keep the full recovered function to evaluate it on fresh masks
        captured["mobius"] = dict(moebius_transform)
        return original(moebius_transform=moebius_transform)

    approx._process_moebius = capture
    vf = Timed(f)
    t0 = time.perf_counter()
    approx.approximate(budget, vf)
    total = time.perf_counter() - t0
    g = SparseTransform.from_dict(captured["mobius"], n, "mobius")
    return {"seconds": total - vf.seconds, "r2": _r2(f, g, n, seed), "queries": vf.calls}


def run_spectralexplain(f, n, budget, seed):
    import spectralexplain

    np.random.seed(seed)  # noqa: NPY002 - spectralexplain draws its masks from numpy's global generator
    vf = Timed(f)
    t0 = time.perf_counter()
    ex = spectralexplain.Explainer(vf, n, sample_budget=budget, max_order=ORDER, algorithm="proxyspex")
    total = time.perf_counter() - t0
    keys = list(ex.fourier_transform)
    sup = bitset.pack(np.array(keys, dtype=bool).reshape(len(keys), n))
    g = SparseTransform(n, sup, np.array([ex.fourier_transform[k] for k in keys], float), "fourier")
    return {"seconds": total - vf.seconds, "r2": _r2(f, g, n, seed), "queries": vf.calls}


def grid_proxy_pipeline(f, n, budget, seed, target=None):
    """The references' proxy search (5-fold CV over their 8-model grid, 40 fits) followed by OUR
    extraction, energy choice and refit: isolates the cost and quality of the search itself."""
    import lightgbm as lgb
    from sklearn.model_selection import GridSearchCV

    from spectrex.decoders.proxy import sparsify
    from spectrex.decoders.refit import refit
    from spectrex.decoders.trees import tree_fourier

    rng = np.random.default_rng(seed)
    masks = rng.random((budget, n)) < 0.5
    y = f(masks)
    t0 = time.perf_counter()
    grid = {"max_depth": [3, 5], "n_estimators": [500, 1000], "learning_rate": [0.01, 0.1]}
    search = GridSearchCV(
        lgb.LGBMRegressor(verbose=-1, n_jobs=1, random_state=seed), grid, scoring="r2", cv=5, n_jobs=1
    ).fit(masks.astype(np.float32), y)
    spectrum = tree_fourier(search.best_estimator_, n, ORDER)
    fitted, _ = refit(masks, y, sparsify(spectrum, 0.999).supports, n, "fourier")
    r2 = _r2(target if target is not None else f, fitted, n, seed)
    return {"seconds": time.perf_counter() - t0, "r2": r2, "cv_r2": float(search.best_score_)}


def warm_up() -> None:
    """Pay one-time costs (imports, numba compilation) before any timing, for every method."""
    f = planted(12, 4, 2, 0)
    run_ours(f, 12, 300, 0)
    run_shapiq(f, 12, 300, 0)


def comparison(quick: bool, save) -> list[dict]:
    """Ours and shapiq on every case (the table is saved after each row, so nothing is lost when
    interrupted), then spectralexplain once, at n = 64, seed 0, with ours re-timed just before it."""
    rows = []
    cases = [(64, 4224, [0] if quick else [0, 1])] + ([] if quick else [(256, 8448, [0])])
    for n, budget, seeds in cases:
        for seed in seeds:
            f = planted(n, K, ORDER, seed, scale=2.0)
            ours, _ = run_ours(f, n, budget, seed)
            sq = run_shapiq(f, n, budget, seed)
            rows.append(
                {
                    "n": n,
                    "queries": budget,
                    "seed": seed,
                    "ours_s": ours["seconds"],
                    "ours_r2": ours["r2"],
                    "shapiq_s": sq["seconds"],
                    "shapiq_r2": sq["r2"],
                    "speedup_vs_shapiq": sq["seconds"] / ours["seconds"],
                    "ours_s_next_to_spectralexplain": "",
                    "spectralexplain_s": "",
                    "spectralexplain_r2": "",
                    "speedup_vs_spectralexplain": "",
                }
            )
            print(rows[-1], flush=True)
            save(rows)
    if not quick:
        f = planted(64, K, ORDER, 0, scale=2.0)
        ours, _ = run_ours(f, 64, 4224, 0)
        se = run_spectralexplain(f, 64, 4224, 0)
        rows[0].update(
            {
                "ours_s_next_to_spectralexplain": ours["seconds"],
                "spectralexplain_s": se["seconds"],
                "spectralexplain_r2": se["r2"],
                "speedup_vs_spectralexplain": se["seconds"] / ours["seconds"],
            }
        )
        print(rows[0], flush=True)
        save(rows)
    return rows


def run(quick: bool, out: Path) -> None:
    warm_up()

    note = (
        "Planted functions: spectrex.synthetic.planted(n, 20, 3, seed, scale=2.0) (Möbius, order ≤ 3). "
        "R² on 10,000 fresh uniform masks. Seconds exclude time inside the value function. "
        "spectralexplain only at n = 64, seed 0 (~13 min per run), skipped under --quick."
    )
    title = "ProxySPEX vs references, equal queries"
    comparison(quick, lambda rows: write_table(rows, out, "proxyspex_vs_reference", title, note))
