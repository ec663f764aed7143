"""Faithfulness vs budget on the real models (toxicity BiLSTM, Gemma 3 270M, EfficientNet-Lite0).

The same protocol as :mod:`benchmarks.faithfulness` (R² on fresh uniform masks, top-r removal
curve), run on the models instead of planted functions: ``python -m benchmarks faithfulness_models``.
Under ``--quick`` only the toxicity classifier runs (Gemma and EfficientNet cost minutes per method).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import faithfulness


def run(quick: bool, out: Path) -> None:
    faithfulness.run(quick, out, planted=False, models=True, name="faithfulness_models")
