"""A generated answer explained token by token, and what the shared-prefix key/value cache saves.

1. Gemma 3 270M answers a question over six context sentences; its own greedy answer (6 tokens) is
   explained token by token — one explanation per answer token and one for the whole sequence —
   from one set of forward passes (every one of the 2^6 masks: exact). Tables: ``generative_tokens``
   (Shapley value of each sentence for each token), ``generative_pairs`` (each token's strongest
   pair), and the heatmap ``generative_tokens.png``.
2. Model seconds per query of Gemma on a few-shot sentiment prompt whose fixed prefix is over 200
   tokens, with the prefix's key/value cache reused (the default) and without (every prompt run
   whole): the same masks and batches, one thread, and the largest difference of the answers.

``python -m benchmarks generative [--quick]`` (``--quick``: 64 masks in the timing instead of 128).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_table

SENTENCES = [
    "The restaurant Chez Lopez opened in Lyon in 1998.",
    "Its waiter is called Tom Baker.",
    "The chef's first name is Maria.",
    "The chef's family name is Lopez.",
    "Tom's brother owns a bakery in Paris.",
    "The restaurant is closed on Mondays.",
]
QUESTION = "{text}\n\nQ: Describe the chef and the restaurant in one sentence.\nA:"

FEW_SHOT = (
    "Review: The acting was superb and the story moved me.\nSentiment: positive\n\n"
    "Review: A tedious, overlong mess with no redeeming qualities.\nSentiment: negative\n\n"
    "Review: I laughed, I cried, and I would watch it again tomorrow.\nSentiment: positive\n\n"
    "Review: The dialogue was wooden and the plot made no sense at all.\nSentiment: negative\n\n"
    "Review: Gorgeous photography, a clever script and a brilliant lead performance.\nSentiment: positive\n\n"
    "Review: Two hours of my life I will never get back; avoid it.\nSentiment: negative\n\n"
    "Review: A warm, funny film with a big heart and a great soundtrack.\nSentiment: positive\n\n"
    "Review: Predictable from start to finish and badly edited.\nSentiment: negative\n\n"
    "Review: The cast is charming and the jokes land every single time.\nSentiment: positive\n\n"
    "Review: Loud, confusing and far too long for such a thin story.\nSentiment: negative\n\n"
    "Review: A quiet masterpiece that stayed with me for days afterwards.\nSentiment: positive\n\n"
    "Review: {text}\nSentiment:"
)
REVIEW = "The food was not bad at all, and the service was quick and friendly."


def _load() -> tuple[float, ...]:
    return tuple(round(x, 2) for x in os.getloadavg())


def run(quick: bool = False, out: Path = Path("benchmarks/results")) -> None:
    import torch

    torch.set_num_threads(1)
    tokens(out)
    prefix_cache(out, quick)


def tokens(out: Path) -> None:
    """Part 1: the generated answer explained token by token (tables and the heatmap)."""
    import spectrex
    from spectrex.models import load_model

    load = {"before": _load()}
    # no target: Gemma's own greedy answer to the full prompt is explained, token by token
    scorer = load_model("gemma-3-270m", template=QUESTION, per_token=True, max_new_tokens=16)
    t0, c0 = time.perf_counter(), time.process_time()
    result = spectrex.explain_text(SENTENCES, scorer, method="exact", holdout=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert isinstance(result, spectrex.Explanations) and len(result) >= 5
    from spectrex.explanations import shown_names

    names = shown_names(result.names)
    sv = result.matrix("SV")
    total = result.total.to("SV").first_order()
    rows = []
    for i, sentence in enumerate(SENTENCES):
        row = {"sentence": sentence}
        row.update({name: float(v) for name, v in zip(names, sv[i])})
        row["[sequence]"] = float(total[i])
        rows.append(row)
    meta = result.metadata
    write_table(
        rows,
        out,
        "generative_tokens",
        "Gemma 3 270M's answer explained token by token: Shapley value of each context sentence for each answer token",
        f"{len(names)} answer tokens + the whole sequence from one set of {meta['queries']} forward passes (all "
        f"2^{len(SENTENCES)} masks: exact, so each column's Shapley values sum to the token's log-probability with "
        f"every sentence minus with none). Question template {QUESTION!r}; the answer Gemma generated from the full "
        f"prompt: {scorer.target!r}. Wall {wall:.1f} s, "
        f"CPU {cpu:.1f} s (model {meta['timings']['model_s']:.1f} s), load average {load['before']} before.",
    )
    pair_rows = []
    for name, each in zip([*names, "[sequence]"], result.all()):
        top = each.to("SII", max_order=2).top(2, order=2)
        pair_rows.append(
            {
                "output": name,
                "log-prob (all sentences)": float(each.predict(np.ones((1, each.n), bool))[0]),
                "strongest pair": " × ".join(f"[{p}]" for p in top[0].parts) if top else "",
                "SII": float(top[0].value) if top else 0.0,
                "second pair": " × ".join(f"[{p}]" for p in top[1].parts) if len(top) > 1 else "",
                "SII 2": float(top[1].value) if len(top) > 1 else 0.0,
            }
        )
    write_table(
        pair_rows,
        out,
        "generative_pairs",
        "Each answer token's strongest pairs of context sentences (SII, exact)",
        "Sentences by index: " + "; ".join(f"[{i}] {s}" for i, s in enumerate(SENTENCES)),
    )
    try:
        fig = result.plot("tokens")
        fig.savefig(out / "generative_tokens.png", dpi=110)
    except ImportError:
        pass


def prefix_cache(out: Path, quick: bool = False) -> None:
    """Part 2: model seconds per query with the shared prefix's key/value cache and without."""
    from spectrex.design.uniform import uniform_masks
    from spectrex.engine import QueryEngine
    from spectrex.models import load_model, make_parts
    from spectrex.models.base import TextValueFunction

    timing = []
    masks = uniform_masks(14, 64 if quick else 128, np.random.default_rng(0))
    answers = {}
    for reuse in (True, False, True, False):
        sentiment = load_model("gemma-3-270m", target=" positive", template=FEW_SHOT, prefix_cache=reuse)
        vf = TextValueFunction(sentiment, make_parts(REVIEW))
        assert vf.n == masks.shape[1]
        engine = QueryEngine(batch_size=32, progress=False)
        load_before = _load()
        c0 = time.process_time()
        query = engine.bind(vf, vf.n)
        y = query(masks)
        cpu = time.process_time() - c0
        query.close()
        engine.close()
        answers.setdefault(reuse, y)
        timing.append(
            {
                "prefix cache": "reused" if reuse else "every prompt whole",
                "prefix tokens": len(sentiment.prompt_ids("")) - 1,
                "queries": len(y),
                "model s": query.stats.model_seconds,
                "model s / query": query.stats.model_seconds / len(y),
                "CPU s": cpu,
                "load avg before": str(load_before),
                "load avg after": str(_load()),
            }
        )
    best = {k: min(r["model s"] for r in timing if (r["prefix cache"] == "reused") == k) for k in (True, False)}
    diff = float(np.abs(answers[True] - answers[False]).max())
    write_table(
        timing,
        out,
        "generative_prefix_cache",
        "Gemma 3 270M model seconds per query with the shared prefix's key/value cache and without",
        f"Few-shot sentiment prompt (11 examples before the review), log P(' positive'); the same {len(masks)} masks "
        f"in batches of 32, one thread, two runs each (alternating). Saving: {best[False] / best[True]:.2f}× fewer "
        f"model seconds (least of the runs); largest difference of the answers {diff:.2e} (float32 round-off).",
    )
    print(f"prefix cache: {best[False] / best[True]:.2f}× fewer model seconds, answers within {diff:.1e}")
