"""Held-out faithfulness on the real offline text models: every registered sparse method vs a first-order baseline.

Models: the toxicity BiLSTM (toxic logit) and Gemma 3 270M zero-shot sentiment
(log P(" positive") − log P(" negative")), word parts. Each method gets the same query budget; R² is
measured on fresh uniform random masks that no method saw. The first-order baseline is least squares
of the model's output on the kept/removed indicators over ``budget`` uniform random masks (the
"marginal" linear surrogate every attribution method starts from).

``python -m benchmarks text_models [--quick]``
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import Timer, write_table

TOXIC_TEXTS = [
    "you are a complete idiot and everyone here knows it, so stop editing this page before you ruin it",
    "thanks for fixing the article, but honestly your last edit was stupid and I hate how you talk to people",
    "this is the dumbest thing I have read today, what a pathetic loser you are",
]
REVIEWS = [
    "The acting was wonderful and the music moving, but the plot was dull and far too long.",
    "I expected a boring film, yet it turned out clever, funny and surprisingly touching.",
]


def first_order_fit(value_fn, n: int, budget: int, rng) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares on [1, m] over ``budget`` uniform random masks; returns (masks, y, seconds in the model)."""
    masks = rng.random((budget, n)) < 0.5
    t0 = time.perf_counter()
    y = value_fn(masks)
    return masks, y, time.perf_counter() - t0


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def sparse_methods() -> list[str]:
    from spectrex.api import METHODS

    return [m for m in sorted(METHODS) if m != "exact"]


def evaluate(model_name: str, scorer, text: str, budgets: list[int], n_test: int, seed: int = 0) -> list[dict]:
    from spectrex import explain
    from spectrex.errors import BudgetError
    from spectrex.models import make_parts

    parts = make_parts(text, "words")
    vf = scorer.value_function(parts)
    rng = np.random.default_rng(seed)
    test_masks = rng.random((n_test, parts.n)) < 0.5
    y_test = vf(test_masks)
    rows = []
    for budget in budgets:
        masks, y, model_s = first_order_fit(vf, parts.n, budget, np.random.default_rng(seed + budget))
        with Timer() as t:
            X = np.hstack([np.ones((budget, 1)), masks.astype(float)])
            coef = np.linalg.lstsq(X, y, rcond=None)[0]
        pred = np.hstack([np.ones((n_test, 1)), test_masks.astype(float)]) @ coef
        rows.append(_row(model_name, parts.n, "first-order LS", budget, budget, r2(y_test, pred), t.seconds, model_s))
        for method in sparse_methods():
            t0 = time.perf_counter()
            note, res = "", None
            # a method whose default order does not fit the budget gets a lower max_order (noted)
            for max_order in (None, 3, 2):
                try:
                    res = explain(vf, parts.n, method=method, budget=budget, random_state=seed, max_order=max_order)
                    note = "" if max_order is None else f"max_order={max_order} (default needs more queries)"
                    break
                except BudgetError as exc:
                    note = str(exc)[:80]
            if res is None:
                rows.append(_row(model_name, parts.n, method, budget, 0, float("nan"), 0.0, 0.0, note))
                continue
            total = time.perf_counter() - t0
            tm = res.metadata.get("timings", {})
            rows.append(
                _row(
                    model_name,
                    parts.n,
                    method,
                    budget,
                    int(res.metadata.get("queries", 0)),
                    r2(y_test, res.predict(test_masks)),
                    tm.get("algorithm_s", total),
                    tm.get("model_s", 0.0),
                    note,
                )
            )
    return rows


def _row(model, n, method, budget, queries, score, algo_s, model_s, note="") -> dict:
    return {
        "model": model,
        "n": n,
        "method": method,
        "budget": budget,
        "queries": queries,
        "R2": score,
        "algorithm_s": algo_s,
        "model_s": model_s,
        "note": note,
    }


def run(quick: bool, out: Path) -> None:
    from spectrex.models import SENTIMENT, load_model

    rows = []
    tox = load_model("toxicity")
    texts = TOXIC_TEXTS[:1] if quick else TOXIC_TEXTS
    for i, text in enumerate(texts):
        for r in evaluate("toxicity BiLSTM", tox, text, [500] if quick else [500, 2000], 1000, seed=i):
            r["text"] = i
            rows.append(r)
            print(r, flush=True)
    gemma = load_model("gemma-3-270m", **SENTIMENT)
    reviews = REVIEWS[:1] if quick else REVIEWS
    for i, text in enumerate(reviews):
        for r in evaluate("Gemma 3 270M sentiment", gemma, text, [300] if quick else [500], 200, seed=i):
            r["text"] = i
            rows.append(r)
            print(r, flush=True)
    # mean R² per (model, method, budget)
    summary = {}
    for r in rows:
        summary.setdefault((r["model"], r["method"], r["budget"]), []).append(r["R2"])
    table = [
        {"model": m, "method": meth, "budget": b, "texts": len(v), "mean R2": float(np.nanmean(v))}
        for (m, meth, b), v in summary.items()
    ]
    write_table(rows, out, "text_models", "Held-out R² on real text models (word parts), per text")
    write_table(
        table,
        out,
        "text_models_summary",
        "Held-out R² on real text models: mean over texts",
        notes="R² on fresh uniform masks (1,000 for toxicity, 200 for Gemma); equal query budget per method.",
    )
