"""Faithfulness against query budget for every registered method, on planted functions and real models.

Two measures per explanation:

* **R²** of the recovered function (``result.predict``) against the model on fresh uniform random
  masks (2,000 for planted functions, 300–500 for models; the noiseless function for planted ones);
* the **top-r removal curve**: the drop of the model's output after removing the ``r`` parts the
  explanation picks (greedily on its surrogate), normalised by the standard deviation of the
  model's output over random masks, at the largest budget.

Planted functions: Möbius-sparse, several sparsities, orders and noise levels (SNR in dB).
Models (when their loaders are in spectrex and their packages are installed): the toxicity BiLSTM,
Gemma 3 270M (zero-shot sentiment; multi-document questions), EfficientNet-Lite0 on image patches.
Anything missing is skipped with a note in the table.

``python -m benchmarks faithfulness [--quick]``; every run is seeded, so the tables reproduce.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks._methods import INTERACTION_METHODS, r2, registered_methods, removal_curve, run_method
from benchmarks.common import write_table
from spectrex.synthetic import NoisyFunction, planted

NAME = "faithfulness"


def planted_settings(quick: bool) -> list[dict]:
    if quick:
        return [
            {"n": 32, "k": 10, "order": 2, "snr_db": None},
            {"n": 32, "k": 30, "order": 3, "snr_db": 10.0},
        ]
    return [
        {"n": 64, "k": 10, "order": 2, "snr_db": None},
        {"n": 64, "k": 50, "order": 3, "snr_db": None},
        {"n": 64, "k": 50, "order": 3, "snr_db": 10.0},
        {"n": 256, "k": 40, "order": 3, "snr_db": None},
    ]


def planted_tasks(quick: bool):
    """``(task, value function, noiseless function, n, seed, None)`` per planted setting and seed."""
    seeds = [0]  # one seed per setting: the settings vary the function, and the full run must fit in minutes
    for s in planted_settings(quick):
        snr = "noise-free" if s["snr_db"] is None else f"SNR={s['snr_db']:g}dB"
        for seed in seeds:
            f = planted(s["n"], s["k"], s["order"], random_state=1000 + seed)
            fn = NoisyFunction(f, s["snr_db"], random_state=seed) if s["snr_db"] is not None else f
            yield f"planted n={s['n']} k={s['k']} order≤{s['order']} {snr}", fn, f, s["n"], seed, None


# -- real models --------------------------------------------------------------------------------
SENTENCES = [
    "I can not believe how stupid and ugly this whole thing is , what a complete waste of my time",
    "the film was not bad at all , in fact the acting was wonderful and the ending surprised me",
]


DOCUMENTS = [
    "The Amazon is the largest tropical rainforest on Earth.",
    "Mount Everest is the highest mountain above sea level.",
    "The Nile flows north through eleven countries into the Mediterranean.",
    "Paris is the capital of France and sits on the Seine.",
    "The Pacific is the deepest and largest of the oceans.",
    "Canberra, not Sydney, is the capital of Australia.",
]
QUESTION = "Question: What is the capital of Australia?\nAnswer:"
REVIEW = "the movie was slow and far too long , but the acting was superb and the ending truly moving"
#: on CPU a Gemma query costs ~50 ms and an EfficientNet one ~20 ms: fewer methods there
COSTLY_METHODS = ("spex", "proxyspex", "lasso1", "kernelshap")


def model_tasks(quick: bool, notes: list[str]):
    """Real-model tasks whose loaders exist in this spectrex; each missing one adds a note.

    Yields ``(task, value function, truth, n, seed, methods or None)``.
    """
    try:
        from spectrex.models.toxicity import ToxicityScorer
        from spectrex.parts.text import split_text

        scorer = ToxicityScorer()
        for i, sent in enumerate(SENTENCES[: 1 if quick else 2]):
            fn = scorer.value_function(split_text(sent, "words"))
            yield f"toxicity BiLSTM, sentence {i} ({fn.n} words)", fn, fn, fn.n, 0, None
    except Exception as exc:  # noqa: BLE001 - any failure to load is a skip, said in the notes
        notes.append(f"toxicity classifier skipped: {type(exc).__name__}: {str(exc)[:160]}")
    if quick:
        notes.append("Gemma 3 270M and EfficientNet-Lite0 run only without --quick (minutes of CPU per method).")
        return
    try:
        from spectrex.models.gemma import ensure_converted
        from spectrex.models.hf import load_hf
        from spectrex.parts.text import from_documents, split_text

        path = ensure_converted(progress=print)
        sent = load_hf(path, target=" positive", contrast=" negative", template="Review: {text}\nSentiment:")
        fn = sent.value_function(split_text(REVIEW, "words"))
        yield f"Gemma 3 270M sentiment ({fn.n} words)", fn, fn, fn.n, 0, COSTLY_METHODS
        qa = load_hf(path, template="{text}\n" + QUESTION)
        fn = qa.value_function(from_documents(DOCUMENTS))
        yield f"Gemma 3 270M multi-document question ({fn.n} documents)", fn, fn, fn.n, 0, COSTLY_METHODS
    except Exception as exc:  # noqa: BLE001
        notes.append(f"Gemma 3 270M skipped: {type(exc).__name__}: {str(exc)[:160]}")
    try:
        from skimage import data

        from spectrex.models.vision import ImageClassifierValue
        from spectrex.parts.image import ImageParts

        fn = ImageClassifierValue(ImageParts(data.chelsea(), grid=(6, 6)))
        yield "EfficientNet-Lite0 cat, 6×6 patches", fn, fn, 36, 0, COSTLY_METHODS
    except Exception as exc:  # noqa: BLE001
        notes.append(f"EfficientNet-Lite0 skipped: {type(exc).__name__}: {str(exc)[:160]}")


# -- the benchmark ------------------------------------------------------------------------------
def run(quick: bool, out: Path, *, planted: bool = True, models: bool = False, name: str = NAME) -> None:
    """Planted functions by default; ``benchmarks/faithfulness_models.py`` runs the real models."""
    methods = registered_methods()
    notes: list[str] = []
    budgets = [300, 1500] if quick else [500, 1000, 2000, 4000]
    model_budgets = [300, 1000] if quick else [500, 1000]
    r_max = 5 if quick else 10
    rows, removal = [], []
    curves: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    tasks = [(t, budgets, 2000) for t in planted_tasks(quick)] if planted else []
    if models:
        tasks += [(t, model_budgets, 300 if quick else 500) for t in model_tasks(quick, notes)]
    for (task, fn, truth, n, seed, only), task_budgets, n_test in tasks:
        rng = np.random.default_rng(10_000 + seed)
        test = rng.random((n_test, n)) < 0.5
        y_test = np.asarray(truth(test), float)
        y_sd = float(y_test.std()) or 1.0
        for method in [m for m in methods if only is None or m in only]:
            for budget in task_budgets:
                # the same noise draws for every method and budget, whatever ran before
                call = copy.deepcopy(fn) if isinstance(fn, NoisyFunction) else fn
                run_ = run_method(method, call, n, budget, seed)
                score = r2(run_.result.predict(test), y_test) if run_.result is not None else float("nan")
                rows.append(
                    {
                        "task": task,
                        "seed": seed,
                        "method": method,
                        "budget": budget,
                        "queries": run_.queries,
                        "r2": score,
                        "algorithm_s": run_.algorithm_s,
                        "note": run_.error,
                    }
                )
                curves[task][method].append((budget, score))
            if run_.result is not None:  # removal curve at the largest budget
                drop = removal_curve(run_.result, truth, n, r_max) / y_sd
                removal.append(
                    {"task": task, "seed": seed, "method": method, "budget": budget}
                    | {f"r={r + 1}": float(drop[r]) for r in range(len(drop))}
                )
            print(f"  {task} seed={seed} {method}: R² {[round(c[1], 3) for c in curves[task][method][-3:]]}")
        _write(rows, removal, methods, task_budgets, notes, out, name)  # a stopped run keeps its tables


def _write(rows, removal, methods, budgets, notes, out: Path, name: str = NAME) -> None:
    findings = summarize(rows, methods)
    write_table(
        _mean_rows(rows),
        out,
        name,
        "Faithfulness (R² on fresh random masks) against query budget",
        "\n".join(["Means over seeds; `note` says why a method gave no result.", "", *findings, "", *notes]),
    )
    write_table(rows, out, name + "_runs", "Faithfulness: every run")
    write_table(
        _mean_rows(removal, value_prefix="r="),
        out,
        name + "_removal",
        f"Top-r removal: model output drop (in SDs of the output) after removing r parts, at budget {budgets[-1]}",
        "Higher is better: the explanation found the parts whose removal lowers the output most.",
    )
    _plot(rows, removal, methods, out, name)


def _mean_rows(rows: list[dict], value_prefix: str | None = None) -> list[dict]:
    """Average over seeds (numeric columns), keeping the first note."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["method"], r["budget"])].append(r)
    out = []
    for (_task, _method, _budget), rs in groups.items():
        row = {k: v for k, v in rs[0].items() if k != "seed"}
        for k, v in rs[0].items():
            if isinstance(v, float) and (value_prefix is None or k.startswith(value_prefix) or k == "r2"):
                row[k] = float(np.nanmean([x[k] for x in rs])) if any(np.isfinite(x[k]) for x in rs) else float("nan")
        if "queries" in row:
            row["queries"] = int(np.mean([x["queries"] for x in rs]))
        out.append(row)
    return out


