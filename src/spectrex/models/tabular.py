"""Tabular value functions: one prediction of any scikit-learn-style model, features removed by a baseline.

Removed features take their values from a background set and the model's output is averaged over the
background rows (the *interventional* or *marginal* value function of SHAP); a single background row is a
plain baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..contract import ValueFunction, check_masks
from ..digest import fingerprint
from ._identity import object_identity


def _predict_fn(model, output: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A ``(rows, d) -> (rows,)`` function from a model object or a plain callable."""
    if output is not None and hasattr(model, "predict_proba"):
        return lambda X: np.asarray(model.predict_proba(X))[:, output]
    if output is None and hasattr(model, "decision_function") and not hasattr(model, "predict_proba"):
        fn = model.decision_function
    elif hasattr(model, "predict"):
        fn = model.predict
    elif callable(model):
        fn = model
    else:
        raise TypeError(f"model must have predict/predict_proba or be callable, got {type(model).__name__}")

    def predict(X: np.ndarray) -> np.ndarray:
        out = np.asarray(fn(X), dtype=np.float64)
        if out.ndim == 2:
            if output is None:
                if out.shape[1] != 1:
                    raise ValueError(
                        f"the model returns {out.shape[1]} outputs per row; pass output=<column> to pick one"
                    )
                return out[:, 0]
            return out[:, output]
        return out

    return predict


class TabularValue(ValueFunction):
    """Value function of one row ``x``: kept features come from ``x``, removed ones from the background.

    Parameters
    ----------
    model : estimator or callable
        Anything with ``predict_proba`` / ``predict`` / ``decision_function``, or ``X (rows, d) -> outputs``.
    x : array (d,)
        The row to explain.
    background : array (b, d) or (d,)
        Rows that supply removed features' values; the value is the mean output over them. One row
        (e.g. the training mean) gives a baseline explanation.
    output : int, optional
        Column of ``predict_proba`` (or of a multi-output prediction) to explain; default: ``predict``.
    groups : sequence of sequences of int, optional
        Explain groups of columns as single parts (default: one part per column).
    max_rows : int, default 200_000
        Most model rows per call; larger mask batches are split.

    Attributes
    ----------
    n, labels, quantity, fingerprint
        See :class:`~spectrex.contract.ValueFunction`; the fingerprint covers the model (its pickle),
        the output, ``x``, the background and the groups.

    Examples
    --------
    >>> f = TabularValue(clf, X_test[0], X_train[:50], output=1)
    >>> spectrex.explain(f, f.n, method="exact", labels=f.labels).to("SV")
    """

    def __init__(self, model, x, background, output: int | None = None, groups=None, labels=None, max_rows=200_000):
        self.x = np.asarray(x, dtype=np.float64).reshape(-1)
        bg = np.asarray(background, dtype=np.float64)
        self.background = bg.reshape(1, -1) if bg.ndim == 1 else bg
        d = self.x.shape[0]
        if self.background.ndim != 2 or self.background.shape[1] != d or self.background.shape[0] == 0:
            raise ValueError(
                f"background must be rows with the same {d} columns as x; got shape {np.shape(background)}"
            )
        self.groups = [np.atleast_1d(np.asarray(g, dtype=np.int64)) for g in groups] if groups else None
        if self.groups is None:
            self.columns = np.eye(d, dtype=bool)
        else:
            self.columns = np.zeros((len(self.groups), d), dtype=bool)
            for i, g in enumerate(self.groups):
                if g.size == 0 or g.min() < 0 or g.max() >= d:
                    raise ValueError(f"group {i} must list column indices in 0..{d - 1}; got {g.tolist()}")
                self.columns[i, g] = True
        self.n = self.columns.shape[0]
        if labels is not None and len(labels) != self.n:
            raise ValueError(f"got {len(labels)} labels for {self.n} parts")
        self.labels = [str(s) for s in labels] if labels is not None else [str(i) for i in range(self.n)]
        self.model, self.output = model, output
        self.predict = _predict_fn(model, output)
        self.max_rows = int(max_rows)
        rows = self.background.shape[0]
        what = "the prediction" if output is None else f"output {output}"
        self.quantity = f"{what} on the row, removed features averaged over {rows} background row{'s' * (rows > 1)}"

    def identity(self) -> dict:
        data = fingerprint(self.x, self.background, self.columns)
        return {"kind": "tabular", "model": object_identity(self.model), "output": self.output, "data": data}

    def __call__(self, masks) -> np.ndarray:
        masks = check_masks(masks, self.n)
        keep_cols = (masks.astype(np.uint8) @ self.columns.astype(np.uint8)) > 0  # (q, d)
        b = self.background.shape[0]
        chunk = max(1, self.max_rows // b)
        out = np.empty(masks.shape[0])
        for lo in range(0, masks.shape[0], chunk):
            kc = keep_cols[lo : lo + chunk]
            X = np.where(kc[:, None, :], self.x[None, None, :], self.background[None, :, :])  # (c, b, d)
            y = self.predict(X.reshape(-1, X.shape[-1]))
            out[lo : lo + chunk] = y.reshape(kc.shape[0], b).mean(axis=1)
        return out
