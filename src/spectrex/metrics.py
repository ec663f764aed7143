"""The one R² of spectrex (faithfulness, holdout scores, refit diagnostics), from values or from sums."""

from __future__ import annotations

import numpy as np


def r2_from_sums(sse: float, sst: float) -> float:
    """``1 − SSE/SST``; when the values are constant (``SST = 0``): 1.0 for an exact fit, else ``nan``.

    The constant case is a convention: there is no variance to explain, so an exact fit is called
    perfect and any other fit undefined (rather than −∞).
    """
    sse, sst = float(sse), float(sst)
    if sst > 0:
        return 1.0 - sse / sst
    return 1.0 if sse <= 1e-12 else float("nan")  # sst is 0 here: an absolute tolerance


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination of ``pred`` for ``y`` (see :func:`r2_from_sums` for constant ``y``)."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    return r2_from_sums(np.sum((y - pred) ** 2), np.sum((y - y.mean()) ** 2))
