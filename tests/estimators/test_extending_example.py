"""docs/extending.md's worked example: a new method is one Design, an existing Decoder and a registration."""

import importlib.util
import re
from pathlib import Path

import numpy as np

import spectrex
from spectrex.api import METHODS
from spectrex.synthetic import planted

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "extending_example.py"


def _load():
    spec = importlib.util.spec_from_file_location("extending_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_doc_shows_the_example_as_it_is_and_it_is_short():
    code = EXAMPLE.read_text(encoding="utf-8").rstrip("\n")
    blocks = re.findall(r"```python\n(.*?)\n```", (ROOT / "docs" / "extending.md").read_text(encoding="utf-8"), re.S)
    assert code in blocks and len(code.splitlines()) < 60


def test_the_registered_example_recovers_exact_shapley_values():
    module = _load()
    try:
        n, f = 10, planted(10, 8, 2, 0)
        res = spectrex.explain(f, method="stratifiedshap", n=n, budget=400, random_state=0)
        exact = spectrex.Exact().explain(f, n).to("SV").first_order()
        # paired coalitions make KernelSHAP exact on games of order ≤ 2, whatever the sizes
        np.testing.assert_allclose(res.to("SV").first_order(), exact, atol=1e-8)
        est = module.StratifiedSHAP(random_state=3)
        plan = est.plan(n, 400)
        assert plan.n_queries == 400 and plan.every_row and res.metadata["method"] == "stratifiedshap"
        sizes = plan.masks[2:].sum(axis=1)
        kernel = 1.0 / (np.arange(1, n) * (n - np.arange(1, n)))
        share = np.bincount(sizes, minlength=n)[1:n] / len(sizes)
        np.testing.assert_allclose(share, kernel / kernel.sum(), atol=2 / len(sizes))  # stratified, not drawn
    finally:
        METHODS.pop("stratifiedshap", None)
