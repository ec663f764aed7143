"""Answer tables for :mod:`benchmarks.index_accuracy`: every mask of a few short texts through a real model.

Run once in the torch environment (``python -m benchmarks._index_tables [gemma|toxicity]``); the
tables are committed under ``benchmarks/data/`` as float64 ``.npy`` files, value ``j`` = the model's output
on mask ``j`` (bit ``i`` of ``j`` = part ``i`` kept), so the benchmark reruns without torch and both
libraries query the same table-lookup value function.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"

GEMMA_REVIEWS = [
    "The acting was wonderful but the plot was dull and too long.",
    "I expected to hate this film, yet the ending was not bad.",
    "Great cast and lovely music, though the script never really comes alive.",
]
TOXIC_TEXTS = [
    "this is the dumbest thing I have read today, what a pathetic loser you are",
    "shut up you stupid idiot, nobody here cares about your worthless little opinion anyway",
    "what a moron, go away and stop ruining every single page on this wiki",
]


def _tabulate(name: str, scorer, texts: list[str], chunk: int) -> None:
    from spectrex.models import make_parts
    from spectrex.transforms.wht import all_masks

    DATA.mkdir(exist_ok=True)
    for i, text in enumerate(texts):
        path = DATA / f"index_accuracy_{name}_{i}.npy"
        if path.exists():
            continue
        vf = scorer.value_function(make_parts(text, "words"))
        masks = all_masks(vf.n)
        t0 = time.process_time()
        values = np.concatenate([vf(masks[s : s + chunk]) for s in range(0, len(masks), chunk)])
        np.save(path, values.astype(np.float64))
        meta = {"text": text, "n": vf.n, "labels": vf.labels, "cpu_s": time.process_time() - t0}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
        print(name, i, vf.n, f"{meta['cpu_s']:.0f} CPU s", flush=True)


def main(which: str) -> None:
    from spectrex.models import SENTIMENT, load_model

    if which == "gemma":
        _tabulate("gemma", load_model("gemma-3-270m", **SENTIMENT), GEMMA_REVIEWS, 64)
    else:
        _tabulate("toxicity", load_model("toxicity"), TOXIC_TEXTS, 4096)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "toxicity")