def summarize(rows: list[dict], methods: list[str]) -> list[str]:
    """Plain sentences on the papers' two claims, computed from the table (not hand-written)."""
    lines = ["## Findings (computed from the rows above)"]
    means = _mean_rows(rows)
    by_task: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in means:
        by_task[r["task"]][r["method"]][r["budget"]] = r["r2"]
    inter = [m for m in methods if m in INTERACTION_METHODS]
    marginal = [m for m in methods if m not in INTERACTION_METHODS]
    for task, per in by_task.items():
        best_b = max(next(iter(per.values())))
        bi = max(((per[m].get(best_b, np.nan), m) for m in inter), default=(np.nan, "-"), key=_key)
        bm = max(((per[m].get(best_b, np.nan), m) for m in marginal), default=(np.nan, "-"), key=_key)
        verdict = "holds" if _key(bi) > _key(bm) else "does NOT hold"
        line = (
            f"- {task}: at budget {best_b}, best interaction method {bi[1]} R²={bi[0]:.3f} vs best marginal "
            f"{bm[1]} R²={bm[0]:.3f} — 'interactions beat marginal methods' {verdict}."
        )
        if "spex" in per and "proxyspex" in per:
            spex_best = np.nanmax(list(per["spex"].values())) if per["spex"] else np.nan
            need = {m: _first_budget(per[m], spex_best - 0.02) for m in ("spex", "proxyspex")}
            line += (
                f" SPEX reaches R²={spex_best:.3f} at {need['spex']} queries; ProxySPEX reaches within 0.02 of it at "
                f"{need['proxyspex']} queries."
            )
        lines.append(line)
    return lines


