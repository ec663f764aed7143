"""A tiny dataset run for the summary tests: a planted text 'model' and records carrying injections."""

from __future__ import annotations

import numpy as np

from spectrex.models.base import TextScorer
from spectrex.runs import explain_dataset

XSS_WORD = "<img/src=x/onerror=window.__pwned=1>"
XSS_ID = '"><script>window.__pwned=2</script>'
XSS_LABEL = "</script><img src=x onerror=alert(3)>"


class PlantedWords(TextScorer):
    """0.5 per kept word, 0.25 more for 'good', and −3 when 'not' and 'good' are both kept (a pure pair)."""

    model_id = "planted-words"

    def score(self, texts):
        out = []
        for t in texts:
            words = t.split()
            v = 0.5 * len(words) + 0.25 * ("good" in words) - 3.0 * ("not" in words and "good" in words)
            out.append(v)
        return np.array(out, dtype=float)


RECORDS = [
    {"id": "r0", "text": "this is not good"},
    {"id": "r1", "text": "not good at all", "label": XSS_LABEL},
    {"id": "r2", "text": f"{XSS_WORD} not so good"},
    {"id": XSS_ID, "text": "really good movie"},
    {"id": "r4", "text": "  "},
]


def make_run(root):
    """Run the planted model over :data:`RECORDS` into ``root / 'run'`` and return that folder."""
    out = root / "run"
    # ProxySPEX from sampled masks, so each record has a held-out R² (Exact claims none: 1 by construction)
    explain_dataset(RECORDS, PlantedWords(), out=out, method="proxyspex", budget=64, holdout=8, progress=False)
    return out