def _key(pair) -> float:
    v = pair[0]
    return -np.inf if not np.isfinite(v) else v


def _first_budget(curve: dict[int, float], target: float) -> str:
    for b in sorted(curve):
        if np.isfinite(curve[b]) and curve[b] >= target:
            return str(b)
    return "never (in this range)"


def _plot(rows: list[dict], removal: list[dict], methods: list[str], out: Path, name: str = NAME) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = _mean_rows(rows)
    tasks = list(dict.fromkeys(r["task"] for r in means))
    cols = min(3, len(tasks))
    nrows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        for m in methods:
            pts = sorted((r["budget"], r["r2"]) for r in means if r["task"] == task and r["method"] == m)
            pts = [(b, v) for b, v in pts if np.isfinite(v)]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=m, ls="-" if m in INTERACTION_METHODS else "--")
        ax.set_xscale("log")
        ax.set_ylim(-0.1, 1.02)
        ax.set_title(task, fontsize=8)
        ax.set_xlabel("queries (budget)")
        ax.set_ylabel("R² on fresh masks")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(tasks) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=110)
    plt.close(fig)
    if removal:
        rem = _mean_rows(removal, value_prefix="r=")
        fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
        for ax, task in zip(axes.flat, tasks):
            for r in rem:
                if r["task"] == task:
                    ys = [v for k, v in r.items() if k.startswith("r=")]
                    ax.plot(range(1, len(ys) + 1), ys, marker=".", label=r["method"])
            ax.set_title(task, fontsize=8)
            ax.set_xlabel("parts removed (r)")
            ax.set_ylabel("output drop / SD")
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(tasks) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"{name}_removal.png", dpi=110)
        plt.close(fig)
